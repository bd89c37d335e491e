"""Local-day slot arithmetic for the interval store, vectorised.

A channel-day row holds the intervals of one LOCAL day of the utility's time zone: slot i
covers the UTC instants [local midnight + i * interval, + interval). A spring-forward day in
America/Toronto is 23 h (92 quarter hours), a fall-back day 25 h (100). Everything local
(TOU periods, day types, clock-time matching of like days) is derived here once per distinct
date and cached, so the per-interval work elsewhere is array indexing, not Python loops.

Pure: no ORM, no clock, no settings. Callers pass the zone (normally
`zoneinfo.ZoneInfo(settings.UTILIS_LOCAL_TIME_ZONE)`)."""
from __future__ import annotations

import datetime as dt
import enum
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from core.clock import holiday_calendar  # noqa: F401  (re-exported for mdm's pure code and tests)

UTC = dt.timezone.utc
ONE_DAY = dt.timedelta(days=1)


def zone(tz: str | dt.tzinfo) -> dt.tzinfo:
    return zoneinfo.ZoneInfo(tz) if isinstance(tz, str) else tz


def day_start_utc(day: dt.date, tz: str | dt.tzinfo) -> dt.datetime:
    """The UTC instant of the local midnight that starts `day`."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone(tz)).astimezone(UTC)


def slots_in_day(day: dt.date, tz: str | dt.tzinfo, interval_minutes: int) -> int:
    """92, 96 or 100 for 15-minute data in a zone with a one-hour DST shift."""
    return day_layout(day, tz, interval_minutes).n_slots


def slot_start_utc(day: dt.date, tz: str | dt.tzinfo, interval_minutes: int, slot: int) -> dt.datetime:
    """Slots are elapsed time from local midnight, so this is plain addition in UTC."""
    return day_start_utc(day, tz) + dt.timedelta(minutes=interval_minutes * slot)


@dataclass(frozen=True, eq=False)
class DayLayout:
    """What a local day's slots mean on the clock. Arrays are read-only and shared (cached)."""

    day: dt.date
    interval_minutes: int
    n_slots: int
    start_utc: dt.datetime
    # Local wall-clock minute of day at each slot start: on a fall-back day 01:00-01:59 appears
    # twice, on a spring-forward day 02:00-02:59 never appears.
    clock_minute: np.ndarray
    # Index of each slot on the nominal 24-hour clock grid (clock_minute // interval).
    clock_slot: np.ndarray
    clock_hour: np.ndarray

    @property
    def slot_starts_utc(self) -> np.ndarray:
        """UTC start instants as datetime64[s]."""
        start = np.datetime64(self.start_utc.replace(tzinfo=None), "s")
        return start + np.arange(self.n_slots) * np.timedelta64(self.interval_minutes * 60, "s")


def _offset_minutes(instant: dt.datetime, tzinfo: dt.tzinfo) -> int:
    """The zone's UTC offset at `instant`, in whole minutes."""
    offset = instant.astimezone(tzinfo).utcoffset()
    if offset is None:
        raise ValueError(f"time zone {tzinfo!r} gives no UTC offset for {instant.isoformat()}")
    return int(offset.total_seconds()) // 60


@lru_cache(maxsize=4096)
def day_layout(day: dt.date, tz: str | dt.tzinfo, interval_minutes: int) -> DayLayout:
    tzinfo = zone(tz)
    start = day_start_utc(day, tzinfo)
    end = day_start_utc(day + ONE_DAY, tzinfo)
    total_minutes = int((end - start).total_seconds()) // 60
    if total_minutes % interval_minutes:
        raise ValueError(f"{day}: a {total_minutes}-minute day does not divide into {interval_minutes}-minute slots")
    n = total_minutes // interval_minutes
    elapsed = np.arange(n, dtype=np.int64) * interval_minutes
    # A day has at most one offset change; find it once rather than converting every slot.
    off_start = _offset_minutes(start, tzinfo)
    off_end = _offset_minutes(end, tzinfo)
    if off_start == off_end:
        clock = elapsed.copy()
    else:
        # The first slot start that is already on the new offset.
        offsets = np.array(
            [_offset_minutes(start + dt.timedelta(minutes=int(m)), tzinfo) for m in elapsed],
            dtype=np.int64,
        )
        clock = elapsed + offsets - off_start
    clock_slot = clock // interval_minutes
    hour = clock // 60
    for arr in (clock, clock_slot, hour):
        arr.setflags(write=False)
    return DayLayout(day, interval_minutes, n, start, clock, clock_slot, hour)


