"""Local-day slot arithmetic around DST in America/Toronto (EST -5 / EDT -4)."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from mdm import timeutil

TZ = "America/Toronto"
UTC = dt.timezone.utc
SPRING = dt.date(2026, 3, 8)  # 02:00 EST jumps to 03:00 EDT
FALL = dt.date(2026, 11, 1)  # 02:00 EDT falls back to 01:00 EST


@pytest.mark.parametrize(
    ("day", "interval", "slots"),
    [
        (dt.date(2026, 3, 7), 15, 96),
        (SPRING, 15, 92),  # 23 h x 4
        (FALL, 15, 100),  # 25 h x 4
        (SPRING, 5, 276),  # 23 h x 12
        (FALL, 60, 25),
    ],
)
def test_slots_in_day_follow_the_local_day_length(day, interval, slots):
    assert timeutil.slots_in_day(day, TZ, interval) == slots


def test_slot_start_is_elapsed_time_from_local_midnight_in_utc():
    # Local midnight of 8 March is still EST: 00:00-05:00 = 05:00 UTC.
    assert timeutil.day_start_utc(SPRING, TZ) == dt.datetime(2026, 3, 8, 5, tzinfo=UTC)
    # Slot 8 starts 2 h later, 07:00 UTC, which is 03:00 EDT on the wall.
    assert timeutil.slot_start_utc(SPRING, TZ, 15, 8) == dt.datetime(2026, 3, 8, 7, tzinfo=UTC)
    # 1 November starts in EDT: 04:00 UTC; slot 99 is 24 h 45 min later.
    assert timeutil.slot_start_utc(FALL, TZ, 15, 99) == dt.datetime(2026, 11, 2, 4, 45, tzinfo=UTC)


def test_spring_day_clock_skips_two_oclock():
    layout = timeutil.day_layout(SPRING, TZ, 15)
    # Slots 0-7 are 00:00-01:45; slot 8 is already 03:00 on the wall.
    assert list(layout.clock_minute[6:10]) == [90, 105, 180, 195]
    assert 8 not in layout.clock_slot and 11 not in layout.clock_slot  # 02:00..02:45 never happen
    assert layout.clock_slot[-1] == 95  # the day still ends at 23:45


def test_fall_day_clock_repeats_one_oclock():
    layout = timeutil.day_layout(FALL, TZ, 15)
    # Slots 4-7 are 01:00-01:45 EDT, slots 8-11 the same wall times again in EST.
    assert list(layout.clock_slot[4:12]) == [4, 5, 6, 7, 4, 5, 6, 7]
    assert list(layout.clock_hour[:14]) == [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2]
    assert layout.clock_slot[-1] == 95


def test_slot_starts_utc_array_matches_scalar_function():
    layout = timeutil.day_layout(FALL, TZ, 15)
    starts = layout.slot_starts_utc
    assert len(starts) == 100
    assert starts[8].astype(dt.datetime).replace(tzinfo=UTC) == timeutil.slot_start_utc(FALL, TZ, 15, 8)


def test_day_types_treat_holidays_as_sundays():
    canada_day = dt.date(2026, 7, 1)  # a Wednesday
    days = np.array(["2026-06-30", "2026-07-01", "2026-07-04", "2026-07-05"], dtype="datetime64[D]")
    assert list(timeutil.day_types(days, {canada_day})) == [
        timeutil.DayType.WEEKDAY,
        timeutil.DayType.SUNDAY_HOLIDAY,
        timeutil.DayType.SATURDAY,
        timeutil.DayType.SUNDAY_HOLIDAY,
    ]
    assert timeutil.day_type(canada_day, {canada_day}) is timeutil.DayType.SUNDAY_HOLIDAY
    assert timeutil.day_type(canada_day, set()) is timeutil.DayType.WEEKDAY


def test_ontario_holiday_calendar_has_canada_day_and_christmas_but_not_st_jean():
    cal = timeutil.holiday_calendar("CA", "ON", [2026])
    assert dt.date(2026, 7, 1) in cal
    assert dt.date(2026, 12, 25) in cal
    assert dt.date(2026, 6, 24) not in cal  # a Quebec holiday only


def _grid(peak_hours, peak=1, off=0):
    row = tuple(peak if h in peak_hours else off for h in range(24))
    return tuple(row for _ in range(12))


def test_tou_periods_use_local_clock_hour_and_weekend_grid_on_holidays():
    grid = timeutil.TouGrid(weekday=_grid(range(7, 19)), weekend=_grid(()))
    wed = timeutil.tou_periods_for_day(dt.date(2026, 6, 24), TZ, 15, grid, set())
    assert wed[27] == 0 and wed[28] == 1 and wed[75] == 1 and wed[76] == 0  # 06:45 off, 07:00 .. 18:45 on
    canada_day = timeutil.tou_periods_for_day(dt.date(2026, 7, 1), TZ, 15, grid, {dt.date(2026, 7, 1)})
    assert not canada_day.any()


def test_tou_periods_on_dst_days_follow_the_wall_clock():
    # Period 1 only in the 01:00 and 03:00 hours, by month row as well.
    grid = timeutil.TouGrid(weekday=_grid({1, 3}), weekend=_grid({1, 3}))
    spring = timeutil.tou_periods_for_day(SPRING, TZ, 15, grid, set())
    # 01:00-01:45 are slots 4-7; 03:00-03:45 are slots 8-11 (no 02:00 hour): 8 slots in period 1.
    assert np.nonzero(spring)[0].tolist() == list(range(4, 12))
    fall = timeutil.tou_periods_for_day(FALL, TZ, 15, grid, set())
    # 01:00 happens twice (slots 4-11); 03:00 is slots 16-19: 12 slots.
    assert np.nonzero(fall)[0].tolist() == list(range(4, 12)) + list(range(16, 20))


def test_tou_grid_must_be_twelve_by_twenty_four():
    with pytest.raises(ValueError):
        timeutil.TouGrid(weekday=((0,) * 24,) * 11, weekend=((0,) * 24,) * 12)
