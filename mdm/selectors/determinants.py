"""The determinant service billing calls: load what a service point's usage is made of
(installations, a meter exchange inside the period, channel multipliers, virtual meters) and
the store's channel-days, then hand plain data to the pure `mdm.determinants` calculation.

`determinants_bulk` is what a bill run uses: for a chunk of many service points it reads the
installations, channels, multipliers and virtual meters in one query each and ALL the chunk's
channel-days in one query, so the per-service-point work is numpy only.
`determinants_for_agreement_period` is the same for one service point."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np

from django.db.models import F, Q

from core.clock import utility_holidays, utility_zone
from mdm import timeutil
from mdm.determinants import (DayRows, DeterminantError, Determinants, MultiplierPeriod, Segment, Term,
                               calculate_determinants, calculate_determinants_many)
from mdm.determinants.calculate import build_timeline
from mdm.interval_store import AnyOf, IntervalBatch, read_channel_days
from mdm.flags import Flag
from mdm.models import Channel, ChannelMultiplier, Installation, VirtualMeter

# Units whose interval values are consumption billing prices (energy or volume).
CONSUMPTION_UNITS = (Channel.Unit.KWH, Channel.Unit.M3, Channel.Unit.USGAL, Channel.Unit.FT3)
# Used to lay out the timeline of a service point with no interval channel (an unmetered
# streetlight): every slot is then missing, which billing reads as "not metered".
DEFAULT_INTERVAL_MINUTES = 60


@dataclass(frozen=True)
class PeriodRequest:
    """One period of one service point. `key` is the caller's (e.g. an agreement and part);
    `tou` / `demand_tou` are the energy and (URDB-style separate) demand TOU grids."""

    key: Hashable
    service_point_id: int
    start_date: dt.date
    end_date: dt.date
    tou: timeutil.TouGrid | None = None
    demand_tou: timeutil.TouGrid | None = None


@dataclass(frozen=True)
class PeriodDeterminants:
    """`energy` computed on the energy grid; `demand` on the demand grid when one was asked
    (else None). `metered` is False when no interval channel served the service point in the
    period (unmetered services; or a meter not yet installed)."""

    energy: Determinants
    demand: Determinants | None
    metered: bool


def _as_grid(value) -> timeutil.TouGrid | None:
    if value is None or isinstance(value, timeutil.TouGrid):
        return value
    weekday, weekend = value
    return timeutil.TouGrid(weekday=tuple(map(tuple, weekday)), weekend=tuple(map(tuple, weekend)))


class _Installed(NamedTuple):
    """The fields of an `Installation` the calculation reads (a row, not a model object: a
    chunk loads a thousand of them)."""

    service_point_id: int
    meter_id: int
    installed_at: dt.datetime
    removed_at: dt.datetime | None


class _Channel(NamedTuple):
    pk: int
    meter_id: int
    direction: str
    interval_minutes: int | None


@dataclass
class _Loaded:
    """Everything the chunk's service points are made of, loaded in bulk."""

    virtual: dict[int, list[dict]]
    installations: dict[int, list[_Installed]]
    channels_by_meter: dict[int, list[_Channel]]
    channel_by_id: dict[int, _Channel]
    multipliers: dict[int, list[MultiplierPeriod]]
    batch: IntervalBatch  # every channel's days, sorted by (channel, date)
    rows: dict[int, tuple[int, int]]  # channel id -> its rows [first, last) in `batch`


