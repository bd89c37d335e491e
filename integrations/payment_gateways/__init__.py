"""Card payment gateway adapters (docs/payments.md "Card payments"): the interface (base.py),
the adapters by name (registry.py, registered into billing from IntegrationsConfig.ready), the
sandbox adapter and the sandbox gateway itself (sandbox_server.py, which needs only the
standard library, so this package imports nothing at its top)."""
