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
from django.urls import reverse

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


# ---- usage compared with last year and with similar premises --------------------------------

def _electric(customer=None, *, since: dt.date, rate_class: str = "residential", per_hour: float = 1.0,
              days: list[tuple[dt.date, int]] = ()):
    """A residential electric service point (on the customer's account, else a neighbour's)
    with an hourly kWh meter and `per_hour` kWh each hour of the given (first day, days) spans."""
    sp = ServicePointFactory(premise=PremiseFactory(), rate_class=rate_class)
    if customer is not None:
        ServiceAgreementFactory(account=customer.account, service_point=sp, start_date=since)
    else:
        ServiceAgreementFactory(service_point=sp, start_date=since)
    meter = MeterFactory()
    Installation.objects.create(meter=meter, service_point=sp, commodity="electric",
                                installed_at=dt.datetime(2024, 1, 1, 5, tzinfo=dt.timezone.utc))
    channel = Channel.objects.create(meter=meter, channel_number=1, unit="kWh", direction="delivered",
                                     interval_minutes=60)
    for first, n in days:
        _days(channel, first, [[per_hour] * 24] * n)
    return sp


def _compare(client, customer, query: str):
    return client.get(reverse("portal:usage-compare", args=[customer.account.account_number]) + query)


def test_compare_says_when_there_is_no_usage_last_year_and_never_shows_the_previous_occupants(
        client, alice, portal_user):
    client.force_login(portal_user(alice))
    page = _compare(client, alice, "?start=2026-02-01&end=2026-02-28&by=month")
    assert page.status_code == 200
    text = page.content.decode()
    assert "We have no usage of yours for these days last year" in text
    assert "Not enough premises like yours" in text  # Alice and Bob are not 10 premises
    assert "2026-02" in text and 'class="usage-chart__lastyear"' not in text


def test_compare_sets_these_days_beside_last_year_and_the_similar_premises_average(client, bob, portal_user):
    from mdm.services import usage_class_days_refresh

    # Bob has a second home, served since 2025, 1 kWh an hour in February 2025 and 2 in 2026.
    sp = _electric(bob, since=dt.date(2025, 1, 1), days=[(dt.date(2025, 2, 1), 28)])
    channel = Channel.objects.get(meter__installations__service_point=sp)
    _days(channel, dt.date(2026, 2, 1), [[2.0] * 24] * 28)
    # Ten neighbours of the same rate class use 3 kWh an hour (an eleventh of another class does not count).
    for _ in range(10):
        _electric(since=dt.date(2025, 1, 1), per_hour=3.0, days=[(dt.date(2026, 2, 1), 28)])
    _electric(since=dt.date(2025, 1, 1), per_hour=30.0, rate_class="commercial", days=[(dt.date(2026, 2, 1), 28)])
    usage_class_days_refresh(start_date=dt.date(2026, 2, 1), end_date=dt.date(2026, 3, 1), tz=TZ, now=NOW)

    client.force_login(portal_user(bob, "bob@example.test"))
    text = _compare(client, bob, "?start=2026-02-01&end=2026-02-28&by=month").content.decode()
    # These days 1,344 kWh (48 a day), last year 672. The similar premises: the ten neighbours
    # at 72 kWh a day and Bob's own two homes at 48: 68 a day on average, 1,904 in February.
    assert "These days: 1,344 kWh" in text and "Same days last year: 672 kWh" in text
    assert "The average similar premise, these days: 1,904 kWh" in text
    assert 'class="usage-chart__lastyear"' in text and 'class="usage-chart__similar"' in text
    # By day: each day beside the same date last year.
    by_day = _compare(client, bob, "?start=2026-02-10&end=2026-02-11&by=day").content.decode()
    assert "<td>2026-02-10</td><td class=\"num\">48 kWh</td><td class=\"num\">0 kWh</td><td class=\"num\">24 kWh</td>" \
           "<td class=\"num\">68 kWh</td>" in by_day


def test_a_similar_premises_group_below_ten_is_not_shown(client, bob, portal_user):
    from mdm.services import usage_class_days_refresh

    _electric(bob, since=dt.date(2025, 1, 1), days=[(dt.date(2026, 2, 1), 28)])
    for _ in range(7):  # with Bob's two service points: 9 premises
        _electric(since=dt.date(2025, 1, 1), per_hour=3.0, days=[(dt.date(2026, 2, 1), 28)])
    usage_class_days_refresh(start_date=dt.date(2026, 2, 1), end_date=dt.date(2026, 3, 1), tz=TZ, now=NOW)
    client.force_login(portal_user(bob, "bob@example.test"))
    text = _compare(client, bob, "?start=2026-02-01&end=2026-02-28&by=month").content.decode()
    assert "Not enough premises like yours" in text and 'class="usage-chart__similar"' not in text


def test_compare_refuses_bad_ranges_and_hourly_totals(client, alice, portal_user):
    client.force_login(portal_user(alice))
    assert _compare(client, alice, "?start=2026-02-28&end=2026-02-01&by=day").status_code == 400
    assert _compare(client, alice, "?start=2026-02-01&end=2026-02-02&by=hour").status_code == 400
    assert _compare(client, alice, "?start=nonsense&end=2026-02-02&by=day").status_code == 400
    assert _compare(client, alice, "").status_code == 200  # the last 12 months by default


# ---- rate comparison ------------------------------------------------------------------------

@pytest.fixture
def rates():
    from billing.services.rates import rate_schedule_create, rate_version_add

    fixed = {"kind": "fixed", "code": "customer", "params": {"amount": "10.00"}, "description": "Customer charge"}
    for code, name, price, rate_class in (("RES-TOU", "Residential time of use", "0.10", "residential"),
                                          ("RES-FLAT", "Residential flat", "0.08", "residential"),
                                          ("GS-1", "General service", "0.01", "commercial")):
        schedule = rate_schedule_create(code=code, name=name, rate_class=rate_class)
        rate_version_add(schedule=schedule, start_date=dt.date(2020, 1, 1), components=[
            fixed, {"kind": "flat", "code": "energy", "params": {"price": price}, "description": "Delivery charge"}])


def test_the_rate_page_prices_the_customers_year_on_each_eligible_rate(client, alice, portal_user, rates,
                                                                       monkeypatch, django_assert_max_num_queries):
    from django.core.cache import cache

    cache.clear()
    monkeypatch.setattr("portal.insights_views.utility_today", lambda: dt.date(2026, 3, 10))
    client.force_login(portal_user(alice))
    url = reverse("portal:rate-compare", args=[alice.account.account_number])
    page = client.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    # February 2026, Alice's one complete month: 672 kWh (the first 13 days estimated, as billed).
    assert "Feb 1 – Feb 28, 2026: you used 672 kWh." in text
    assert "Residential time of use" in text and "Your rate" in text and "General service" not in text
    assert "$77.20" in text and "$63.76" in text  # $10 + 672 x 0.10; $10 + 672 x 0.08
    assert "$13.44 less" in text
    assert "How Residential flat was worked out" in text and "672 kWh" in text
    # The second look is the cache's: no pricing again.
    with django_assert_max_num_queries(12):
        assert client.get(url).status_code == 200


def test_the_rate_page_says_when_there_is_nothing_to_compare(client, alice, portal_user, monkeypatch):
    from django.core.cache import cache

    cache.clear()
    monkeypatch.setattr("portal.insights_views.utility_today", lambda: dt.date(2026, 2, 10))
    client.force_login(portal_user(alice))
    text = client.get(reverse("portal:rate-compare", args=[alice.account.account_number])).content.decode()
    assert "There is no complete month of your usage to compare yet." in text
