"""Celery tasks of the MDM: a file's import fans out into chunk tasks across the workers.

Tasks take ids only and call mdm.importing / mdm.services (VEE runs); each is idempotent (a chunk loaded
twice is loaded once: core.runs.chunk_claim), so acks-late redelivery after a killed worker is
safe, and resuming a run (or the core.runs sweeper) queues only the chunks not done."""
from __future__ import annotations

import datetime as dt
from typing import Any

from celery import Task, shared_task
from django.db import IntegrityError, OperationalError
from django.utils import timezone

from core.clock import utility_today, utility_zone
from mdm import importing

# A concurrent load of the same channel-days (another file) or a deadlock: try the chunk again.
RETRYABLE = (IntegrityError, OperationalError)


@shared_task(name="mdm.tasks.import_file_task", bind=True)
def import_file_task(self: Task[..., Any], *, import_run_id: int, **kwargs) -> int:
    """Parse the run's file and queue one import_chunk per chunk not yet loaded, each batch as
    soon as its rows are committed (the other workers load the first chunks while this one
    writes the rest). Run again after a crash, it queues only what is left. Returns the
    number of chunks queued.

    The chunks go to the queue this task came from, so routing imports to dedicated workers
    is one route for this task."""
    queue = (self.request.delivery_info or {}).get("routing_key")
    try:
        pending = importing.import_run_prepare(
            import_run_id=import_run_id, now=timezone.now(),
            on_chunks=lambda numbers: import_chunks_enqueue(import_run_id, numbers, queue=queue))
    except importing.ImportRunError:
        return 0  # the run is marked failed with the reason; nothing to retry
    return len(pending)


def import_chunks_enqueue(import_run_id: int, numbers, queue: str | None = None) -> None:
    for number in numbers:
        if queue:
            import_chunk.apply_async(kwargs={"import_run_id": import_run_id, "chunk": number}, queue=queue)
        else:
            import_chunk.apply_async(kwargs={"import_run_id": import_run_id, "chunk": number})


def vee_chunks_enqueue(vee_run_id: int, numbers, queue: str | None = None) -> None:
    for number in numbers:
        if queue:
            vee_run_chunk.apply_async(kwargs={"vee_run_id": vee_run_id, "chunk": number}, queue=queue)
        else:
            vee_run_chunk.apply_async(kwargs={"vee_run_id": vee_run_id, "chunk": number})


@shared_task(
    name="mdm.tasks.import_chunk", bind=True, autoretry_for=RETRYABLE, retry_backoff=2, retry_jitter=True, max_retries=5,
)
def import_chunk(self: Task[..., Any], *, import_run_id: int, chunk: int, **kwargs) -> bool:
    try:
        return importing.import_chunk_load(import_run_id=import_run_id, chunk=chunk, now=timezone.now())
    except RETRYABLE:
        if self.request.retries >= (self.max_retries or 0):
            importing.import_chunk_fail(
                import_run_id=import_run_id, chunk=chunk, error=f"chunk {chunk} failed after {self.max_retries} retries",
                now=timezone.now(),
            )
        raise
    except Exception as exc:
        importing.import_chunk_fail(import_run_id=import_run_id, chunk=chunk,
                                    error=f"chunk {chunk}: {type(exc).__name__}: {exc}", now=timezone.now())
        raise


# ---- VEE runs --------------------------------------------------------------------------------


@shared_task(name="mdm.tasks.vee_run_task", bind=True)
def vee_run_task(self: Task[..., Any], *, vee_run_id: int, **kwargs) -> int:
    """Queue one vee_run_chunk per chunk not yet done (after a crash: only what is left).
    Returns the number queued."""
    from mdm.services import vee_runs

    pending = vee_runs.vee_run_begin(vee_run_id=vee_run_id, now=timezone.now())
    vee_chunks_enqueue(vee_run_id, pending, queue=(self.request.delivery_info or {}).get("routing_key"))
    return len(pending)


@shared_task(
    name="mdm.tasks.vee_run_chunk", bind=True, autoretry_for=RETRYABLE, retry_backoff=2, retry_jitter=True, max_retries=5,
)
def vee_run_chunk(self: Task[..., Any], *, vee_run_id: int, chunk: int, **kwargs) -> bool:
    from mdm.services import vee_runs

    try:
        return vee_runs.vee_run_chunk_process(vee_run_id=vee_run_id, chunk=chunk, now=timezone.now())
    except RETRYABLE:
        if self.request.retries >= (self.max_retries or 0):
            vee_runs.vee_run_chunk_fail(vee_run_id=vee_run_id, chunk=chunk,
                                        error=f"chunk {chunk} failed after {self.max_retries} retries", now=timezone.now())
        raise
    except Exception as exc:
        vee_runs.vee_run_chunk_fail(vee_run_id=vee_run_id, chunk=chunk, error=f"chunk {chunk}: {type(exc).__name__}: {exc}",
                                    now=timezone.now())
        raise


@shared_task(name="mdm.tasks.vee_after_import_task", bind=True)
def vee_after_import_task(self: Task[..., Any], *, import_run_id: int, **kwargs) -> int | None:
    """VEE over what a finished import loaded; returns the run's id (None: nothing changed)."""
    from mdm.services import vee_runs

    run = vee_runs.vee_run_for_import(import_run_id=import_run_id, now=timezone.now())
    if run is None:
        return None
    queue = (self.request.delivery_info or {}).get("routing_key")
    if queue:
        vee_run_task.apply_async(kwargs={"vee_run_id": run.pk}, queue=queue)
    else:
        vee_run_task.apply_async(kwargs={"vee_run_id": run.pk})
    return run.pk


@shared_task(name="mdm.tasks.usage_class_days_refresh_task")
def usage_class_days_refresh_task(*, start_date: str | None = None, end_date: str | None = None, **kwargs) -> int:
    """Beat, nightly: the rate classes' day rows of the last REFRESH_DAYS local days (reads and
    estimates come in late). With ISO `start_date` / `end_date` (a backfill): those days."""
    from mdm.services import usage_classes

    today = utility_today()
    end = dt.date.fromisoformat(end_date) if end_date else today
    start = dt.date.fromisoformat(start_date) if start_date else end - dt.timedelta(days=usage_classes.REFRESH_DAYS)
    return usage_classes.usage_class_days_refresh(start_date=start, end_date=end, tz=utility_zone(),
                                                  now=timezone.now())
