"""The VEE task family on a real Celery worker (tests/celery_helpers): a run's chunk tasks fill
gaps on the worker, a chunk already done in-process is not queued again (resume), and a
finished import queues VEE over the days it loaded."""
from __future__ import annotations

import datetime as dt
import math
import time

import numpy as np
import pytest

from mdm import importing
from mdm.flags import Flag
from mdm.models import IntervalDay, VeeRuleSet, VeeRuleSetAssignment, VeeRun, VeeRunChunk
from mdm.services import StagedDay, interval_days_merge
from mdm.tasks import import_file_task, vee_run_task
from mdm.tests.factories import ChannelFactory, MeterFactory
from mdm.services import vee_run_chunk_process, vee_run_create
from tests.celery_helpers import celery_worker  # noqa: F401  (pytest fixture)

NOW = dt.datetime(2026, 6, 20, 12, 0, tzinfo=dt.timezone.utc)
DAY = dt.date(2026, 6, 10)
LINEAR_ONLY = {"validations": [{"kind": "gaps"}], "estimations": [{"kind": "linear", "max_gap_minutes": 180}]}


@pytest.fixture
def rules():
    # A transactional test starts without the migration's seed (an earlier flush removed it).
    VeeRuleSetAssignment.objects.all().delete()
    rs = VeeRuleSet.objects.create(name="linear only", rules=LINEAR_ONLY)
    VeeRuleSetAssignment.objects.create(rule_set=rs, scope="default", start_date=dt.date(2020, 1, 1))
    return rs


@pytest.fixture
def shared_media(settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = tmp_path
    monkeypatch.setenv("UTILIS_MEDIA_ROOT", str(tmp_path))


@pytest.fixture
def worker(shared_media, celery_worker):  # noqa: F811
    return celery_worker


def wait_for(run_lookup, worker, timeout=60):
    deadline = time.monotonic() + timeout
    run = None
    while time.monotonic() < deadline and worker.is_running():
        run = run_lookup()
        if run is not None and run.status in ("done", "failed"):
            return run
        time.sleep(0.3)
    raise AssertionError(f"run not finished: {run and run.status}\n{worker.logs()[-3000:]}")


def test_chunk_tasks_fill_gaps_on_a_worker_and_skip_a_chunk_already_done(worker, rules):
    channels = [ChannelFactory(interval_minutes=60) for _ in range(3)]
    for n, ch in enumerate(channels):
        values = np.full(24, float(n + 1))
        values[12] = math.nan  # one missing hour between two equal neighbours
        interval_days_merge(days=[StagedDay(ch.pk, DAY, 60, values, np.where(np.isnan(values), 1, 0).astype(np.int16))],
                            now=NOW)
    run = vee_run_create(channel_ids=[c.pk for c in channels], start_date=DAY, end_date=DAY + dt.timedelta(days=1),
                         scope="worker test", now=NOW, chunk_size=1)
    # Chunk 0 done here first, as if a worker had finished it before dying.
    assert vee_run_chunk_process(vee_run_id=run.pk, chunk=0, now=NOW)

    assert vee_run_task.delay(vee_run_id=run.pk).get(timeout=60) == 2
    run = wait_for(lambda: VeeRun.objects.get(pk=run.pk), worker)

    assert run.status == "done", run.error
    assert (run.progress_done, run.progress_total, run.channel_days_changed, run.intervals_estimated) == (3, 3, 3, 3)
    assert VeeRunChunk.objects.filter(run=run, status="done").count() == 3
    for n, ch in enumerate(channels):
        row = IntervalDay.objects.get(channel_id=ch.pk, local_date=DAY)
        assert (row.values[12], row.flags[12], row.version, row.vee_run_id) == (n + 1.0, Flag.ESTIMATED_LINEAR, 2, run.pk)


def test_a_finished_import_queues_vee_over_what_it_loaded(worker, rules):
    channel = ChannelFactory(meter=MeterFactory(serial_number="V1"), interval_minutes=60)
    # Local hours 0..23 of June 10 (EDT) end at 05:00Z .. 04:00Z next day; hour 12 is absent.
    hours = [h for h in range(24) if h != 12]
    rows = "".join(
        f"V1,kWh,delivered,60,{(dt.datetime(2026, 6, 10, 5, tzinfo=dt.timezone.utc) + dt.timedelta(hours=h)):%Y-%m-%dT%H:%M:%SZ},2.0\n"
        for h in hours
    )
    content = ("meter_serial,unit,direction,interval_minutes,interval_end,value\n" + rows).encode()
    run = importing.import_run_create(content=content, file_name="day.csv", format="csv", now=NOW)

    import_file_task.delay(import_run_id=run.pk).get(timeout=60)
    vee = wait_for(lambda: VeeRun.objects.filter(scope=f"import {run.pk}").first(), worker)

    assert vee.status == "done", vee.error
    assert (vee.start_date, vee.end_date, list(vee.channel_ids)) == (DAY, DAY + dt.timedelta(days=1), [channel.pk])
    row = IntervalDay.objects.get(channel_id=channel.pk, local_date=DAY)
    assert (row.values[12], row.flags[12], row.vee_run_id) == (2.0, Flag.ESTIMATED_LINEAR, vee.pk)
