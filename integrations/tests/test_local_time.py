"""Wall-clock to UTC around DST, the one rule every parser uses."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from integrations.local_time import NonexistentLocalTime, local_to_utc

UTC = dt.timezone.utc
CHICAGO = ZoneInfo("America/Chicago")


def test_ordinary_wall_time():
    assert local_to_utc(dt.datetime(2026, 7, 1, 12, 0), CHICAGO) == dt.datetime(2026, 7, 1, 17, 0, tzinfo=UTC)


def test_repeated_hour_is_daylight_time_first():
    assert local_to_utc(dt.datetime(2026, 11, 1, 1, 30), CHICAGO) == dt.datetime(2026, 11, 1, 6, 30, tzinfo=UTC)


def test_repeated_hour_is_standard_time_once_the_series_has_passed_the_daylight_one():
    after = dt.datetime(2026, 11, 1, 6, 45, tzinfo=UTC)  # 01:45 CDT
    assert local_to_utc(dt.datetime(2026, 11, 1, 1, 30), CHICAGO, after=after) == dt.datetime(
        2026, 11, 1, 7, 30, tzinfo=UTC
    )


def test_an_earlier_series_instant_keeps_the_daylight_reading():
    after = dt.datetime(2026, 11, 1, 6, 15, tzinfo=UTC)  # 01:15 CDT
    assert local_to_utc(dt.datetime(2026, 11, 1, 1, 30), CHICAGO, after=after) == dt.datetime(
        2026, 11, 1, 6, 30, tzinfo=UTC
    )


def test_skipped_hour_does_not_exist():
    with pytest.raises(NonexistentLocalTime):
        local_to_utc(dt.datetime(2026, 3, 8, 2, 30), CHICAGO)


def test_fixed_offset_has_no_dst():
    cst = dt.timezone(dt.timedelta(hours=-6))
    assert local_to_utc(dt.datetime(2026, 3, 8, 2, 30), cst) == dt.datetime(2026, 3, 8, 8, 30, tzinfo=UTC)
