"""Where interval instants land in the interval store: local day and slot, vectorised.

The slot arithmetic itself (a local day's UTC start, 92/96/100 quarter hours) is
mdm.timeutil's; this module maps whole arrays of UTC instants onto it with one
np.searchsorted, so a block of any length costs one Python step per local DAY, not per interval."""
from __future__ import annotations

import datetime as dt

import numpy as np

from mdm.timeutil import day_start_utc

UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)


def epoch_minutes(instant: dt.datetime) -> int:
    return int((instant - EPOCH).total_seconds() // 60)


def from_epoch_minutes(minutes: int) -> dt.datetime:
    return EPOCH + dt.timedelta(minutes=int(minutes))


def locate(starts_min: np.ndarray, tz: dt.tzinfo) -> tuple[list[dt.date], np.ndarray, np.ndarray]:
    """For interval START instants in UTC epoch minutes: the local dates spanned, each
    instant's index into them, and its minutes since that date's local midnight."""
    lo = from_epoch_minutes(int(starts_min.min())).astimezone(tz).date() - dt.timedelta(days=1)
    hi = from_epoch_minutes(int(starts_min.max())).astimezone(tz).date() + dt.timedelta(days=1)
    days = [lo + dt.timedelta(days=i) for i in range((hi - lo).days + 2)]
    midnights = np.array([epoch_minutes(day_start_utc(d, tz)) for d in days], dtype=np.int64)
    day_idx = np.searchsorted(midnights, starts_min, side="right") - 1
    return days, day_idx, starts_min - midnights[day_idx]


def day_lengths_minutes(days: list[dt.date], tz: dt.tzinfo) -> np.ndarray:
    return np.array(
        [epoch_minutes(day_start_utc(d + dt.timedelta(days=1), tz)) - epoch_minutes(day_start_utc(d, tz)) for d in days],
        dtype=np.int64,
    )
