"""The collections run on a REAL Celery worker (prefork, one child) SIGKILLed mid-run: a new
worker and a resume finish it, and every account got its late payment charge (ledger entry,
fee, step row) exactly once. The worker runs in a session of its own; only that process group,
which this test started, is signalled."""
from __future__ import annotations

import datetime as dt
import os
import time
import uuid

import pytest
from django.utils import timezone

from billing.collections.models import CollectionAction, CollectionRun, CollectionRunChunk, LateCharge
from billing.models import LedgerEntry
from billing.payments.models import Fee
from billing.services import collections_run_resume, collections_run_start
from billing.tests.test_collections_run import DUE, delinquent, run
from tests.celery_helpers import (
    app_pointed_at,
    flush_redis_db,
    kill_group,
    redis_url_for_test_worker,
    start_prefork_worker,
    stop_group,
)

pytestmark = pytest.mark.celery_worker
ACCOUNTS = 30


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_collections_run_then_resumed_takes_each_step_once(tmp_path):
    from django.conf import settings

    from config.celery import app

    accounts = [delinquent(email="") for _ in range(ACCOUNTS)]
    run(DUE + dt.timedelta(days=5))  # reminders, in this process
    day = DUE + dt.timedelta(days=16)  # the late payment charge step, on the worker
    now = timezone.make_aware(dt.datetime.combine(day, dt.time(6)))
    redis_url = redis_url_for_test_worker(settings.REDIS_URL, os.environ.get("PYTEST_XDIST_WORKER"))
    flush_redis_db(redis_url)
    log_path = tmp_path / "workers.log"
    queue = f"utilis-collkill-{uuid.uuid4().hex[:8]}"
    with app_pointed_at(app, redis_url, queue):
        first = start_prefork_worker(app, redis_url=redis_url, queue=queue, log_path=log_path)
        try:
            started = collections_run_start(run_date=day, now=now, chunk_size=1)  # one task per account
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                started.refresh_from_db()
                if started.progress_done >= 5:
                    break
                time.sleep(0.02)
            kill_group(first)
        finally:
            stop_group(first)
        started.refresh_from_db()
        done_at_kill = started.progress_done
        assert 5 <= done_at_kill < ACCOUNTS, f"the kill must land mid-run ({done_at_kill})\n{log_path.read_text()[-3000:]}"
        assert started.status == CollectionRun.Status.RUNNING

        second = start_prefork_worker(app, redis_url=redis_url, queue=queue, log_path=log_path)
        try:
            pending = collections_run_resume(run_id=started.pk, now=timezone.now())
            assert pending and len(pending) <= ACCOUNTS - done_at_kill
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                started.refresh_from_db()
                if started.status == CollectionRun.Status.DONE:
                    break
                time.sleep(0.2)
        finally:
            stop_group(second)

    started.refresh_from_db()
    assert started.status == CollectionRun.Status.DONE, log_path.read_text()[-3000:]
    assert (started.progress_done, started.actions_taken) == (ACCOUNTS, ACCOUNTS)
    assert not CollectionRunChunk.objects.filter(run=started).exclude(status="done").exists()
    ids = sorted(a.pk for a in accounts)
    for kind in ("reminder", "late_charge"):
        assert sorted(CollectionAction.objects.filter(kind=kind).values_list("account_id", flat=True)) == ids
    assert sorted(LateCharge.objects.values_list("account_id", flat=True)) == ids
    assert sorted(Fee.objects.filter(kind="late_payment").values_list("account_id", flat=True)) == ids
    assert LedgerEntry.objects.filter(kind="adjustment").count() == ACCOUNTS
    # The same day again: the run already exists, nothing new.
    assert collections_run_start(run_date=day, now=timezone.now()).pk == started.pk
    assert CollectionAction.objects.count() == 2 * ACCOUNTS
