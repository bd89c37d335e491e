"""Turning a partner's wall-clock timestamp into a UTC instant.

Files from head-ends carry naive local times (CMEP, naive CSV and xs:dateTime without an
offset). Around DST one local hour repeats and one does not exist; every parser resolves
that the same way, here, so the formats cannot disagree about an instant."""
from __future__ import annotations

import datetime as dt

UTC = dt.timezone.utc


class NonexistentLocalTime(ValueError):
    """The wall-clock time falls in the hour skipped when DST starts."""


def local_to_utc(naive: dt.datetime, tz: dt.tzinfo, *, after: dt.datetime | None = None) -> dt.datetime:
    """The UTC instant of `naive` read as wall-clock time in `tz`.

    In the repeated fall-back hour the earlier instant (daylight time) is taken, unless
    `after` (the previous instant of the same series) is at or past it: then the later one.
    That reads a series 01:45, 01:00, 01:15 across the change as consecutive quarter-hours.

    Raises NonexistentLocalTime for a time in the skipped spring-forward hour."""
    if tz is UTC:
        return naive.replace(tzinfo=UTC)
    first = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) != naive:
        raise NonexistentLocalTime(f"{naive:%Y-%m-%d %H:%M} does not exist in {tz} (DST gap)")
    second = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if second != first and after is not None and first <= after:
        return second
    return first