def _load(service_point_ids: Iterable[int], start: dt.date, end: dt.date, tz: str | dt.tzinfo) -> _Loaded:
    sp_ids = set(int(s) for s in service_point_ids)
    virtual: dict[int, list[dict]] = {}
    # A virtual meter may name other service points; one more round picks those up (formulas
    # do not nest further in practice, and a self-reference is refused when they are saved).
    pending = set(sp_ids)
    for _ in range(2):
        rows = VirtualMeter.objects.filter(AnyOf(F("service_point_id"), pending - set(virtual))).values_list(
            "service_point_id", "formula")
        pending = set()
        for sp, formula in rows:
            virtual[sp] = list(formula.get("terms", []))
            pending |= {int(t["service_point_id"]) for t in virtual[sp] if "service_point_id" in t}
        sp_ids |= pending
        if not pending:
            break
    start_at, end_at = timeutil.day_start_utc(start, tz), timeutil.day_start_utc(end, tz)
    installations: dict[int, list[_Installed]] = defaultdict(list)
    for row in (
        Installation.objects.filter(AnyOf(F("service_point_id"), sp_ids), installed_at__lt=end_at)
        .filter(Q(removed_at__isnull=True) | Q(removed_at__gt=start_at))
        .order_by("service_point_id", "installed_at")
        .values_list("service_point_id", "meter_id", "installed_at", "removed_at")
    ):
        installations[row[0]].append(_Installed(*row))
    meter_ids = {i.meter_id for insts in installations.values() for i in insts}
    direct_channel_ids = {int(t["channel_id"]) for terms in virtual.values() for t in terms if "channel_id" in t}
    channels = [_Channel(*row) for row in (
        Channel.objects.filter(AnyOf(F("meter_id"), meter_ids) | AnyOf(F("id"), direct_channel_ids))
        .filter(interval_minutes__isnull=False, unit__in=CONSUMPTION_UNITS)
        .order_by("meter_id", "channel_number", "id")
        .values_list("id", "meter_id", "direction", "interval_minutes")
    )]
    channels_by_meter: dict[int, list[_Channel]] = defaultdict(list)
    for ch in channels:
        channels_by_meter[ch.meter_id].append(ch)
    channel_ids = [c.pk for c in channels]
    multipliers: dict[int, list[MultiplierPeriod]] = defaultdict(list)
    for m in ChannelMultiplier.objects.filter(AnyOf(F("channel_id"), channel_ids)).order_by("channel_id", "start_date"):
        multipliers[m.channel_id].append(MultiplierPeriod(m.start_date, m.end_date, m.multiplier))
    # The one read of the interval store for the whole chunk (mdm.interval_store: the arrays
    # travel in PostgreSQL's binary format and numpy decodes the whole batch at once; building
    # a Python float per interval, or parsing each row's array, cost more than the maths).
    # Each channel's days are a range of the batch's rows (it is sorted by channel, date),
    # handed to the calculation as array views: no Python object per channel-day.
    batch = read_channel_days(channel_ids, start, end)
    ids, first, count = np.unique(batch.channel_ids, return_index=True, return_counts=True)
    ranges = {cid: (lo, lo + n) for cid, lo, n in zip(ids.tolist(), first.tolist(), count.tolist())}
    return _Loaded(virtual, installations, channels_by_meter, {c.pk: c for c in channels}, multipliers, batch, ranges)


def _records(loaded: _Loaded, channel_id: int, start: dt.date, end: dt.date) -> DayRows:
    """The channel's stored days in [start, end) as array views of the chunk's batch."""
    lo, hi = loaded.rows.get(channel_id, (0, 0))
    batch = loaded.batch
    if hi > lo:
        dates = batch.dates[lo:hi]
        a, b = np.searchsorted(dates, [np.datetime64(start, "D"), np.datetime64(end, "D")])
        lo, hi = lo + int(a), lo + int(b)
    return DayRows(dates=batch.dates[lo:hi], n_slots=batch.n_slots[lo:hi], values=batch.values[lo:hi],
                   flags=batch.flags[lo:hi])


def _physical_terms(loaded: _Loaded, sp: int, start: dt.date, end: dt.date, sign: int
                    ) -> tuple[list[Term], list[Term], set[int]]:
    """Delivered and received terms of a metered service point: one segment per installation,
    bounded by its install/removal instants, so a meter exchange stays continuous."""
    delivered: list[Segment] = []
    received: list[Segment] = []
    minutes: set[int] = set()
    for inst in loaded.installations.get(sp, []):
        for direction, target in ((Channel.Direction.DELIVERED, delivered), (Channel.Direction.RECEIVED, received)):
            ch = next((c for c in loaded.channels_by_meter.get(inst.meter_id, []) if c.direction == direction), None)
            if ch is None or ch.interval_minutes is None:
                continue
            minutes.add(ch.interval_minutes)
            target.append(Segment(records=_records(loaded, ch.pk, start, end), start_at=inst.installed_at,
                                  end_at=inst.removed_at, multipliers=loaded.multipliers.get(ch.pk, ())))
    terms = [Term(segments=delivered, sign=sign)] if delivered else []
    rec_terms = [Term(segments=received, sign=sign)] if received else []
    return terms, rec_terms, minutes


