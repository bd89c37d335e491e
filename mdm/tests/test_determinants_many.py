"""The chunk-wide determinants (`calculate_determinants_many`, and `determinants_bulk` laying a
chunk's plain service points out as one service points x slots array) give exactly what the
one-service-point path gives: every field, every float bit, on DST short and long days, gaps,
estimated / edited / failed intervals, TOU and separate demand grids, fixed and rolling
demand, received energy (net metering) and the as-of cut; service points the array cannot
hold (virtual meters, exchanges, multipliers, a day with the wrong slot count) go through the
one-service-point path and give its answer or its error."""
from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import numpy as np
import pytest

from cis.tests.factories import ServicePointFactory
from core.clock import utility_holidays
from mdm import services as mdm_services
from mdm import timeutil
from mdm.determinants import DeterminantError, Segment, Term, calculate_determinants, calculate_determinants_many
from mdm.determinants.calculate import build_timeline
from mdm.flags import NOT_PROVIDED
from mdm.models import Channel
from mdm.selectors import determinants as bd
from mdm.services import StagedDay
from mdm.tests.factories import ChannelFactory, MeterFactory

TZ = "America/Toronto"
NOW = dt.datetime(2026, 12, 1, 12, tzinfo=dt.timezone.utc)
SPRING = (dt.date(2026, 3, 1), dt.date(2026, 3, 15))  # March 8: 23 hours
FALL = (dt.date(2026, 10, 25), dt.date(2026, 11, 8))  # November 1: 25 hours
JAN1 = dt.datetime(2026, 1, 1, 5, tzinfo=dt.timezone.utc)


def grid(peak_hours, weekend_peak=(), periods=2) -> timeutil.TouGrid:
    def g(hours):
        return tuple(tuple((1 + (h % (periods - 1)) if h in hours else 0) for h in range(24)) for _ in range(12))

    return timeutil.TouGrid(weekday=g(set(peak_hours)), weekend=g(set(weekend_peak)))


ENERGY_GRID = grid(range(7, 19), range(17, 20))
DEMAND_GRID = grid(range(1, 3), range(1, 3), periods=3)  # the 01:00 hour happens twice in the fall


def assert_same(fast, slow, what):
    """Field by field, arrays bit for bit (NaN where NaN)."""
    for f in dataclasses.fields(slow):
        a, b = getattr(fast, f.name), getattr(slow, f.name)
        if isinstance(b, np.ndarray):
            assert a.dtype == b.dtype and a.shape == b.shape, (what, f.name)
            assert np.array_equal(a, b, equal_nan=True), (what, f.name)
            if a.dtype.kind == "f" and f.name != "hour_values":  # hourly sums may start from +0.0
                assert np.array_equal(np.signbit(a), np.signbit(b)), (what, f.name)
        elif isinstance(b, Decimal):
            assert str(a) == str(b), (what, f.name, a, b)
        else:
            assert a == b, (what, f.name, a, b)


# ---- pure: the matrix calculation against calculate_determinants, row by row -------------------

