"""The rate classes' usage per day (the portal's similar premises): one set-based refresh over
the interval store, counting only complete days of service points in service, and an average
that is never shown for fewer than MIN_PREMISES premises."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.utils import timezone

from cis.tests.factories import ServiceAgreementFactory, ServicePointFactory
from mdm import services as mdm_services
from mdm.flags import Flag
from mdm.models import Channel, Installation, UsageClassDay
from mdm.selectors import MIN_PREMISES, usage_class_averages
from mdm.services import StagedDay, usage_class_days_refresh
from mdm.tasks import usage_class_days_refresh_task
from mdm.tests.factories import MeterFactory

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("America/Toronto")
DAY = dt.date(2026, 2, 10)


def _premise(rate_class: str, per_hour: float, *, agreement_start=dt.date(2026, 1, 1), gap=False, days=2):
    sp = ServicePointFactory(rate_class=rate_class)
    ServiceAgreementFactory(service_point=sp, start_date=agreement_start)
    meter = MeterFactory()
    Installation.objects.create(meter=meter, service_point=sp, commodity="electric",
                                installed_at=dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc))
    channel = Channel.objects.create(meter=meter, channel_number=1, unit="kWh", direction="delivered",
                                     interval_minutes=60)
    staged = []
    for i in range(days):
        values, flags = np.full(24, per_hour), np.full(24, int(Flag.ACTUAL), dtype=np.int16)
        if gap and i == 0:
            values[5], flags[5] = np.nan, int(Flag.MISSING)
        staged.append(StagedDay(channel.pk, DAY + dt.timedelta(days=i), 60, values, flags))
    mdm_services.interval_days_merge(days=staged, now=timezone.now())
    return sp


def _refresh():
    return usage_class_days_refresh(start_date=DAY, end_date=DAY + dt.timedelta(days=2), tz=TZ, now=timezone.now())


def test_averages_the_complete_days_of_premises_in_service():
    for i in range(MIN_PREMISES):
        _premise("residential", 1.0 + i % 2)  # half use 24 kWh a day, half 48
    _premise("residential", 9.0, gap=True)  # day 1 incomplete: left out that day only
    _premise("residential", 9.0, agreement_start=DAY + dt.timedelta(days=1))  # vacant on day 1
    assert _refresh() == 2
    averages = usage_class_averages(rate_class="residential", commodity="electric", unit="kWh",
                                    direction="delivered", start_date=DAY, end_date=DAY + dt.timedelta(days=2))
    first, second = averages[DAY], averages[DAY + dt.timedelta(days=1)]
    assert (first.premises, first.average) == (10, 36.0)
    assert (second.premises, second.average) == (12, (5 * 24 + 5 * 48 + 2 * 216) / 12)
    # The same data give the same rows however often the job runs.
    assert _refresh() == 2 and UsageClassDay.objects.count() == 2


def test_a_group_smaller_than_the_minimum_is_never_shown():
    for _ in range(MIN_PREMISES - 1):
        _premise("commercial", 5.0)
    _premise("", 5.0)  # no rate class: in no group
    _refresh()
    assert UsageClassDay.objects.get(rate_class="commercial", local_date=DAY).premises == MIN_PREMISES - 1
    assert usage_class_averages(rate_class="commercial", commodity="electric", unit="kWh", direction="delivered",
                                start_date=DAY, end_date=DAY + dt.timedelta(days=2)) == {}
    assert usage_class_averages(rate_class="commercial", commodity="electric", unit="kWh", direction="delivered",
                                start_date=DAY, end_date=DAY + dt.timedelta(days=2), min_premises=1) == {}
    assert not UsageClassDay.objects.filter(rate_class="").exists()


def test_the_nightly_job_is_scheduled_and_refreshes_the_days_asked_for(settings):
    assert settings.CELERY_BEAT_SCHEDULE["mdm-usage-class-days-refresh"]["task"] == \
        "mdm.tasks.usage_class_days_refresh_task"
    for _ in range(MIN_PREMISES):
        _premise("residential", 1.0)
    assert usage_class_days_refresh_task(start_date=DAY.isoformat(), end_date=(DAY + dt.timedelta(days=1)).isoformat()) == 1
    assert list(UsageClassDay.objects.values_list("local_date", "premises", "total")) == [(DAY, 10, 240.0)]
