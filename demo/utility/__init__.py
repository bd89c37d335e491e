"""The demo utility: a deterministic synthetic customer base (people, organisations,
premises, service points, accounts, agreements, move history and pending moves) that
`manage.py seed_demo` loads. `generator` builds the object graph without touching the
database; `loader` writes it through cis's conversion load
(cis.services.conversion_load)."""