def _terms(loaded: _Loaded, sp: int, start: dt.date, end: dt.date) -> tuple[list[Term], list[Term], set[int]]:
    formula = loaded.virtual.get(sp)
    if formula is None:
        return _physical_terms(loaded, sp, start, end, 1)
    terms: list[Term] = []
    received: list[Term] = []
    minutes: set[int] = set()
    for item in formula:
        sign = int(item.get("sign", 1))
        if "channel_id" in item:
            ch = loaded.channel_by_id.get(int(item["channel_id"]))
            if ch is None or ch.interval_minutes is None:
                continue
            minutes.add(ch.interval_minutes)
            terms.append(Term(segments=[Segment(records=_records(loaded, ch.pk, start, end),
                                                multipliers=loaded.multipliers.get(ch.pk, ()))], sign=sign))
        else:
            t, r, m = _physical_terms(loaded, int(item["service_point_id"]), start, end, sign)
            terms += t
            received += r
            minutes |= m
    return terms, received, minutes


def _calculate(loaded: _Loaded, req: PeriodRequest, *, as_of: dt.date, tz: str | dt.tzinfo, holidays: frozenset[dt.date],
               demand_window_minutes: int, demand_rolling: bool) -> PeriodDeterminants:
    terms, received, minutes = _terms(loaded, req.service_point_id, req.start_date, req.end_date)
    if len(minutes) > 1:
        raise DeterminantError(
            f"service point {req.service_point_id}: channels of {sorted(minutes)} minutes in one period")
    interval = minutes.pop() if minutes else DEFAULT_INTERVAL_MINUTES
    window = max(demand_window_minutes, interval)
    def calculate(tou: timeutil.TouGrid | None) -> Determinants:
        return calculate_determinants(
            terms=terms, received=received, period_start=req.start_date, period_end=req.end_date, as_of=as_of,
            tz=tz, interval_minutes=interval, holidays=holidays, demand_window_minutes=window,
            demand_rolling=demand_rolling, tou=tou,
        )

    energy = calculate(req.tou)
    if not terms:
        # Nothing measured it: every slot is missing, not a measured zero.
        energy = replace(energy, missing_intervals=energy.interval_count)
    demand = calculate(req.demand_tou) if req.demand_tou is not None else None
    return PeriodDeterminants(energy=energy, demand=demand, metered=bool(terms))


def determinants_bulk(*, requests: Sequence[PeriodRequest], as_of: dt.date, demand_window_minutes: int = 15,
                      demand_rolling: bool = False, holidays: frozenset[dt.date] | None = None,
                      tz: str | dt.tzinfo | None = None) -> dict[Hashable, PeriodDeterminants]:
    """Determinants of many (service point, period) requests, as of `as_of` (days on or after
    it are not counted: unbilled consumption to date). Loads once for all requests.

    Raises DeterminantError (from the calculation) for inconsistent data, e.g. channels of
    different interval lengths inside one period."""
    if not requests:
        return {}
    tz = tz or utility_zone()
    start = min(r.start_date for r in requests)
    end = max(r.end_date for r in requests)
    if holidays is None:
        holidays = utility_holidays(start, end)
    loaded = _load({r.service_point_id for r in requests}, start, end, tz)
    out: dict[Hashable, PeriodDeterminants] = {}
    groups: dict[tuple, list[tuple[PeriodRequest, _Plain]]] = defaultdict(list)
    for r in requests:
        plain = _plain(loaded, r, as_of=as_of, tz=tz)
        if plain is None:
            out[r.key] = _calculate(loaded, r, as_of=as_of, tz=tz, holidays=holidays,
                                    demand_window_minutes=demand_window_minutes, demand_rolling=demand_rolling)
        else:
            groups[(r.start_date, plain.end, plain.interval, r.tou, r.demand_tou)].append((r, plain))
    for (period_start, period_end, interval, tou, demand_tou), members in groups.items():
        out |= _calculate_group(loaded, members, period_start=period_start, period_end=period_end, interval=interval,
                                tou=tou, demand_tou=demand_tou, as_of=as_of, tz=tz, holidays=holidays,
                                demand_window_minutes=demand_window_minutes, demand_rolling=demand_rolling)
    return {r.key: out[r.key] for r in requests}


@dataclass(frozen=True)
class _Plain:
    """A request whose usage is one channel (and at most one received channel) of one meter
    installed over the whole period, with no multiplier: the whole chunk's such requests are
    laid out as one (service points x slots) array and calculated together."""

    delivered: int  # channel id
    received: int | None
    interval: int
    end: dt.date  # the period's end cut at as_of


