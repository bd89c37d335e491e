"""A bill run on a REAL Celery worker (prefork pool, one child) that is SIGKILLed in the middle
of the run: a new worker and a resume finish it with exactly one live segment per agreement
and period, and the run completes.

The worker runs in its own session so the kill takes its pool child down with it (as when a
machine dies); only that process group, which this test started, is signalled."""
from __future__ import annotations

import os
import time
import uuid

import pytest
from django.db.models import Count

from billing.services import runs
from billing.models import BillRun, BillRunChunk, BillSegment
from billing.tests.test_runs_helpers import MAR, NOW, metered_agreement, setup_billing
from tests.celery_helpers import (
    app_pointed_at,
    flush_redis_db,
    kill_group,
    redis_url_for_test_worker,
    start_prefork_worker,
    stop_group,
)

ACCOUNTS = 40


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_run_then_resumed_bills_each_agreement_and_period_once(tmp_path):
    from django.conf import settings

    from config.celery import app

    cycle = setup_billing()
    agreements = [metered_agreement(rate_code="T-TIER" if i % 2 else "T-TOU")[0] for i in range(ACCOUNTS)]
    redis_url = redis_url_for_test_worker(settings.REDIS_URL, os.environ.get("PYTEST_XDIST_WORKER"))
    flush_redis_db(redis_url)
    log_path = tmp_path / "workers.log"
    queue = f"utilis-billkill-{uuid.uuid4().hex[:8]}"  # a queue of its own: no other suite's worker takes these
    with app_pointed_at(app, redis_url, queue):
        first = start_prefork_worker(app, redis_url=redis_url, queue=queue, log_path=log_path)
        try:
            run = runs.bill_run_start(cycle=cycle, bill_date=MAR, now=NOW, chunk_size=1)  # 40 chunk tasks queued
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                run.refresh_from_db()
                if run.done_accounts >= 5:
                    break
                time.sleep(0.02)
            kill_group(first)
        finally:
            stop_group(first)
        run.refresh_from_db()
        done_at_kill = run.done_accounts
        assert 5 <= done_at_kill < ACCOUNTS, f"the kill must land mid-run ({done_at_kill} done)\n{log_path.read_text()[-3000:]}"
        assert run.status == "running"

        second = start_prefork_worker(app, redis_url=redis_url, queue=queue, log_path=log_path)
        try:
            # The killed worker's unacknowledged tasks are still in Redis; resume queues every
            # chunk not done again, and whichever copy comes second is skipped.
            pending = runs.bill_run_resume(bill_run_id=run.pk)
            assert pending and len(pending) <= ACCOUNTS - done_at_kill
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                run.refresh_from_db()
                if run.status == BillRun.Status.DONE:
                    break
                time.sleep(0.2)
        finally:
            stop_group(second)

    run.refresh_from_db()
    assert run.status == "completed", log_path.read_text()[-3000:]
    assert (run.done_accounts, run.bills_created, run.total_accounts) == (ACCOUNTS, ACCOUNTS, ACCOUNTS)
    assert BillRunChunk.objects.filter(run=run).exclude(status="done").count() == 0
    per_period = (BillSegment.objects.filter(live=True).values("agreement_id", "period_start", "period_end")
                  .annotate(n=Count("id")))
    assert sorted((row["agreement_id"], row["n"]) for row in per_period) == sorted((a.pk, 1) for a in agreements)
    assert BillSegment.objects.count() == ACCOUNTS  # nothing half-written by the killed worker
