"""The utility's local date and zone, for the edges of the system (views, tasks, commands).

Domain code never reads the clock: the edge reads it once here and passes `today` / `as_of`
down. TIME_ZONE is UTC (instants are stored in UTC), so `timezone.localdate()` would give the
UTC date: from 19:00 in Toronto that is already tomorrow. Use these instead."""
from __future__ import annotations

import datetime as dt
import zoneinfo

from django.conf import settings
from django.utils import timezone


def utility_zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.UTILIS_LOCAL_TIME_ZONE)


def utility_today() -> dt.date:
    return timezone.localdate(timezone=utility_zone())