def _plain(loaded: _Loaded, req: PeriodRequest, *, as_of: dt.date, tz: str | dt.tzinfo) -> _Plain | None:
    """The request's `_Plain` shape, or None when it needs the one-service-point path (a
    virtual meter, a meter exchange or an installation inside the period, multipliers, no
    channel, mixed interval lengths, an empty period)."""
    if req.service_point_id in loaded.virtual:
        return None
    insts = loaded.installations.get(req.service_point_id, [])
    if len(insts) != 1:
        return None
    end = max(req.start_date, min(req.end_date, as_of))
    if end <= req.start_date:
        return None
    inst = insts[0]
    if inst.installed_at > timeutil.day_start_utc(req.start_date, tz) or (
            inst.removed_at is not None and inst.removed_at < timeutil.day_start_utc(end, tz)):
        return None
    channels = loaded.channels_by_meter.get(inst.meter_id, [])
    delivered = next((c for c in channels if c.direction == Channel.Direction.DELIVERED), None)
    received = next((c for c in channels if c.direction == Channel.Direction.RECEIVED), None)
    if delivered is None or delivered.interval_minutes is None or delivered.pk in loaded.multipliers:
        return None
    if received is not None and (received.interval_minutes != delivered.interval_minutes
                                 or received.pk in loaded.multipliers):
        return None
    return _Plain(delivered.pk, received.pk if received is not None else None, delivered.interval_minutes, end)


