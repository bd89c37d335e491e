"""Issue 11's insights: the possible-water-leak alert (continuous flow for 24 hours, mailed once
per episode through a real SMTP server), usage compared with last year and with similar
premises, and the rate comparison."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from cis.tests.factories import PremiseFactory, ServiceAgreementFactory, ServicePointFactory
from mdm import services as mdm_services
from mdm.flags import Flag
from mdm.models import Channel, Installation
from mdm.services import StagedDay
from mdm.tests.factories import MeterFactory
from portal.alerts import FlowRun, alert_preferences_set, alerts_send_for_link, flow_runs
from portal.models import AccountLink, AlertDelivery
from portal.tests.conftest import NOW, TZ
from portal.usage import UsageSeries

pytestmark = pytest.mark.django_db


def _water(customer, *, interval_minutes: int = 60) -> Channel:
    """A water service point on the customer's account with an hourly m3 meter."""
    sp = ServicePointFactory(premise=PremiseFactory(), commodity="water")
    ServiceAgreementFactory(account=customer.account, service_point=sp, start_date=dt.date(2026, 1, 1),
                            rate_code="WATER-RES")
    meter = MeterFactory()
    Installation.objects.create(meter=meter, service_point=sp, commodity="water",
                                installed_at=dt.datetime(2025, 12, 1, 5, tzinfo=dt.timezone.utc))
    return Channel.objects.create(meter=meter, channel_number=1, unit="m3", direction="delivered",
                                  interval_minutes=interval_minutes)


def _days(channel: Channel, start: dt.date, rows: list[list[float]], flags: list[int] | None = None) -> None:
    staged = []
    for i, values in enumerate(rows):
        flag = np.full(len(values), int(Flag.ACTUAL), dtype=np.int16)
        if flags is not None:
            flag[:] = flags[i]
        staged.append(StagedDay(channel.pk, start + dt.timedelta(days=i), channel.interval_minutes,
                                np.array(values, dtype=float), flag))
    mdm_services.interval_days_merge(days=staged, now=NOW)


NIGHT_OFF = [0.0] * 6 + [0.05] * 18  # a household: nothing from midnight to six, then some use
ALWAYS_ON = [0.02] * 24  # a running toilet: never zero


def _series(values, *, estimated=None, gap_at=None) -> UsageSeries:
    s = UsageSeries(1, "SP1", "1 Main St (water)", "water", "m3", "delivered", 60)
    starts = np.arange(len(values), dtype=np.int64) * 3600
    if gap_at is not None:
        starts[gap_at:] += 3600  # one interval missing
    s.start_s, s.values = starts, np.array(values, dtype=float)
    s.local_day = np.zeros(len(values), dtype=np.int64)
    s.estimated = np.zeros(len(values), dtype=bool) if estimated is None else np.array(estimated)
    return s


def test_flow_runs_are_split_by_a_zero_a_gap_or_an_estimate():
    assert flow_runs(_series([1, 1, 0, 1])) == [FlowRun(0, 7200), FlowRun(3 * 3600, 4 * 3600)]
    assert flow_runs(_series([1, 1, 1, 1], gap_at=2)) == [FlowRun(0, 7200), FlowRun(3 * 3600, 5 * 3600)]
    assert flow_runs(_series([1, 1, 1], estimated=[False, True, False])) == [FlowRun(0, 3600), FlowRun(7200, 10800)]
    assert flow_runs(_series([0, 0])) == []


def _send(link, now):
    return alerts_send_for_link(link_id=link.pk, now=now, today=now.astimezone(TZ).date(), tz=TZ)


def test_a_possible_leak_is_mailed_once_per_episode(smtp, alice, portal_user):
    link = AccountLink.objects.get(user=portal_user(alice))
    alert_preferences_set(link=link, chosen={"water_leak": None}, now=NOW)
    water = _water(alice)
    # Normal days (water off at night), then from March 3 the flow never stops.
    _days(water, dt.date(2026, 2, 28), [NIGHT_OFF] * 3 + [ALWAYS_ON] * 2)
    sp = water.meter.installations.get().service_point

    # From March 2 06:00 (the normal day's use runs on into the night) to the end of March 4.
    now = dt.datetime(2026, 3, 4, 11, tzinfo=dt.timezone.utc)
    assert _send(link, now) == 1
    message = smtp.messages[-1]
    assert "possible water leak" in message["Subject"]
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "since 2026-03-02 06:00 EST" in body and "(66 hours)" in body
    key = AlertDelivery.objects.get(link=link).event_key
    assert key == f"leak:{sp.sp_number}:m3:20260302T1100Z"

    # The episode goes on: the same event, not a second mail, however often the job runs.
    _days(water, dt.date(2026, 3, 5), [ALWAYS_ON] * 2)
    assert _send(link, now + dt.timedelta(hours=30)) == 0
    assert _send(link, now + dt.timedelta(days=10)) == 0  # its start is now before the first look-back
    assert len(smtp.messages) == 1

    # The water stops for an hour, then runs again for a day: a new episode, a new alert.
    _days(water, dt.date(2026, 3, 7), [[0.0] + [0.02] * 23, ALWAYS_ON])
    assert _send(link, dt.datetime(2026, 3, 9, 11, tzinfo=dt.timezone.utc)) == 1
    assert AlertDelivery.objects.filter(link=link, kind="water_leak").count() == 2


def test_no_leak_alert_for_ordinary_use_estimates_electricity_or_when_not_chosen(smtp, alice, portal_user):
    link = AccountLink.objects.get(user=portal_user(alice))
    water = _water(alice)
    now = dt.datetime(2026, 3, 6, 11, tzinfo=dt.timezone.utc)
    _days(water, dt.date(2026, 3, 1), [ALWAYS_ON] * 3)
    assert _send(link, now) == 0  # not chosen
    alert_preferences_set(link=link, chosen={"water_leak": None}, now=NOW)
    AlertDelivery.objects.all().delete()
    _days(water, dt.date(2026, 3, 1), [NIGHT_OFF] * 3)
    _days(water, dt.date(2026, 3, 4), [ALWAYS_ON] * 2, flags=[int(Flag.ESTIMATED_LIKE_DAY)] * 2)
    # Alice's electricity flows all day every day (1 kWh an hour): it is not water.
    assert _send(link, now) == 0
    assert smtp.messages == []
