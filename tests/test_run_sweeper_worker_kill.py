"""Stuck runs found by the sweeper, on REAL Celery workers: an import's worker is SIGKILLed in
the middle of the run; a new worker takes what is left in the queue, but the chunk the dead
worker held is lost with it, so the run stays "running". Nobody resumes it by hand: the sweeper
(`core.runs.sweep`, sent as a Celery task to the new worker, with the worker's
UTILIS_RUN_STALE_MINUTES set to 0 so the test need not wait 15 minutes) finds it and queues its
chunks again, and the run ends done with exactly the rows of a run never killed.

A run that does not move however often it is resumed (its chunks held by a hung session) is
resumed UTILIS_RUN_SWEEP_RESUMES times and then failed by the sweeper with the reason on the
run; resumed by hand once the hang is gone, it still ends with each row once."""
from __future__ import annotations

import datetime as dt
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from django.db import connection

from core.runs.engine import run_progress
from core.runs.models import RunSweep
from core.runs.tasks import runs_sweep_task
from mdm import importing
from mdm.importing import pipeline
from mdm.models import ImportChunk, ImportRun, IntervalDay, IntervalDayVersion
from mdm.tasks import import_chunks_enqueue, import_file_task
from mdm.tests.factories import ChannelFactory, MeterFactory
from tests.celery_helpers import (
    app_pointed_at,
    database_url_for,
    flush_redis_db,
    kill_group,
    redis_url_for_test_worker,
    start_prefork_worker,
    stop_group,
)

NOW = dt.datetime(2026, 6, 20, 12, 0, tzinfo=dt.timezone.utc)
DAY = dt.date(2026, 6, 10)
N = 40
pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


@dataclass
class Setup:
    run: ImportRun
    channels: list
    queue: str
    redis_url: str
    log_path: object
    env: dict


@pytest.fixture
def killed_import(tmp_path, settings, monkeypatch) -> Iterator[Setup]:
    """An import of 40 one-meter chunks started on a prefork worker that is SIGKILLed once 5
    chunks are done. The Celery app points at a Redis database and queue of this test."""
    from config.celery import app

    settings.MEDIA_ROOT = tmp_path / "media"
    env = {"UTILIS_VEE_AFTER_IMPORT": "false", "UTILIS_MEDIA_ROOT": str(tmp_path / "media"),
           "UTILIS_RUN_STALE_MINUTES": "0", "UTILIS_RUN_SWEEP_RESUMES": "2"}
    serials = [f"S{n:03d}" for n in range(N)]
    channels = [ChannelFactory(meter=MeterFactory(serial_number=s), interval_minutes=60) for s in serials]
    content = ("meter_serial,unit,direction,interval_minutes,interval_end,value\n" + "".join(
        f"{s},kWh,delivered,60,2026-06-10T{h + 5:02d}:00:00Z,{n + h / 10}\n"
        for n, s in enumerate(serials) for h in range(3))).encode()
    monkeypatch.setattr(pipeline, "CHUNK_RECORDS", 1)  # one meter per chunk: 40 chunk tasks
    run = importing.import_run_create(content=content, file_name="sweep.csv", format="csv", now=NOW)
    assert len(pipeline.import_run_prepare(import_run_id=run.pk, now=NOW)) == N

    redis_url = redis_url_for_test_worker(settings.REDIS_URL, os.environ.get("PYTEST_XDIST_WORKER"))
    flush_redis_db(redis_url)
    queue = f"utilis-sweepkill-{uuid.uuid4().hex[:8]}"
    log_path = tmp_path / "workers.log"
    with app_pointed_at(app, redis_url, queue):
        first = start_prefork_worker(app, redis_url=redis_url, queue=queue, log_path=log_path, extra_env=env)
        try:
            import_file_task.delay(import_run_id=run.pk)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and done(run) < 5:
                time.sleep(0.02)
            # Kill it with a chunk in its hands, not between two chunks (a chunk takes 40 ms on
            # a quiet machine): hold the run's row, so the next chunk waits to close on it,
            # then kill the worker and let go. The chunk dies with the worker, uncommitted.
            with psycopg.connect(database_url_for(connection.settings_dict)) as holder:
                holder.execute("SELECT id FROM mdm_importrun WHERE id = %s FOR UPDATE", [run.pk])
                assert wait_for_a_backend_waiting_on_a_lock(holder), (
                    f"no chunk came to wait on the held run row ({done(run)} done, "
                    f"{ImportRun.objects.get(pk=run.pk).status})\n{log_path.read_text()[-3000:]}")
                kill_group(first)
                holder.rollback()
        finally:
            stop_group(first)
        at_kill = done(run)
        assert 5 <= at_kill < N, f"the kill must land mid-run ({at_kill} done)\n{log_path.read_text()[-3000:]}"
        yield Setup(run=run, channels=channels, queue=queue, redis_url=redis_url, log_path=log_path, env=env)