def _rows_matrix(loaded: _Loaded, channel_ids: Sequence[int | None], line) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row i: channel_ids[i]'s stored days on `line` as one (len, slots) values array (NaN
    where nothing is stored) and flags (MISSING there), in one scatter for all the rows; and a
    mask of the rows that cannot be laid out so (a day with a slot count wrong for its date, the
    same day twice): those go through the one-service-point path, which names the problem."""
    batch = loaded.batch
    n, total = len(channel_ids), int(line.day_offsets[-1])
    values = np.full((n, total), np.nan)
    flags = np.full((n, total), Flag.MISSING, dtype=np.int16)
    bad = np.zeros(n, bool)
    spans = [loaded.rows.get(c, (0, 0)) if c is not None else (0, 0) for c in channel_ids]
    lo = np.fromiter((a for a, _ in spans), np.int64, n)
    counts = np.fromiter((b - a for a, b in spans), np.int64, n)
    if not counts.sum():
        return values, flags, bad
    owner = np.repeat(np.arange(n), counts)
    rows = np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts) + np.repeat(lo, counts)
    day = (batch.dates[rows] - np.datetime64(line.days[0], "D")).astype(np.int64)
    keep = (day >= 0) & (day < len(line.days))
    owner, rows, day = owner[keep], rows[keep], day[keep]
    slots = np.asarray(batch.n_slots[rows], dtype=np.int64)
    wrong = slots != np.diff(line.day_offsets)[day]
    # The batch is sorted by (channel, date): a day twice is two neighbouring rows.
    twice = np.zeros(len(rows), bool)
    twice[1:] = (owner[1:] == owner[:-1]) & (day[1:] == day[:-1])
    bad[owner[wrong | twice]] = True
    if bad.any():
        ok = ~bad[owner]
        owner, rows, day, slots = owner[ok], rows[ok], day[ok], slots[ok]
    # The usual case: a row has every day of the line, in order. Those rows are one gather of
    # their days, (rows, days, width), and one compress of the line's real slots; the others
    # (days missing from the store) are scattered slot by slot.
    days = len(line.days)
    per_owner = np.bincount(owner, minlength=n)
    first = np.concatenate([[0], np.cumsum(per_owner)[:-1]])
    complete = per_owner == days
    if complete.any():
        taken = np.repeat(complete, per_owner)
        in_order = np.all(day[taken].reshape(-1, days) == np.arange(days), axis=1)
        complete[np.flatnonzero(complete)[~in_order]] = False
    if complete.any():
        width = batch.values.shape[1]
        real_line = np.arange(width)[None, :] < np.diff(line.day_offsets)[:, None]  # (days, width)
        whole = np.flatnonzero(complete)
        at = (first[whole][:, None] + np.arange(days)[None, :]).ravel()
        picked = rows[at]
        values[whole] = batch.values[picked].reshape(len(whole), days, width)[:, real_line]
        flags[whole] = batch.flags[picked].reshape(len(whole), days, width)[:, real_line]
        rest = ~complete[owner]
        owner, rows, day, slots = owner[rest], rows[rest], day[rest], slots[rest]
    if not len(rows):
        return values, flags, bad
    columns = np.arange(batch.values.shape[1])
    real = columns[None, :] < slots[:, None]
    at = ((owner * total + line.day_offsets[day])[:, None] + columns[None, :])[real]
    values.reshape(-1)[at] = batch.values[rows][real]
    flags.reshape(-1)[at] = batch.flags[rows][real]
    return values, flags, bad


def _calculate_group(loaded: _Loaded, members: list[tuple[PeriodRequest, _Plain]], *, period_start: dt.date,
                     period_end: dt.date, interval: int, tou: timeutil.TouGrid | None,
                     demand_tou: timeutil.TouGrid | None, as_of: dt.date, tz: str | dt.tzinfo,
                     holidays: frozenset[dt.date], demand_window_minutes: int, demand_rolling: bool
                     ) -> dict[Hashable, PeriodDeterminants]:
    """`_calculate` of plain requests of one period, interval length and TOU grids, at once."""
    window = max(demand_window_minutes, interval)
    holidays = frozenset(holidays)
    line = build_timeline(period_start, period_end, tz, interval, tou, holidays)
    values, flags, bad = _rows_matrix(loaded, [p.delivered for _, p in members], line)
    has_received = np.array([p.received is not None for _, p in members])
    received = None
    if has_received.any():
        received, _, bad_received = _rows_matrix(loaded, [p.received for _, p in members], line)
        bad |= bad_received
    out: dict[Hashable, PeriodDeterminants] = {}
    for i in np.flatnonzero(bad).tolist():
        req = members[i][0]
        out[req.key] = _calculate(loaded, req, as_of=as_of, tz=tz, holidays=holidays,
                                  demand_window_minutes=demand_window_minutes, demand_rolling=demand_rolling)
    good = np.flatnonzero(~bad)
    if not len(good):
        return out
    if len(good) < len(members):
        values, flags, has_received = values[good], flags[good], has_received[good]
        received = received[good] if received is not None else None
        members = [members[i] for i in good.tolist()]

    def calculate(grid: timeutil.TouGrid | None) -> list[Determinants]:
        return calculate_determinants_many(
            values=values, flags=flags, received=received, has_received=has_received,
            line=line if grid is tou else build_timeline(period_start, period_end, tz, interval, grid, holidays),
            period_start=period_start, period_end=period_end, interval_minutes=interval, tou=grid,
            demand_window_minutes=window, demand_rolling=demand_rolling)

    energy = calculate(tou)
    demand = calculate(demand_tou) if demand_tou is not None else [None] * len(members)
    for (req, _), e, d in zip(members, energy, demand):
        out[req.key] = PeriodDeterminants(energy=e, demand=d, metered=True)
    return out


def determinants_for_agreement_period(*, service_point_id: int, start_date: dt.date, end_date: dt.date,
                                      as_of: dt.date, tou_grids=None, demand_grids=None,
                                      demand_window_minutes: int = 15, demand_rolling: bool = False,
                                      holidays: frozenset[dt.date] | None = None,
                                      tz: str | dt.tzinfo | None = None) -> Determinants:
    """One service point's determinants over local dates [start_date, end_date) as of `as_of`.

    `tou_grids` (a TouGrid or a (weekday, weekend) pair of 12x24 index grids) splits
    consumption and demand by TOU period. `demand_grids`, for rates whose demand periods differ
    from their energy periods, replaces `max_demand_by_tou` with maxima on those grids (its
    keys are then the demand grid's period indexes); use `determinants_bulk` to get both.

    Raises DeterminantError for inconsistent data."""
    req = PeriodRequest("one", service_point_id, start_date, end_date, _as_grid(tou_grids), _as_grid(demand_grids))
    result = determinants_bulk(requests=[req], as_of=as_of, demand_window_minutes=demand_window_minutes,
                               demand_rolling=demand_rolling, holidays=holidays, tz=tz)["one"]
    if result.demand is not None:
        return replace(result.energy, max_demand_by_tou=result.demand.max_demand_by_tou)
    return result.energy