@pytest.mark.parametrize("interval", [5, 15, 60])
@pytest.mark.parametrize("period", [SPRING, FALL])
@pytest.mark.parametrize("window,rolling", [(15, False), (60, False), (30, True), (60, True)])
def test_the_matrix_calculation_is_the_per_service_point_one_bit_for_bit(interval, period, window, rolling):
    window = max(window, interval)
    start, end = period
    holidays = utility_holidays(start, end)
    rng = np.random.default_rng(interval * 1000 + window + rolling)
    line = build_timeline(start, end, TZ, interval, ENERGY_GRID, holidays)
    n, total = 40, int(line.day_offsets[-1])
    values = rng.lognormal(-2, 1, (n, total))  # unrounded: any change in summation order shows
    values[: n // 2] = np.round(values[: n // 2], 3)
    values[rng.random((n, total)) < 0.02] = np.nan  # gaps
    values[3, :] = np.nan  # nothing at all
    values[4, : total // 2] = 0.0
    flags = rng.choice(np.array([0, 0, 0, 0, 2, 3, 11, 12, 15], np.int16), (n, total))
    received = np.where(rng.random((n, total)) < 0.5, rng.lognormal(-3, 1, (n, total)), 0.0)
    received[rng.random((n, total)) < 0.05] = np.nan
    has_received = rng.random(n) < 0.5
    for tou in (ENERGY_GRID, None, DEMAND_GRID):
        grid_line = build_timeline(start, end, TZ, interval, tou, holidays)
        many = calculate_determinants_many(
            values=values, flags=flags, received=received, has_received=has_received, line=grid_line,
            period_start=start, period_end=end, interval_minutes=interval, tou=tou,
            demand_window_minutes=window, demand_rolling=rolling)
        for i in range(n):
            slow = calculate_determinants(
                terms=[Term(segments=[Segment(records=_rows(line, values[i], flags[i]))])],
                received=[Term(segments=[Segment(records=_rows(line, received[i], flags[i]))])] if has_received[i]
                else [],
                period_start=start, period_end=end, as_of=end, tz=TZ, interval_minutes=interval, tou=tou,
                holidays=holidays, demand_window_minutes=window, demand_rolling=rolling)
            assert_same(many[i], slow, (interval, i, tou is None))


def _rows(line, values, flags):
    from mdm.determinants import DayRecord

    return [DayRecord(d, values[line.day_offsets[j]:line.day_offsets[j + 1]], flags[line.day_offsets[j]:line.day_offsets[j + 1]])
            for j, d in enumerate(line.days)]


# ---- through the selector: stored days, the chunk's array against the per-service-point path --

def _store(channel, start, end, rng, *, rounded=True, skip_days=(), gaps=0.0, flag_choice=None, wrong_day=None):
    days = []
    day = start
    while day < end:
        if day not in skip_days:
            n = timeutil.slots_in_day(day, TZ, channel.interval_minutes)
            if day == wrong_day:
                n = 96 if n != 96 else 92
            # Stored at the channel's resolution (the store keeps nothing finer): "unrounded"
            # days are 6-decimal values on a 6-decimal channel, so summation order still shows.
            values = np.round(rng.lognormal(-2, 0.8, n), 3 if rounded else 6)
            flags = np.zeros(n, np.int16)
            if flag_choice is not None:
                flags = rng.choice(np.asarray(flag_choice, np.int16), n)
            if gaps:
                flags[rng.random(n) < gaps] = NOT_PROVIDED
            days.append(StagedDay(channel.pk, day, channel.interval_minutes, values, flags))
        day += dt.timedelta(days=1)
    mdm_services.interval_days_merge(days=days, now=NOW)


def _metered(rng, start, end, *, interval=15, installed_at=JAN1, received=False, **store):
    sp = ServicePointFactory()
    channel = ChannelFactory(meter=MeterFactory(), interval_minutes=interval,
                             resolution_decimals=3 if store.get("rounded", True) else 6)
    mdm_services.meter_install(meter=channel.meter, service_point_id=sp.pk, installed_at=installed_at,
                               commodity="electric")
    _store(channel, start, end, rng, **store)
    if received:
        back = ChannelFactory(meter=channel.meter, interval_minutes=interval, direction=Channel.Direction.RECEIVED,
                              channel_number=2)
        _store(back, start, end, rng, gaps=0.01)
    return sp, channel


def _varied_service_points(start, end, seed):
    """Plain service points of every kind of day, and the ones the array cannot hold."""
    rng = np.random.default_rng(seed)
    sps = []
    for i in range(3):
        sps.append(_metered(rng, start, end)[0])
        sps.append(_metered(rng, start, end, rounded=False)[0])
        sps.append(_metered(rng, start, end, skip_days={start + dt.timedelta(days=3 + i)}, gaps=0.03)[0])
        sps.append(_metered(rng, start, end, flag_choice=[0, 0, 0, 2, 3, 11, 12, 14])[0])
        sps.append(_metered(rng, start, end, received=True)[0])
    sps.append(_metered(rng, start, end, interval=60)[0])
    sps.append(_metered(rng, start, end, interval=5)[0])
    sps.append(_metered(rng, start, start)[0])  # a channel with no stored day
    sps.append(ServicePointFactory())  # no meter: unmetered
    # The one-service-point path: installed inside the period, a meter exchange, a multiplier,
    # a virtual meter.
    sps.append(_metered(rng, start, end, installed_at=timeutil.day_start_utc(start, TZ) + dt.timedelta(days=2))[0])
    exchanged, old = _metered(rng, start, end)
    new = ChannelFactory(meter=MeterFactory(), interval_minutes=15)
    _store(new, start, end, rng)
    mdm_services.meter_exchange(old=old.meter.installations.get(), new_meter=new.meter,
                                at=timeutil.day_start_utc(start, TZ) + dt.timedelta(days=5, hours=13))
    sps.append(exchanged)
    multiplied, channel = _metered(rng, start, end)
    mdm_services.channel_multiplier_set(channel=channel, start_date=start + dt.timedelta(days=4), ct_ratio=Decimal(2))
    sps.append(multiplied)
    virtual = ServicePointFactory()
    mdm_services.virtual_meter_set(service_point_id=virtual.pk, terms=[
        {"service_point_id": sps[0].pk, "sign": 1}, {"service_point_id": sps[1].pk, "sign": -1}])
    sps.append(virtual)
    return sps


@pytest.mark.django_db
@pytest.mark.parametrize("period", [SPRING, FALL], ids=["spring", "fall"])
def test_the_chunk_array_gives_what_each_service_point_gives(period):
    start, end = period
    sps = _varied_service_points(start, end, seed=start.toordinal())
    requests = []
    for i, sp in enumerate(sps):
        tou = (ENERGY_GRID, None, ENERGY_GRID)[i % 3]
        demand = (None, None, DEMAND_GRID)[i % 3]
        requests.append(bd.PeriodRequest((sp.pk, "whole"), sp.pk, start, end, tou, demand))
    # A second period of some of them (a rate change inside the period): another group.
    middle = start + dt.timedelta(days=6)
    requests += [bd.PeriodRequest((sp.pk, "part"), sp.pk, middle, end, DEMAND_GRID) for sp in sps[:6]]
    holidays = utility_holidays(start, end)
    plain = 0
    for as_of, window, rolling in ((end, 15, False), (end - dt.timedelta(days=4), 60, True), (end, 30, False)):
        fast = bd.determinants_bulk(requests=requests, as_of=as_of, demand_window_minutes=window,
                                    demand_rolling=rolling, tz=TZ, holidays=holidays)
        loaded = bd._load({r.service_point_id for r in requests}, start, end, TZ)
        plain += sum(bd._plain(loaded, r, as_of=as_of, tz=TZ) is not None for r in requests)
        for r in requests:
            slow = bd._calculate(loaded, r, as_of=as_of, tz=TZ, holidays=holidays, demand_window_minutes=window,
                                 demand_rolling=rolling)
            got = fast[r.key]
            assert got.metered == slow.metered, r
            assert_same(got.energy, slow.energy, (r, as_of, window))
            assert (got.demand is None) == (slow.demand is None), r
            if slow.demand is not None:
                assert_same(got.demand, slow.demand, (r, as_of, window, "demand"))
    assert plain >= 3 * 20  # most of them went through the array


@pytest.mark.django_db
def test_a_day_with_the_wrong_slot_count_in_a_chunk_gives_the_per_service_point_error():
    start, end = SPRING
    rng = np.random.default_rng(3)
    good = [_metered(rng, start, end)[0] for _ in range(2)]
    bad, _ = _metered(rng, start, end, wrong_day=dt.date(2026, 3, 8))
    requests = [bd.PeriodRequest(sp.pk, sp.pk, start, end) for sp in (*good, bad)]
    with pytest.raises(DeterminantError, match="2026-03-08: 96 values for a 92-slot local day"):
        bd.determinants_bulk(requests=requests, as_of=end, tz=TZ)
    one = bd.determinants_bulk(requests=requests[:2], as_of=end, tz=TZ)
    assert all(one[sp.pk].energy.missing_intervals == 0 for sp in good)
