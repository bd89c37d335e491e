"""Billing determinants on hand-built periods; every expected number is worked out beside it."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest

from mdm import timeutil
from mdm.determinants import (
    DayRecord,
    DeterminantError,
    MultiplierPeriod,
    Segment,
    Term,
    calculate_determinants,
)
from mdm.flags import Flag

TZ = "America/Toronto"
UTC = dt.timezone.utc
ONE_DAY = dt.timedelta(days=1)
ONTARIO_2026 = timeutil.holiday_calendar("CA", "ON", [2026])


def days_between(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days)]


def records(start: dt.date, end: dt.date, value: float, interval: int = 15) -> list[DayRecord]:
    out = []
    for d in days_between(start, end):
        n = timeutil.slots_in_day(d, TZ, interval)
        out.append(DayRecord(d, np.full(n, value), np.zeros(n, dtype=np.int16)))
    return out


def one_channel(recs, **seg) -> list[Term]:
    return [Term(segments=[Segment(records=recs, **seg)])]


def grid_with(peak_hours, weekend_peak_hours=()) -> timeutil.TouGrid:
    def g(hours):
        return tuple(tuple(1 if h in hours else 0 for h in range(24)) for _ in range(12))

    return timeutil.TouGrid(weekday=g(set(peak_hours)), weekend=g(set(weekend_peak_hours)))


def calc(terms, start, end, **kw):
    kw.setdefault("as_of", end)
    kw.setdefault("interval_minutes", 15)
    return calculate_determinants(terms=terms, period_start=start, period_end=end, tz=TZ, **kw)


def test_total_and_tou_with_canada_day_on_the_weekend_grid():
    start, end = dt.date(2026, 6, 30), dt.date(2026, 7, 2)  # Tuesday and Canada Day
    det = calc(one_channel(records(start, end, 0.25)), start, end, tou=grid_with(range(7, 19)), holidays=ONTARIO_2026)
    # 30 June: on-peak 07:00-18:59 = 48 slots x 0.25 = 12, off-peak 12. 1 July is a holiday:
    # all 96 slots off-peak = 24. Total 48.
    assert det.total == Decimal("48.000000")
    assert det.by_tou == {0: Decimal("36.000000"), 1: Decimal("12.000000")}
    assert det.complete and det.missing_intervals == 0 and det.interval_count == 192


def test_tou_and_hours_on_the_fall_dst_day():
    day = dt.date(2026, 11, 1)
    det = calc(one_channel(records(day, day + ONE_DAY, 0.25)), day, day + ONE_DAY, tou=grid_with({1}, {1}))
    # 25-hour day: 100 x 0.25 = 25. The 01:00 hour happens twice: 8 slots x 0.25 = 2.
    assert det.total == Decimal("25.000000")
    assert det.by_tou == {0: Decimal("23.000000"), 1: Decimal("2.000000")}
    # 25 hourly buckets of 1 kWh; the second and third start at 05:00 and 06:00 UTC
    # (01:00 EDT, then 01:00 EST).
    assert len(det.by_hour) == 25
    assert [h for h, _ in det.by_hour[1:3]] == [dt.datetime(2026, 11, 1, 5, tzinfo=UTC), dt.datetime(2026, 11, 1, 6, tzinfo=UTC)]
    assert {v for _, v in det.by_hour} == {Decimal("1.000000")}


def test_tou_and_intervals_on_the_spring_dst_day():
    day = dt.date(2026, 3, 8)
    det = calc(one_channel(records(day, day + ONE_DAY, 0.25)), day, day + ONE_DAY, tou=grid_with({1, 2}, {1, 2}))
    # 23-hour day: 92 x 0.25 = 23. Hours 01 and 02 are peak, but 02:xx never happens: 4 slots = 1.
    assert det.total == Decimal("23.000000")
    assert det.by_tou[1] == Decimal("1.000000")
    assert len(det.by_interval) == 92
    # Slot 8 starts at 07:00 UTC (03:00 EDT).
    assert det.by_interval[8] == (dt.datetime(2026, 3, 8, 7, tzinfo=UTC), Decimal("0.250000"))


def test_meter_exchange_mid_period_with_a_ct_ratio_change():
    start, end = dt.date(2026, 6, 1), dt.date(2026, 6, 4)
    exchange_at = dt.datetime(2026, 6, 2, 18, tzinfo=UTC)  # 14:00 EDT on 2 June = slot 56
    old = records(start, dt.date(2026, 6, 3), 0.1)
    old[1].values[56:] = 9.99  # what the old meter "read" on the bench after removal: ignored
    new = records(dt.date(2026, 6, 2), end, 0.2)
    new[0].values[:56] = 7.77  # before installation: ignored
    term = Term(
        segments=[
            Segment(records=old, end_at=exchange_at),
            Segment(
                records=new,
                start_at=exchange_at,
                # The new meter's CTs were changed on 3 June: x2 until then, x3 after.
                multipliers=[
                    MultiplierPeriod(dt.date(2026, 6, 2), dt.date(2026, 6, 3), Decimal("2")),
                    MultiplierPeriod(dt.date(2026, 6, 3), None, Decimal("3")),
                ],
            ),
        ]
    )
    det = calc([term], start, end)
    # Old: 96 x 0.1 = 9.6 on 1 June + 56 x 0.1 = 5.6 on 2 June up to 14:00 = 15.2.
    # New: 40 x 0.2 x 2 = 16.0 on 2 June after 14:00, 96 x 0.2 x 3 = 57.6 on 3 June.
    # 15.2 + 16.0 + 57.6 = 88.8, nothing missing or doubled.
    assert det.total == Decimal("88.800000")
    assert det.complete and det.interval_count == 288
    # Highest interval 0.6 kWh (new meter x 3) = 2.4 kW, first on 3 June 00:00 EDT = 04:00 UTC.
    assert det.max_demand_kw == Decimal("2.400000")
    assert det.max_demand_at == dt.datetime(2026, 6, 3, 4, tzinfo=UTC)


def test_a_gap_between_removal_and_installation_makes_the_period_incomplete():
    day = dt.date(2026, 6, 2)
    removed = dt.datetime(2026, 6, 2, 18, tzinfo=UTC)
    installed = dt.datetime(2026, 6, 2, 18, 30, tzinfo=UTC)
    term = Term(
        segments=[
            Segment(records=records(day, day + ONE_DAY, 0.1), end_at=removed),
            Segment(records=records(day, day + ONE_DAY, 0.2), start_at=installed),
        ]
    )
    det = calc([term], day, day + ONE_DAY)
    # Slots 56 and 57 (14:00-14:29 EDT) belong to no meter: 56 x 0.1 + 38 x 0.2 = 5.6 + 7.6 = 13.2.
    assert not det.complete and det.missing_intervals == 2
    assert det.total == Decimal("13.200000")
    assert det.by_interval[56][1] is None


def test_virtual_meter_master_minus_suites_with_a_missing_suite_interval():
    day = dt.date(2026, 6, 10)
    suite_b = records(day, day + ONE_DAY, 0.2)
    suite_b[0].values[10] = np.nan
    terms = [
        Term(segments=[Segment(records=records(day, day + ONE_DAY, 1.0))]),
        Term(segments=[Segment(records=records(day, day + ONE_DAY, 0.3))], sign=-1),
        Term(segments=[Segment(records=suite_b)], sign=-1),
    ]
    det = calc(terms, day, day + ONE_DAY)
    # 95 slots of 1.0 - 0.3 - 0.2 = 0.5 -> 47.5; slot 10 lacks suite B: 1.0 - 0.3 = 0.7. 48.2.
    assert det.total == Decimal("48.200000")
    assert det.missing_intervals == 1 and not det.complete


def test_net_metering_delivered_minus_received_and_received_energy():
    day = dt.date(2026, 6, 10)
    delivered = Term(segments=[Segment(records=records(day, day + ONE_DAY, 0.4))])
    received_ch = Segment(records=records(day, day + ONE_DAY, 0.1))
    det = calc(
        [delivered, Term(segments=[received_ch], sign=-1)], day, day + ONE_DAY,
        received=[Term(segments=[received_ch])], tou=grid_with(range(7, 19)),
    )
    # Net (0.4 - 0.1) x 96 = 28.8; received 0.1 x 96 = 9.6, of which 48 on-peak slots = 4.8.
    assert det.total == Decimal("28.800000")
    assert det.received_total == Decimal("9.600000")
    assert det.received_by_tou == {0: Decimal("4.800000"), 1: Decimal("4.800000")}


def five_minute_day():
    day = dt.date(2026, 6, 10)
    values = np.full(288, 0.1)
    values[13:16] = 1.0  # 01:05, 01:10, 01:15
    return day, [Term(segments=[Segment(records=[DayRecord(day, values, np.zeros(288, np.int16))])])]


@pytest.mark.parametrize(
    ("window", "rolling", "kw", "at"),
    [
        # Fixed 15: block 01:00-01:14 = 0.1 + 1 + 1 = 2.1 kWh x 60/15 = 8.4 kW.
        (15, False, "8.400000", dt.datetime(2026, 6, 10, 5, 0, tzinfo=UTC)),
        # Rolling 15: 01:05-01:19 = 3.0 kWh x 4 = 12 kW.
        (15, True, "12.000000", dt.datetime(2026, 6, 10, 5, 5, tzinfo=UTC)),
        # Fixed 30: 01:00-01:29 = 3 x 0.1 + 3.0 = 3.3 kWh x 2 = 6.6 kW.
        (30, False, "6.600000", dt.datetime(2026, 6, 10, 5, 0, tzinfo=UTC)),
        # Fixed 60: 01:00-01:59 = 9 x 0.1 + 3.0 = 3.9 kWh x 1 = 3.9 kW.
        (60, False, "3.900000", dt.datetime(2026, 6, 10, 5, 0, tzinfo=UTC)),
    ],
)
def test_maximum_demand_fixed_and_rolling_windows_from_five_minute_data(window, rolling, kw, at):
    day, terms = five_minute_day()
    det = calc(terms, day, day + ONE_DAY, interval_minutes=5, demand_window_minutes=window, demand_rolling=rolling)
    assert det.max_demand_kw == Decimal(kw)
    assert det.max_demand_at == at


def test_maximum_demand_per_tou_period_counts_only_windows_inside_the_period():
    day, terms = five_minute_day()
    tou = grid_with({1})  # only the 01:00 hour is period 1
    fixed = calc(terms, day, day + ONE_DAY, interval_minutes=5, demand_window_minutes=15, tou=tou)
    # Period 1: 8.4 kW as above; period 0: 3 x 0.1 x 4 = 1.2 kW.
    assert fixed.max_demand_by_tou == {0: Decimal("1.200000"), 1: Decimal("8.400000")}
    rolling = calc(terms, day, day + ONE_DAY, interval_minutes=5, demand_window_minutes=15, demand_rolling=True, tou=tou)
    # Rolling windows that straddle 00:55-01:05 or 01:50-02:05 belong to neither period;
    # 00:55-01:09 (0.1 + 0.1 + 1.0) would otherwise give period 0 a 4.8 kW peak.
    assert rolling.max_demand_by_tou == {0: Decimal("1.200000"), 1: Decimal("12.000000")}


def test_estimated_edited_and_failed_intervals_are_counted_once_per_slot():
    day = dt.date(2026, 6, 10)
    a = records(day, day + ONE_DAY, 0.5)
    b = records(day, day + ONE_DAY, 0.1)
    a[0].flags[[3, 4, 5]] = Flag.ESTIMATED_LIKE_DAY
    b[0].flags[[5, 6]] = Flag.ESTIMATED_LINEAR
    a[0].flags[20] = Flag.EDITED
    b[0].flags[30] = Flag.FAILED_VALIDATION
    det = calc([Term(segments=[Segment(records=a)]), Term(segments=[Segment(records=b)], sign=-1)], day, day + ONE_DAY)
    # Slots 3, 4, 5, 6 have an estimate in at least one term.
    assert (det.estimated_intervals, det.edited_intervals, det.failed_intervals) == (4, 1, 1)


def test_as_of_gives_unbilled_consumption_so_far():
    start, end = dt.date(2026, 6, 1), dt.date(2026, 7, 1)
    det = calc(one_channel(records(start, dt.date(2026, 6, 3), 0.25)), start, end, as_of=dt.date(2026, 6, 3))
    # Days 1 and 2 June only: 2 x 96 x 0.25 = 48, and complete for those days.
    assert det.period_end == dt.date(2026, 6, 3)
    assert det.total == Decimal("48.000000") and det.complete


def test_days_missing_from_the_store_are_missing_intervals():
    start, end = dt.date(2026, 6, 1), dt.date(2026, 6, 4)
    recs = records(start, end, 0.25)
    det = calc(one_channel([recs[0], recs[2]]), start, end)
    assert det.missing_intervals == 96 and det.total == Decimal("48.000000")


def test_a_day_with_the_wrong_slot_count_is_refused():
    day = dt.date(2026, 3, 8)
    bad = [DayRecord(day, np.full(96, 0.25), np.zeros(96, np.int16))]
    with pytest.raises(DeterminantError, match="96 values for a 92-slot local day"):
        calc(one_channel(bad), day, day + ONE_DAY)


def test_overlapping_segments_of_one_term_are_refused():
    day = dt.date(2026, 6, 10)
    term = Term(segments=[Segment(records=records(day, day + ONE_DAY, 0.1))] * 2)
    with pytest.raises(DeterminantError, match="same interval"):
        calc([term], day, day + ONE_DAY)


def test_a_window_that_does_not_fit_the_interval_is_refused():
    day = dt.date(2026, 6, 10)
    with pytest.raises(DeterminantError):
        calc(one_channel(records(day, day + ONE_DAY, 0.1, interval=60)), day, day + ONE_DAY,
             interval_minutes=60, demand_window_minutes=15)
