"""core.runs: the one batch-run engine (imports, VEE runs, bill runs, ...).

- `Run` / `Chunk`: abstract models that each app's run and chunk models subclass.
- `chunk_claim`: a chunk is done at most once (its writes and DONE mark commit together).
- `run_close_if_complete`, `chunk_fail`, `run_fail`, `run_begin`, `run_resume`, `pending_chunks`.
- `runs_stale` + `register_run_kind` / `runs_sweep`: find and resume runs whose worker died
  (the Celery task "core.runs.sweep" in core.runs.tasks runs the sweeper).
- `tables_analyze_if_grown`: a bulk writer's ANALYZE of the tables it fills, as the run doubles.
- `run_progress` / `progress_response`: the progress dict and its JSON view answer; the one
  template partial is core/runs/_progress.html and the one script static/js/run-progress.js.

Names are loaded on first use, so an AppConfig module can import `core.runs.registry` before
the app registry is ready (the models here are defined only once it is)."""
from __future__ import annotations

import importlib

_EXPORTS = {
    "engine": ("Claim", "chunk_claim", "chunk_counts", "chunk_fail", "pending_chunks", "run_begin",
               "run_close_if_complete", "run_fail", "run_model_of", "run_progress", "run_resume", "runs_stale",
               "tables_analyze_if_grown"),
    "models": ("UNFINISHED", "Chunk", "ChunkStatus", "Run", "RunStatus"),
    "registry": ("RunKind", "register_run_kind", "run_kinds", "runs_sweep", "STALE_MINUTES"),
    "views": ("progress_response",),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'core.runs' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"core.runs.{module}"), name)
    globals()[name] = value
    return value
