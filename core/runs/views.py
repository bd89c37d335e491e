"""The one progress JSON answer of every run page (Meter Hub imports and VEE runs, Billing Hub
bill runs), polled by static/js/run-progress.js through core/templates/core/runs/_progress.html."""
from __future__ import annotations

from django.http import JsonResponse

from core.runs.engine import run_progress


def progress_response(run, *, chunks: bool = True, **extra) -> JsonResponse:
    """JSON of core.runs.run_progress(run) plus the app's own counters (`extra`)."""
    return JsonResponse(run_progress(run, chunks=chunks, **extra))
