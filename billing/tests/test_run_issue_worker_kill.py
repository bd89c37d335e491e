"""Approve and issue of a bill run as chunk tasks on a REAL Celery worker (prefork pool, one
child): the worker is SIGKILLed in the middle of the issue, a new worker and a resume finish
it, and every bill is issued exactly once (one bill number, one ledger entry, the chunk marks
all set), the run ends ISSUED.

The worker runs in its own session so the kill takes its pool child down with it (as when a
machine dies); only that process group, which this test started, is signalled."""
from __future__ import annotations

import os
import time
import uuid
from collections import Counter

import pytest

from billing.models import Bill, BillRun, BillRunChunk, LedgerEntry
from billing.services import runs
from billing.tests.test_runs_helpers import MAR, NOW, metered_agreement, setup_billing
from core.actors import Actor
from tests.celery_helpers import (
    app_pointed_at,
    flush_redis_db,
    kill_group,
    redis_url_for_test_worker,
    start_prefork_worker,
    stop_group,
)

ACCOUNTS = 40


def _wait(run: BillRun, status: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status == status:
            return
        time.sleep(0.1)


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_issue_then_resumed_issues_each_bill_once(tmp_path, django_user_model):
    from django.conf import settings

    from config.celery import app

    cycle = setup_billing()
    for i in range(ACCOUNTS):
        metered_agreement(rate_code="T-TIER" if i % 2 else "T-TOU")
    run = runs.bill_run_start(cycle=cycle, bill_date=MAR, now=NOW, chunk_size=1, enqueue=False)
    for number in runs.bill_run_pending_chunks(bill_run_id=run.pk):
        runs.bill_run_chunk_process(bill_run_id=run.pk, chunk_number=number, now=NOW)
    clerk = django_user_model.objects.create_user("clerk-kill")
    actor = Actor.of(clerk)

    redis_url = redis_url_for_test_worker(settings.REDIS_URL, os.environ.get("PYTEST_XDIST_WORKER"))
    flush_redis_db(redis_url)
    log_path = tmp_path / "workers.log"
    queue = f"utilis-issuekill-{uuid.uuid4().hex[:8]}"
    with app_pointed_at(app, redis_url, queue):
        first = start_prefork_worker(app, redis_url=redis_url, queue=queue, log_path=log_path)
        try:
            run = runs.bill_run_approve(bill_run_id=run.pk, actor=actor, now=NOW, enqueue=True)
            assert run.status == "approving"
            _wait(run, "approved", 120)
            assert run.status == "approved", log_path.read_text()[-3000:]
            assert not Bill.objects.filter(run=run, status="draft").exists()
            assert set(Bill.objects.filter(run=run).values_list("approved_by_id", flat=True)) == {clerk.pk}

            run = runs.bill_run_issue(bill_run_id=run.pk, now=NOW, actor=actor, enqueue=True)  # 40 chunk tasks
            assert run.status == "issuing"
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                if BillRunChunk.objects.filter(run=run, issued_at__isnull=False).count() >= 5:
                    break
                time.sleep(0.02)
            kill_group(first)
        finally:
            stop_group(first)
        marked_at_kill = set(BillRunChunk.objects.filter(run=run, issued_at__isnull=False)
                             .values_list("number", flat=True))
        issued_at_kill = len(marked_at_kill)
        assert 5 <= issued_at_kill < ACCOUNTS, (
            f"the kill must land mid-issue ({issued_at_kill} chunks issued)\n{log_path.read_text()[-3000:]}")
        run.refresh_from_db()
        assert run.status == "issuing"
        # Each chunk's mark and its bills commit together: nothing half-issued by the kill.
        assert Bill.objects.filter(run=run, status="issued").count() == issued_at_kill
        assert LedgerEntry.objects.filter(kind="bill").count() == issued_at_kill

        second = start_prefork_worker(app, redis_url=redis_url, queue=queue, log_path=log_path)
        try:
            # The killed worker's unacknowledged tasks are still in Redis; resume queues every
            # chunk not issued again, and whichever copy comes second is skipped.
            pending = runs.bill_run_resume(bill_run_id=run.pk)
            assert pending and len(pending) <= ACCOUNTS - issued_at_kill
            assert set(pending).isdisjoint(marked_at_kill)  # an issued chunk is never queued again
            _wait(run, "issued", 180)
        finally:
            stop_group(second)

    run.refresh_from_db()
    assert run.status == "issued", log_path.read_text()[-3000:]
    bills = list(Bill.objects.filter(run=run))
    assert len(bills) == ACCOUNTS and {b.status for b in bills} == {"issued"}
    assert len({b.bill_number for b in bills}) == ACCOUNTS
    assert {b.issued_by_id for b in bills} == {clerk.pk}
    assert Counter(LedgerEntry.objects.filter(kind="bill").values_list("bill_id", flat=True)) == {b.pk: 1 for b in bills}
    assert not BillRunChunk.objects.filter(run=run, issued_at__isnull=True).exists()
    assert "issue" in run.timings and "approve" in run.timings
