"""An import and a VEE run on a REAL Celery worker (prefork, one child) that is SIGKILLed in
the middle of the run: a new worker and a resume finish it with exactly one result (no
interval row, version, finding or worklist item twice; the counts of a run never killed)."""
from __future__ import annotations

import datetime as dt
import math
import os
import time
import uuid

import numpy as np
import pytest
from django.db.models import Count

from mdm import importing
from mdm.importing import pipeline
from mdm.models import (
    ImportChunk,
    ImportRun,
    IntervalDay,
    IntervalDayVersion,
    VeeFinding,
    VeeRuleSet,
    VeeRuleSetAssignment,
    VeeRun,
    VeeRunChunk,
    VeeWorklistItem,
)
from mdm.services import StagedDay, interval_days_merge
from mdm.tasks import import_file_task, vee_run_task
from mdm.tests.factories import ChannelFactory, MeterFactory
from mdm.services import vee_run_create, vee_run_resume
from mdm.tasks import vee_chunks_enqueue, import_chunks_enqueue
from tests.celery_helpers import (
    app_pointed_at,
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


@pytest.fixture
def shared_media(settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setenv("UTILIS_MEDIA_ROOT", str(tmp_path / "media"))


def kill_mid_run_then_resume(*, tmp_path, queue_prefix, start, progress, resume, finished, extra_env=None):
    """Start a worker, `start()` the run, SIGKILL the worker once `progress()` >= 5, start a
    second worker, `resume()`, and wait until `finished()`. Returns (done at kill, worker log)."""
    from django.conf import settings

    from config.celery import app

    redis_url = redis_url_for_test_worker(settings.REDIS_URL, os.environ.get("PYTEST_XDIST_WORKER"))
    flush_redis_db(redis_url)
    log_path = tmp_path / "workers.log"
    queue = f"{queue_prefix}-{uuid.uuid4().hex[:8]}"
    with app_pointed_at(app, redis_url, queue):
        first = start_prefork_worker(app, redis_url=redis_url, queue=queue, log_path=log_path, extra_env=extra_env)
        try:
            start()
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and progress() < 5:
                time.sleep(0.02)
            kill_group(first)
        finally:
            stop_group(first)
        done_at_kill = progress()
        assert 5 <= done_at_kill < N, f"the kill must land mid-run ({done_at_kill} done)\n{log_path.read_text()[-3000:]}"

        second = start_prefork_worker(app, redis_url=redis_url, queue=queue, log_path=log_path, extra_env=extra_env)
        try:
            pending = resume()
            assert pending and len(pending) <= N - done_at_kill
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline and not finished():
                time.sleep(0.2)
        finally:
            stop_group(second)
    return done_at_kill, log_path.read_text()[-3000:]


def test_an_import_killed_mid_run_then_resumed_loads_each_channel_day_once(tmp_path, shared_media, monkeypatch):
    serials = [f"K{n:03d}" for n in range(N)]
    channels = [ChannelFactory(meter=MeterFactory(serial_number=s), interval_minutes=60) for s in serials]
    text = "".join(f"{s},kWh,delivered,60,2026-06-10T{h + 5:02d}:00:00Z,{n + h / 10}\n"
                   for n, s in enumerate(serials) for h in range(3))
    content = ("meter_serial,unit,direction,interval_minutes,interval_end,value\n" + text).encode()
    monkeypatch.setattr(pipeline, "CHUNK_RECORDS", 1)  # one meter (one 3-hour block) per chunk: 40 chunk tasks
    run = importing.import_run_create(content=content, file_name="kill.csv", format="csv", now=NOW)
    assert len(pipeline.import_run_prepare(import_run_id=run.pk, now=NOW)) == N

    def progress():
        return ImportRun.objects.get(pk=run.pk).progress_done

    done_at_kill, log = kill_mid_run_then_resume(
        tmp_path=tmp_path, queue_prefix="utilis-importkill",
        start=lambda: import_file_task.delay(import_run_id=run.pk),
        progress=progress,
        resume=lambda: importing.import_run_resume(import_run_id=run.pk, now=NOW,
                                                   enqueue=lambda nums: import_chunks_enqueue(run.pk, nums)),
        finished=lambda: ImportRun.objects.get(pk=run.pk).status in ("done", "failed"),
        extra_env={"UTILIS_VEE_AFTER_IMPORT": "false", "UTILIS_MEDIA_ROOT": os.environ["UTILIS_MEDIA_ROOT"]},
    )
    run.refresh_from_db()
    assert run.status == "done", log
    # What a run never killed gives: 40 meters x 3 hours, one chunk each.
    assert (run.records, run.progress_done, run.intervals_loaded, run.intervals_corrected, run.quarantined) == (
        N, N, 3 * N, 0, 0)
    assert ImportChunk.objects.filter(run=run).exclude(status="done").count() == 0
    assert ImportChunk.objects.filter(run=run, payload__isnull=False).count() == 0
    rows = IntervalDay.objects.filter(channel_id__in=[c.pk for c in channels])
    assert sorted(rows.values_list("channel_id", "local_date", "version")) == sorted((c.pk, DAY, 1) for c in channels)
    assert IntervalDayVersion.objects.count() == 0  # no day was written twice


LINEAR_ONLY = {"validations": [{"kind": "gaps"}], "estimations": [{"kind": "linear", "max_gap_minutes": 180}]}


def test_a_vee_run_killed_mid_run_then_resumed_writes_each_result_once(tmp_path):
    VeeRuleSetAssignment.objects.all().delete()
    rs = VeeRuleSet.objects.create(name="linear only", rules=LINEAR_ONLY)
    VeeRuleSetAssignment.objects.create(rule_set=rs, scope="default", start_date=dt.date(2020, 1, 1))
    channels = [ChannelFactory(interval_minutes=60) for _ in range(N)]
    for n, ch in enumerate(channels):
        values = np.full(24, float(n + 1))
        values[12] = math.nan  # one missing hour: a gap finding and a linear estimate
        interval_days_merge(days=[StagedDay(ch.pk, DAY, 60, values, np.where(np.isnan(values), 1, 0).astype(np.int16))],
                            now=NOW)
    run = vee_run_create(channel_ids=[c.pk for c in channels], start_date=DAY, end_date=DAY + dt.timedelta(days=1),
                         scope="kill test", now=NOW, chunk_size=1)

    done_at_kill, log = kill_mid_run_then_resume(
        tmp_path=tmp_path, queue_prefix="utilis-veekill",
        start=lambda: vee_run_task.delay(vee_run_id=run.pk),
        progress=lambda: VeeRun.objects.get(pk=run.pk).progress_done,
        resume=lambda: vee_run_resume(vee_run_id=run.pk, now=NOW, enqueue=lambda nums: vee_chunks_enqueue(run.pk, nums)),
        finished=lambda: VeeRun.objects.get(pk=run.pk).status in ("done", "failed"),
    )
    run.refresh_from_db()
    assert run.status == "done", log
    assert VeeRunChunk.objects.filter(run=run).exclude(status="done").count() == 0
    # What a run never killed gives: each channel-day validated, estimated and changed once.
    assert (run.progress_done, run.channel_days_validated, run.channel_days_changed, run.intervals_estimated) == (
        N, N, N, N)
    assert run.findings_count == VeeFinding.objects.filter(vee_run=run).count()
    per_day = VeeFinding.objects.values("channel_id", "local_date", "rule").annotate(n=Count("id"))
    assert all(row["n"] == 1 for row in per_day) and len(per_day) == run.findings_count
    assert run.worklist_items == VeeWorklistItem.objects.count()
    items = VeeWorklistItem.objects.values("channel_id", "local_date", "rule").annotate(n=Count("id"))
    assert all(row["n"] == 1 for row in items)
    assert sorted(IntervalDay.objects.values_list("channel_id", "version", "vee_run_id")) == sorted(
        (c.pk, 2, run.pk) for c in channels)
    versions = IntervalDayVersion.objects.values("channel_id", "local_date").annotate(n=Count("id"))
    assert sorted((row["channel_id"], row["n"]) for row in versions) == sorted((c.pk, 1) for c in channels)
