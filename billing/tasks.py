"""Celery tasks of billing. They take ids only and call a service; a chunk is idempotent
(done at most once: see billing.runs), so acks-late redelivery after a killed worker is safe."""
from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from billing import runs


@shared_task(name="billing.tasks.bill_run_chunk", acks_late=True)
def bill_run_chunk(*, bill_run_id: int, chunk_number: int, **kwargs) -> str:
    return runs.bill_run_chunk_process(bill_run_id=bill_run_id, chunk_number=chunk_number, now=timezone.now())
