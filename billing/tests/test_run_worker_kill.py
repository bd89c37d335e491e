"""A bill run on a REAL Celery worker (prefork pool, one child) that is SIGKILLed in the middle
of the run: a new worker and a resume finish it with exactly one live segment per agreement
and period, and the run completes.

The worker runs in its own session so the kill takes its pool child down with it (as when a
machine dies); only that process group, which this test started, is signalled."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from django.db import connection
from django.db.models import Count

from billing.services import runs
from billing.models import BillRun, BillRunChunk, BillSegment
from billing.tests.test_runs_helpers import MAR, NOW, metered_agreement, setup_billing
from tests.celery_helpers import (
    ROOT,
    _die_with_parent,
    app_pointed_at,
    database_url_for,
    flush_redis_db,
    redis_url_for_test_worker,
)

ACCOUNTS = 40
READY_TIMEOUT_S = 180  # a loaded 2-core box can take over a minute to boot a prefork worker


def start_prefork_worker(app, *, redis_url: str, queue: str, log_path) -> tuple[subprocess.Popen, str]:
    from django.conf import settings

    node = f"{queue}-{uuid.uuid4().hex[:6]}@localhost"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_URL": database_url_for(connection.settings_dict),
           "REDIS_URL": redis_url, "UTILIS_CELERY_EAGER": "false", "PYTHONUNBUFFERED": "1",
           "UTILIS_LOCAL_TIME_ZONE": settings.UTILIS_LOCAL_TIME_ZONE, "PYTHONPATH": str(ROOT)}
    with open(log_path, "a") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "prefork", "--concurrency", "1",
             "-l", "info", "-n", node, "-Q", queue, "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=_die_with_parent,  # a killed pytest leaves no worker behind
        )
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(log_path.read_text())
        if app.control.ping(destination=[node], timeout=0.5):
            return proc, node
    kill_group(proc)
    raise RuntimeError("worker did not answer:\n" + log_path.read_text())


def kill_group(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)  # the group this test created (start_new_session)
    proc.wait(timeout=30)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            kill_group(proc)


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
        first, _ = start_prefork_worker(app, redis_url=redis_url, queue=queue, log_path=log_path)
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
            stop(first)
        run.refresh_from_db()
        done_at_kill = run.done_accounts
        assert 5 <= done_at_kill < ACCOUNTS, f"the kill must land mid-run ({done_at_kill} done)\n{log_path.read_text()[-3000:]}"
        assert run.status == "running"

        second, _ = start_prefork_worker(app, redis_url=redis_url, queue=queue, log_path=log_path)
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
            stop(second)

    run.refresh_from_db()
    assert run.status == "completed", log_path.read_text()[-3000:]
    assert (run.done_accounts, run.bills_created, run.total_accounts) == (ACCOUNTS, ACCOUNTS, ACCOUNTS)
    assert BillRunChunk.objects.filter(run=run).exclude(status="done").count() == 0
    per_period = (BillSegment.objects.filter(live=True).values("agreement_id", "period_start", "period_end")
                  .annotate(n=Count("id")))
    assert sorted((row["agreement_id"], row["n"]) for row in per_period) == sorted((a.pk, 1) for a in agreements)
    assert BillSegment.objects.count() == ACCOUNTS  # nothing half-written by the killed worker
