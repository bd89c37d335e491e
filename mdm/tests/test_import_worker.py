"""The import task family on a real Celery worker (a subprocess on Redis and the test
database): a file split into several chunks is loaded by chunk tasks and the run closes."""
from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from config.celery import app as celery_app
from mdm import importing
from mdm.importing import pipeline
from mdm.models import ImportChunk, ImportRun
from mdm.selectors import channel_days
from mdm.tasks import import_file_task
from mdm.tests.factories import ChannelFactory, MeterFactory

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 6, 20, 12, 0, tzinfo=dt.timezone.utc)


def _distinct_redis_url(url: str) -> str:
    """Another Redis database than the suite's own, so no other worker takes these tasks."""
    base, _, db = url.rpartition("/")
    number = int(db) if db.isdigit() else 0
    return f"{base}/{(number + 8) % 16}"


def _database_url() -> str:
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{s['USER']}{password}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def worker(settings, tmp_path):
    """A `celery worker --pool solo` over the test database; stopped (by its pid) afterwards."""
    settings.MEDIA_ROOT = tmp_path
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": _distinct_redis_url(settings.REDIS_URL),
        "UTILIS_MEDIA_ROOT": str(tmp_path),
        "UTILIS_CELERY_EAGER": "0",
        "UTILIS_LOCAL_TIME_ZONE": settings.UTILIS_LOCAL_TIME_ZONE,
    }
    env["PYTHONPATH"] = str(ROOT)
    log = open(tmp_path / "worker.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "--concurrency", "1",
         "--loglevel", "INFO", "--without-heartbeat", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    yield proc, tmp_path / "worker.log", env["REDIS_URL"]
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()


@pytest.mark.django_db(transaction=True)
def test_a_file_is_loaded_by_chunk_tasks_on_a_real_worker(worker, monkeypatch):
    proc, log_path, broker_url = worker
    serials = [f"W{n}" for n in range(5)]
    channels = [ChannelFactory(meter=MeterFactory(serial_number=s), interval_minutes=60) for s in serials]
    text = "".join(
        f"{s},kWh,delivered,60,2026-06-10T{h + 5:02d}:00:00Z,{n + h / 10}\n"
        for n, s in enumerate(serials) for h in range(3)
    )
    content = ("meter_serial,unit,direction,interval_minutes,interval_end,value\n" + text).encode()
    # Prepare here with 2-record chunks so the worker gets several chunk tasks to run.
    monkeypatch.setattr(pipeline, "CHUNK_RECORDS", 2)
    run = importing.import_run_create(content=content, file_name="five.csv", format="csv", now=NOW)
    pending = pipeline.import_run_prepare(import_run_id=run.pk, now=NOW)
    assert pending == [0, 1, 2]
    # The file task finds the prepared chunks and queues them; the worker loads them.
    with celery_app.connection_for_write(broker_url) as conn, conn.Producer() as producer:
        import_file_task.apply_async(kwargs={"import_run_id": run.pk}, producer=producer)

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status in ("done", "failed") or proc.poll() is not None:
            break
        time.sleep(0.5)
    assert run.status == "done", log_path.read_text()[-3000:]
    assert (run.intervals_loaded, run.quarantined, run.progress_done) == (15, 0, 5)
    assert ImportChunk.objects.filter(import_run=run, done_at__isnull=False).count() == 3
    days = channel_days([c.pk for c in channels], dt.date(2026, 6, 10), dt.date(2026, 6, 11))
    # Local hour 0 of 2026-06-10 ends at 05:00Z; meter n read n, n + 0.1, n + 0.2.
    assert [days[c.pk][dt.date(2026, 6, 10)].values[:3].tolist() for c in channels[3:]] == [
        [3.0, 3.1, 3.2], [4.0, 4.1, 4.2]
    ]
    assert ImportRun.objects.count() == 1