def slots_per_clock_day(interval_minutes: int) -> int:
    return 24 * 60 // interval_minutes


class DayType(enum.IntEnum):
    """Like-day classes: holidays behave like Sundays (businesses closed)."""

    WEEKDAY = 0
    SATURDAY = 1
    SUNDAY_HOLIDAY = 2


def day_type(day: dt.date, holidays: frozenset[dt.date] | set[dt.date]) -> DayType:
    if day in holidays or day.weekday() == 6:
        return DayType.SUNDAY_HOLIDAY
    if day.weekday() == 5:
        return DayType.SATURDAY
    return DayType.WEEKDAY


def day_types(days: np.ndarray, holidays: frozenset[dt.date] | set[dt.date]) -> np.ndarray:
    """Vectorised day_type over a datetime64[D] array."""
    days = np.asarray(days, dtype="datetime64[D]")
    # 1970-01-01 was a Thursday: weekday() = (ordinal + 3) % 7 with Monday = 0.
    weekday = (days.astype(np.int64) + 3) % 7
    out = np.where(weekday == 6, DayType.SUNDAY_HOLIDAY, np.where(weekday == 5, DayType.SATURDAY, DayType.WEEKDAY))
    if holidays:
        hol = np.array(sorted(holidays), dtype="datetime64[D]")
        out = np.where(np.isin(days, hol), DayType.SUNDAY_HOLIDAY, out)
    return out.astype(np.int8)


def stack_layouts(
    days: Sequence[dt.date] | np.ndarray, tz: str | dt.tzinfo, interval_minutes: int
) -> tuple[np.ndarray, np.ndarray]:
    """For many channel-days: (n_slots per row, clock_slot matrix padded with -1).

    One layout per DISTINCT date, then fancy indexing: 100,000 channel-days of one date cost
    one zoneinfo computation."""
    arr = np.asarray(days, dtype="datetime64[D]")
    uniq, inverse = np.unique(arr, return_inverse=True)
    layouts = [day_layout(d.astype(dt.date), tz, interval_minutes) for d in uniq]
    width = max((lay.n_slots for lay in layouts), default=0)
    n_slots = np.array([lay.n_slots for lay in layouts], dtype=np.int64)
    clock = np.full((len(layouts), width), -1, dtype=np.int64)
    for i, lay in enumerate(layouts):
        clock[i, : lay.n_slots] = lay.clock_slot
    return n_slots[inverse], clock[inverse]


@dataclass(frozen=True)
class TouGrid:
    """A URDB-style schedule: period index for month 0-11 x local hour 0-23, one grid for
    weekdays and one for weekends; statutory holidays use the weekend grid."""

    weekday: tuple[tuple[int, ...], ...]
    weekend: tuple[tuple[int, ...], ...]

    def __post_init__(self):
        for grid in (self.weekday, self.weekend):
            if len(grid) != 12 or any(len(row) != 24 for row in grid):
                raise ValueError("a TOU grid is 12 months x 24 hours")

    @property
    def periods(self) -> tuple[int, ...]:
        return tuple(sorted({p for grid in (self.weekday, self.weekend) for row in grid for p in row}))


def tou_periods_for_day(
    day: dt.date, tz: str | dt.tzinfo, interval_minutes: int, grid: TouGrid, holidays: frozenset[dt.date] | set[dt.date]
) -> np.ndarray:
    """Period index of every slot of the local day, by the LOCAL clock hour of the slot start
    (on a fall-back day both 01:xx hours get the 01 period; a spring day has no 02 hour)."""
    layout = day_layout(day, tz, interval_minutes)
    weekend = day.weekday() >= 5 or day in holidays
    table = np.asarray(grid.weekend if weekend else grid.weekday, dtype=np.int64)
    return table[day.month - 1][layout.clock_hour]
