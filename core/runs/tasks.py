"""The sweeper as a Celery task (schedule it with celery beat: "core.runs.sweep")."""
from __future__ import annotations

from typing import Any

from celery import Task, shared_task
from django.conf import settings
from django.utils import timezone

from core.runs.registry import runs_sweep


@shared_task(name="core.runs.sweep", bind=True)
def runs_sweep_task(self: Task[..., Any], stale_minutes: float | None = None,
                    max_resumes: int | None = None) -> dict[str, list[int]]:
    """Sweep with the settings' stale time and resume limit unless given. The chunks queued
    again go to the queue this task came from (a worker serves the queue it was sent on)."""
    queue = (self.request.delivery_info or {}).get("routing_key") or None
    if queue == self.app.conf.task_default_queue:
        queue = None  # the default queue: the chunk tasks' own routing applies
    return runs_sweep(
        now=timezone.now(),
        stale_minutes=settings.UTILIS_RUN_STALE_MINUTES if stale_minutes is None else stale_minutes,
        max_resumes=settings.UTILIS_RUN_SWEEP_RESUMES if max_resumes is None else max_resumes,
        queue=queue,
    )
