"""The sweeper as a Celery task (schedule it with celery beat: "core.runs.sweep")."""
from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from core.runs.registry import STALE_MINUTES, runs_sweep


@shared_task(name="core.runs.sweep")
def runs_sweep_task(stale_minutes: float = STALE_MINUTES) -> dict[str, list[int]]:
    return runs_sweep(now=timezone.now(), stale_minutes=stale_minutes)
