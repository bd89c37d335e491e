"""The demo's background preparation (demo.preparation): what `bin/utilis start` leaves until the
web app is up, its resumption after an interruption, and its status on the hubs."""
from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.utils import timezone

from cis.selectors import service_points_for_metering
from cis.tests.factories import ServicePointFactory
from config.celery import app as celery_app
from conftest import PASSWORD
from core.background import preparation_steps
from core.roles import Role
from demo import preparation
from demo.meters import demo_fleet_seed
from demo.models import DemoPreparation
from demo.preparation import demo_bill_run_target, demo_prepare, demo_preparation_record
from mdm.models import ImportRun, Installation, IntervalDay, VeeRun

END = dt.date(2026, 11, 4)
DAYS = 3


@pytest.fixture
def eager(settings):
    """Celery tasks run in-process (the app has read its configuration already: set both)."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    before = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = before


@pytest.fixture
def recorded(transactional_db, settings, tmp_path, eager):
    """The blocking part of a start: service points, their meters, the AMI period recorded."""
    settings.MEDIA_ROOT = tmp_path
    settings.UTILIS_LOCAL_TIME_ZONE = "America/Toronto"
    for commodity, rate_class in [("electric", "residential")] * 6 + [("electric", "commercial"),
                                                                      ("water", "residential"), ("gas", "residential")]:
        ServicePointFactory(commodity=commodity, rate_class=rate_class)
    positions = demo_fleet_seed(end_date=END, days=DAYS, seed=5)
    return demo_preparation_record(positions=positions, end_date=END, days=DAYS, seed=5, now=timezone.now())


def _prepare(**kwargs):
    lines: list[str] = []
    prep = demo_prepare(now_fn=timezone.now, today=END, workers=0, poll_seconds=0.01, timeout_seconds=30,
                        log=lines.append, **kwargs)
    return prep, lines


def test_the_start_leaves_the_ami_days_to_the_background_and_the_hubs_say_so(recorded, client, make_user):
    assert IntervalDay.objects.count() == 0 and ImportRun.objects.count() == 0
    steps = {step.label: step.detail for step in preparation_steps()}
    assert steps == {"demo AMI data": "0 of 3 days imported", "VEE runs": "0 of 3 days validated",
                     "bill run": "C03 for 2026-11-03: starts once the data is validated"}
    user = make_user("csr9", Role.CSR)
    client.login(username=user.username, password=PASSWORD)
    page = client.get("/hub/").content.decode()
    assert 'data-testid="preparation-status"' in page and "demo AMI data: 0 of 3 days imported" in page


def test_prepare_imports_every_day_validates_each_and_then_finishes(recorded, client, make_user):
    prep, lines = _prepare()
    assert prep.finished_at is not None and prep.ami_days_done == DAYS
    days = set(IntervalDay.objects.values_list("local_date", flat=True))
    assert days == {END - dt.timedelta(days=n) for n in range(1, DAYS + 1)}
    # one VEE run per day, queued by the preparation (not one per file by the import), all done
    runs = VeeRun.objects.order_by("start_date")
    assert [(r.start_date, r.end_date, r.status) for r in runs] == [
        (END - dt.timedelta(days=n), END - dt.timedelta(days=n - 1), "done") for n in range(DAYS, 0, -1)]
    assert sorted(prep.vee_run_ids) == sorted(runs.values_list("pk", flat=True))
    # no bill cycle in this utility: said, not hidden, and the preparation still ends
    assert any("bill run C03 on 2026-11-03 not started" in line for line in lines)
    assert preparation_steps() == []
    user = make_user("csr9", Role.CSR)
    client.login(username=user.username, password=PASSWORD)
    assert 'data-testid="preparation-status"' not in client.get("/hub/").content.decode()


def test_an_interrupted_preparation_is_finished_by_the_next_start_without_doing_anything_twice(recorded):
    real_submit = preparation.vee_run_submit
    calls = []

    def stop_on_the_second_day(**kwargs):
        calls.append(kwargs["start_date"])
        if len(calls) == 3:
            raise KeyboardInterrupt  # Ctrl-C while the third day is handed to VEE
        return real_submit(**kwargs)

    with mock.patch.object(preparation, "vee_run_submit", side_effect=stop_on_the_second_day), \
            pytest.raises(KeyboardInterrupt):
        _prepare()
    prep = DemoPreparation.objects.get()
    assert prep.ami_days_done == 2 and len(prep.vee_run_ids) == 2 and prep.finished_at is None
    assert {s.label: s.detail for s in preparation_steps()}["demo AMI data"] == "2 of 3 days imported"
    # the plan's one exchange is on the second day: recorded before the interruption
    exchanged = Installation.objects.filter(removed_at__isnull=False).count()
    assert exchanged == 1

    prep, _ = _prepare()
    assert prep.finished_at is not None and prep.ami_days_done == DAYS
    # each day's files were imported once (the second start found the first days' as duplicates)
    assert ImportRun.objects.filter(duplicate_of__isnull=True).count() == 2 * DAYS
    assert VeeRun.objects.count() == DAYS and len(prep.vee_run_ids) == DAYS
    assert Installation.objects.filter(removed_at__isnull=False).count() == exchanged
    assert set(IntervalDay.objects.values_list("local_date", flat=True)) == {
        END - dt.timedelta(days=n) for n in range(1, DAYS + 1)}
    assert service_points_for_metering()  # the plan's service points are still there


@pytest.mark.parametrize(("today", "cycle", "bill_date"), [
    (dt.date(2026, 12, 1), "C20", dt.date(2026, 11, 20)),   # the 1st: last month's last cycle
    (dt.date(2026, 12, 15), "C14", dt.date(2026, 12, 14)),
    (dt.date(2026, 12, 21), "C20", dt.date(2026, 12, 20)),
    (dt.date(2026, 12, 31), "C20", dt.date(2026, 12, 20)),
    (dt.date(2027, 1, 1), "C20", dt.date(2026, 12, 20)),
])
def test_the_bill_run_is_the_latest_cycle_whose_bill_date_has_passed(today, cycle, bill_date):
    assert demo_bill_run_target(today=today) == (cycle, bill_date)


@pytest.mark.django_db
def test_a_demo_seeded_in_one_go_gets_only_the_bill_run_of_each_start():
    lines: list[str] = []
    prep = demo_prepare(now_fn=timezone.now, today=dt.date(2026, 12, 1), workers=0, poll_seconds=0.01,
                        timeout_seconds=5, log=lines.append)
    assert (prep.ami_days, prep.bill_cycle_code, prep.bill_date) == (0, "C20", dt.date(2026, 11, 20))
    assert prep.finished_at is not None and ImportRun.objects.count() == 0
    assert any("bill run C20 on 2026-11-20 not started: No bill cycle C20." in line for line in lines)
