"""core.clock: today in the utility's zone (not the UTC date), and its statutory holidays."""
from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from core import clock

pytestmark = pytest.mark.django_db

UTC = dt.timezone.utc


@pytest.fixture
def now_is(monkeypatch):
    """Set the instant django.utils.timezone.now() returns (the clock utility_today reads)."""

    def set_now(instant: dt.datetime) -> None:
        monkeypatch.setattr(timezone, "now", lambda: instant)

    return set_now


@pytest.mark.parametrize(("instant", "expected"), [
    # Toronto is UTC-4 in summer time (from 8 March 2026): 02:30 UTC on the 16th is still the 15th.
    (dt.datetime(2026, 3, 16, 2, 30, tzinfo=UTC), dt.date(2026, 3, 15)),
    (dt.datetime(2026, 3, 16, 3, 59, tzinfo=UTC), dt.date(2026, 3, 15)),
    (dt.datetime(2026, 3, 16, 4, 0, tzinfo=UTC), dt.date(2026, 3, 16)),
    # UTC-5 in winter: the local day starts at 05:00 UTC.
    (dt.datetime(2026, 1, 1, 4, 59, tzinfo=UTC), dt.date(2025, 12, 31)),
    (dt.datetime(2026, 1, 1, 5, 0, tzinfo=UTC), dt.date(2026, 1, 1)),
])
def test_utility_today_is_the_local_date_across_utc_midnight(settings, now_is, instant, expected):
    # (timezone.localdate() with TIME_ZONE = UTC would give instant.date() for the first and fourth.)
    settings.UTILIS_LOCAL_TIME_ZONE = "America/Toronto"
    now_is(instant)
    assert str(clock.utility_zone()) == "America/Toronto"
    assert clock.utility_today() == expected


def test_utility_today_follows_the_setting_east_of_utc(settings, now_is):
    settings.UTILIS_LOCAL_TIME_ZONE = "Asia/Tokyo"
    now_is(dt.datetime(2026, 3, 15, 15, 30, tzinfo=UTC))  # 00:30 on the 16th in Tokyo
    assert str(clock.utility_zone()) == "Asia/Tokyo"
    assert clock.utility_today() == dt.date(2026, 3, 16)


def test_holiday_calendar_of_ontario_has_the_provincial_days():
    ontario = clock.holiday_calendar("CA", "ON", [2026])
    canada = clock.holiday_calendar("CA", None, [2026])
    assert {dt.date(2026, 1, 1), dt.date(2026, 7, 1), dt.date(2026, 12, 25)} <= canada
    assert dt.date(2026, 2, 16) in ontario and dt.date(2026, 2, 16) not in canada  # Family Day
    assert dt.date(2026, 12, 26) in ontario  # Boxing Day
    assert canada <= ontario
    assert dt.date(2026, 3, 16) not in ontario
    assert all(d.year == 2026 for d in ontario)


def test_holiday_calendar_takes_years_in_any_order_and_repeats():
    assert clock.holiday_calendar("CA", "ON", [2027, 2026, 2026]) == clock.holiday_calendar("CA", "ON", range(2026, 2028))
    assert isinstance(clock.holiday_calendar("CA", "ON", [2026]), frozenset)
    assert clock.holiday_calendar("CA", "", [2026]) == clock.holiday_calendar("CA", None, [2026])


def test_utility_holidays_cover_every_year_of_the_span_from_the_settings(settings):
    settings.UTILIS_HOLIDAY_COUNTRY, settings.UTILIS_HOLIDAY_SUBDIVISION = "CA", "ON"
    span = clock.utility_holidays(dt.date(2025, 12, 15), dt.date(2026, 1, 15))
    assert {dt.date(2025, 12, 25), dt.date(2025, 12, 26), dt.date(2026, 1, 1), dt.date(2026, 2, 16)} <= span
    assert span == clock.holiday_calendar("CA", "ON", [2025, 2026])
    settings.UTILIS_HOLIDAY_SUBDIVISION = ""
    national = clock.utility_holidays(dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    assert dt.date(2026, 2, 16) not in national and dt.date(2026, 7, 1) in national
    settings.UTILIS_HOLIDAY_COUNTRY, settings.UTILIS_HOLIDAY_SUBDIVISION = "US", ""
    assert dt.date(2026, 7, 4) in clock.utility_holidays(dt.date(2026, 7, 1), dt.date(2026, 7, 31))
