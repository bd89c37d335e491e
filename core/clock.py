"""The utility's local date, zone and holidays, for the edges of the system (views, tasks, commands).

Domain code never reads the clock: the edge reads it once here and passes `today` / `as_of`
down. TIME_ZONE is UTC (instants are stored in UTC), so `timezone.localdate()` would give the
UTC date: from 19:00 in Toronto that is already tomorrow. Use these instead."""
from __future__ import annotations

import datetime as dt
import zoneinfo
from functools import lru_cache

import holidays as holidays_pkg

from django.conf import settings
from django.utils import timezone


def utility_zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.UTILIS_LOCAL_TIME_ZONE)


def utility_today() -> dt.date:
    return timezone.localdate(timezone=utility_zone())


@lru_cache(maxsize=32)
def _holidays(country: str, subdivision: str, years: tuple[int, ...]) -> frozenset[dt.date]:
    return frozenset(holidays_pkg.country_holidays(country, subdiv=subdivision or None, years=list(years)).keys())


def holiday_calendar(country: str, subdivision: str | None, years) -> frozenset[dt.date]:
    """Statutory holidays from the `holidays` package, e.g. ("CA", "ON", [2026])."""
    return _holidays(country, subdivision or "", tuple(sorted(set(years))))


def utility_holidays(start: dt.date, end: dt.date) -> frozenset[dt.date]:
    """The utility's statutory holidays in the years of [start, end] (settings
    UTILIS_HOLIDAY_COUNTRY / _SUBDIVISION): TOU periods and VEE's day types use them."""
    return holiday_calendar(settings.UTILIS_HOLIDAY_COUNTRY, settings.UTILIS_HOLIDAY_SUBDIVISION,
                            range(start.year, end.year + 1))
