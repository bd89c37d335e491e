"""The import task family on a real Celery worker (tests/celery_helpers: a subprocess on the
test database and a Redis database and queue of its own): a file split into several chunks is
loaded by chunk tasks that the file task queues, and the run closes."""
from __future__ import annotations

import datetime as dt
import time

import pytest

from mdm import importing
from mdm.importing import pipeline
from mdm.models import ImportChunk, ImportRun
from mdm.selectors import channel_days
from mdm.tasks import import_file_task
from mdm.tests.factories import ChannelFactory, MeterFactory
from tests.celery_helpers import celery_worker  # noqa: F401  (pytest fixture)

NOW = dt.datetime(2026, 6, 20, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def shared_media(settings, tmp_path, monkeypatch):
    """The worker reads the stored file: both processes use the same media folder."""
    settings.MEDIA_ROOT = tmp_path
    monkeypatch.setenv("UTILIS_MEDIA_ROOT", str(tmp_path))


@pytest.fixture
def worker(shared_media, celery_worker):  # noqa: F811  (order: the media folder first)
    return celery_worker


def test_a_file_is_loaded_by_chunk_tasks_on_a_real_worker(worker, monkeypatch):
    serials = [f"W{n}" for n in range(5)]
    channels = [ChannelFactory(meter=MeterFactory(serial_number=s), interval_minutes=60) for s in serials]
    text = "".join(
        f"{s},kWh,delivered,60,2026-06-10T{h + 5:02d}:00:00Z,{n + h / 10}\n"
        for n, s in enumerate(serials) for h in range(3)
    )
    content = ("meter_serial,unit,direction,interval_minutes,interval_end,value\n" + text).encode()
    # Prepared here with 2-record chunks, so the file task on the worker finds three chunks
    # not yet loaded (as after a crash) and queues them; the worker loads them.
    monkeypatch.setattr(pipeline, "CHUNK_RECORDS", 2)
    run = importing.import_run_create(content=content, file_name="five.csv", format="csv", now=NOW)
    assert pipeline.import_run_prepare(import_run_id=run.pk, now=NOW) == [0, 1, 2]

    assert import_file_task.delay(import_run_id=run.pk).get(timeout=60) == 3
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and worker.is_running():
        run.refresh_from_db()
        if run.status in ("done", "failed"):
            break
        time.sleep(0.3)
    assert run.status == "done", worker.logs()[-3000:]
    assert (run.intervals_loaded, run.quarantined, run.progress_done) == (15, 0, 5)
    assert ImportChunk.objects.filter(run=run, status="done").count() == 3
    days = channel_days([c.pk for c in channels], dt.date(2026, 6, 10), dt.date(2026, 6, 11))
    # Local hour 0 of 2026-06-10 ends at 05:00Z; meter n read n, n + 0.1, n + 0.2.
    assert [days[c.pk][dt.date(2026, 6, 10)].values[:3].tolist() for c in channels[3:]] == [
        [3.0, 3.1, 3.2], [4.0, 4.1, 4.2]
    ]
    # Run on the worker again, the file task finds nothing left to queue.
    assert import_file_task.delay(import_run_id=run.pk).get(timeout=60) == 0
    assert ImportRun.objects.count() == 1