def wait_for_a_backend_waiting_on_a_lock(conn: psycopg.Connection, timeout_s: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        conn.execute("SELECT pg_stat_clear_snapshot()")  # inside a transaction the view is a snapshot
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()").fetchone()
        if row and row[0]:
            return True
        time.sleep(0.05)
    return False


def done(run: ImportRun) -> int:
    return ImportRun.objects.get(pk=run.pk).progress_done


def wait_until_still(run: ImportRun, *, quiet_s: float = 8.0, timeout_s: float = 180.0) -> None:
    """Wait until the run's progress has not moved for `quiet_s` (the worker has nothing left
    that it can do) or the run is finished."""
    deadline = time.monotonic() + timeout_s
    last, since = done(run), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.3)
        if ImportRun.objects.get(pk=run.pk).status in ("done", "failed"):
            return
        now_done = done(run)
        if now_done != last:
            last, since = now_done, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return
    raise AssertionError(f"run {run.pk} kept moving for {timeout_s}s")


def sweep() -> dict[str, list[int]]:
    """The sweeper, as the beat sends it: a Celery task with no arguments, run by the worker
    (which reads its stale time and resume limit from its own settings)."""
    return runs_sweep_task.delay().get(timeout=90)


def assert_each_row_once(s: Setup) -> None:
    run = ImportRun.objects.get(pk=s.run.pk)
    assert (run.records, run.progress_done, run.intervals_loaded, run.intervals_corrected, run.quarantined) == (
        N, N, 3 * N, 0, 0)
    assert ImportChunk.objects.filter(run=run).exclude(status="done").count() == 0
    rows = IntervalDay.objects.filter(channel_id__in=[c.pk for c in s.channels])
    assert sorted(rows.values_list("channel_id", "local_date", "version")) == sorted((c.pk, DAY, 1) for c in s.channels)
    assert IntervalDayVersion.objects.count() == 0  # no day was written twice


def test_the_sweeper_finds_a_run_left_by_a_killed_worker_and_it_ends_done_once(killed_import):
    from config.celery import app

    s = killed_import
    second = start_prefork_worker(app, redis_url=s.redis_url, queue=s.queue, log_path=s.log_path, extra_env=s.env)
    try:
        wait_until_still(s.run)
        left = ImportRun.objects.get(pk=s.run.pk)
        # What the dead worker held is not coming back by itself: the run is stuck.
        assert left.status == "running" and left.progress_done < N, s.log_path.read_text()[-3000:]
        assert ImportChunk.objects.filter(run=left, status="pending").exists()

        assert sweep() == {"mdm.import": [s.run.pk]}
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and ImportRun.objects.get(pk=s.run.pk).status not in ("done", "failed"):
            time.sleep(0.2)
    finally:
        stop_group(second)
    assert ImportRun.objects.get(pk=s.run.pk).status == "done", s.log_path.read_text()[-3000:]
    assert_each_row_once(s)
    assert list(RunSweep.objects.values_list("kind", "run_id", "action", "progress_done")) == [
        ("mdm.import", s.run.pk, "resumed", left.progress_done)]


def test_a_run_that_never_moves_is_failed_by_the_sweeper_after_its_resumes(killed_import):
    from config.celery import app

    s = killed_import
    # A hung session holds every chunk not done (as a worker frozen mid-transaction would):
    # whatever is queued again, no worker can claim a chunk, so the run makes no progress.
    hung = psycopg.connect(database_url_for(connection.settings_dict))
    try:
        hung.execute("BEGIN")
        hung.execute("SELECT id FROM mdm_importchunk WHERE run_id = %s AND status <> 'done' FOR UPDATE", [s.run.pk])
        at_hang = done(s.run)
        second = start_prefork_worker(app, redis_url=s.redis_url, queue=s.queue, log_path=s.log_path, extra_env=s.env)
        try:
            wait_until_still(s.run)
            results = [sweep(), sweep(), sweep()]  # resume, resume (the limit is 2), then give up
            sweeps = list(RunSweep.objects.filter(run_id=s.run.pk).values_list("action", "progress_done"))
            run = ImportRun.objects.get(pk=s.run.pk)
            assert results == [{"mdm.import": [s.run.pk]}] * 3
            assert sweeps == [("resumed", at_hang), ("resumed", at_hang), ("failed", at_hang)]
            assert run.status == "failed" and run.progress_done == at_hang
            assert run.error.startswith("Its worker stopped and the sweeper resumed it 2 times with no chunk "
                                        "finishing (each time no progress for 0 min); it gave up.")
            assert run_progress(run, chunks=False)["error"] == run.error  # what the run's page shows
            assert sweep() == {}  # a failed run is not swept again
        finally:
            hung.rollback()
        # The hang is gone; a person resumes the run: it ends done, each row once.
        try:
            pending = importing.import_run_resume(import_run_id=s.run.pk, now=NOW,
                                                  enqueue=lambda nums: import_chunks_enqueue(s.run.pk, nums))
            assert pending and len(pending) == N - at_hang
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline and ImportRun.objects.get(pk=s.run.pk).status not in ("done", "failed"):
                time.sleep(0.2)
        finally:
            stop_group(second)
    finally:
        hung.close()
    assert ImportRun.objects.get(pk=s.run.pk).status == "done", s.log_path.read_text()[-3000:]
    assert_each_row_once(s)
