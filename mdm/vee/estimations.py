"""The estimations: each a pure function that fills some of the `remaining` slots of a batch.

Signature of every method: (rule, EstimationInput) -> (estimates (N, S), filled (N, S) bool).
The engine tries them in the rule set's order; what one leaves unfilled goes to the next
("like days fails, class profile runs"). All work is array work over the whole batch."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mdm import timeutil
from mdm.vee import rules as r
from mdm.vee.channel_days import ChannelDays
from mdm.vee.flags import Flag
from mdm.vee.validations import register_delta


@dataclass(frozen=True, eq=False)
class EstimationInput:
    batch: ChannelDays
    values: np.ndarray  # (N, S) current values; NaN where still to estimate
    remaining: np.ndarray  # (N, S) bool: slots still to estimate
    anchors: np.ndarray  # (N, S) bool: trustworthy values (good readings and person-set values)
    history: ChannelDays | None
    holidays: frozenset[dt.date]


def estimate_linear(rule: r.LinearInterpolation, inp: EstimationInput) -> tuple[np.ndarray, np.ndarray]:
    """Straight line between the actual neighbours either side of a gap of at most
    max_gap_minutes. The previous/next day's edge values (batch.edge_before/after) act as
    neighbours for gaps touching midnight."""
    batch = inp.batch
    n, width = inp.values.shape
    rows = np.arange(n)
    # Column 0 is the previous day's last value, column n_slots+1 the next day's first.
    ext = np.full((n, width + 2), np.nan)
    ext[:, 1 : width + 1] = np.where(inp.anchors, inp.values, np.nan)
    ext[:, 0] = batch.edge_before
    ext[rows, batch.n_slots + 1] = batch.edge_after
    anchor = ~np.isnan(ext)
    idx = np.arange(width + 2)
    prev = np.maximum.accumulate(np.where(anchor, idx, -1), axis=1)
    big = width + 2
    nxt = np.minimum.accumulate(np.where(anchor, idx, big)[:, ::-1], axis=1)[:, ::-1]
    prev, nxt = prev[:, 1 : width + 1], nxt[:, 1 : width + 1]
    max_gap = rule.max_gap_minutes // batch.interval_minutes
    ok = inp.remaining & (prev >= 0) & (nxt < big) & (nxt - prev - 1 <= max_gap)
    prev_c, nxt_c = np.clip(prev, 0, width + 1), np.clip(nxt, 0, width + 1)
    v0 = np.take_along_axis(ext, prev_c, axis=1)
    v1 = np.take_along_axis(ext, nxt_c, axis=1)
    pos = idx[None, 1 : width + 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        est = v0 + (v1 - v0) * (pos - prev) / (nxt - prev)
    return np.where(ok, est, np.nan), ok


def _clock_grid(hist: ChannelDays, rows: np.ndarray) -> np.ndarray:
    """History rows re-laid on the nominal 24-hour clock grid: a spring day has no 02:xx
    values (NaN), a fall day's two 01:xx occurrences are averaged, so any target day can
    take its slots by local clock time."""
    c = hist.slots_per_clock_day
    grid = np.full((len(rows), c), np.nan)
    n_slots = hist.n_slots[rows]
    normal = n_slots == c
    grid[normal] = hist.values[rows[normal], :c]
    odd = np.nonzero(~normal)[0]
    if len(odd):
        src = rows[odd]
        valid = hist.valid[src]
        r_idx = np.broadcast_to(np.arange(len(odd))[:, None], valid.shape)[valid]
        c_idx = hist.clock_slot[src][valid]
        vals = hist.values[src][valid]
        sums = np.zeros((len(odd), c))
        counts = np.zeros((len(odd), c))
        np.add.at(sums, (r_idx, c_idx), vals)
        np.add.at(counts, (r_idx, c_idx), 1)
        with np.errstate(invalid="ignore"):
            grid[odd] = np.where(counts > 0, sums / counts, np.nan)
    return grid


def like_day_candidates(
    rule: r.LikeDay, batch: ChannelDays, targets: np.ndarray, history: ChannelDays, holidays: frozenset[dt.date]
) -> tuple[np.ndarray, np.ndarray]:
    """For each target row: the history rows of the `rule.days` most recent earlier like days
    (same channel, same day type), as an index matrix (T, days) and a validity mask.

    One composite sort key (channel, day type, date) over the usable history; each target is a
    searchsorted and a fixed-width step back."""
    usable = history.clean_days
    if holidays:
        usable = usable & ~np.isin(history.days, np.array(sorted(holidays), dtype="datetime64[D]"))
    h_rows = np.nonzero(usable)[0]
    all_ids = np.unique(np.concatenate([history.channel_ids[h_rows], batch.channel_ids[targets]]))
    span = np.int64(1 << 22)

    def key(ids: np.ndarray, days: np.ndarray) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        group = np.searchsorted(all_ids, ids).astype(np.int64) * 3 + timeutil.day_types(days, holidays)
        return group, group * span + days.astype("datetime64[D]").astype(np.int64)

    h_group, h_key = key(history.channel_ids[h_rows], history.days[h_rows])
    order = np.argsort(h_key, kind="stable")
    h_rows, h_group, h_key = h_rows[order], h_group[order], h_key[order]
    t_group, t_key = key(batch.channel_ids[targets], batch.days[targets])
    pos = np.searchsorted(h_key, t_key, side="left")  # first history day on/after the target day
    idx = pos[:, None] - 1 - np.arange(rule.days)[None, :]
    safe = np.clip(idx, 0, max(len(h_rows) - 1, 0))
    if len(h_rows) == 0:
        return np.zeros(idx.shape, np.int64), np.zeros(idx.shape, bool)
    age = (t_key[:, None] - h_key[safe])  # same group => the difference is in days
    ok = (idx >= 0) & (h_group[safe] == t_group[:, None]) & (age > 0) & (age <= rule.max_lookback_days)
    return h_rows[safe], ok


def estimate_like_day(rule: r.LikeDay, inp: EstimationInput) -> tuple[np.ndarray, np.ndarray]:
    batch, history = inp.batch, inp.history
    est = np.full(inp.values.shape, np.nan)
    targets = np.nonzero(inp.remaining.any(axis=1))[0]
    if history is None or history.size == 0 or len(targets) == 0:
        return est, np.zeros(inp.values.shape, bool)
    cand, ok = like_day_candidates(rule, batch, targets, history, inp.holidays)
    used_rows, inverse = np.unique(cand[ok], return_inverse=True)
    grid = _clock_grid(history, used_rows)  # (U, C)
    c = history.slots_per_clock_day
    stack = np.full(cand.shape + (c,), np.nan)  # (T, days, C)
    stack[ok] = grid[inverse]
    counts = (~np.isnan(stack)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(stack, axis=1) / counts  # (T, C); NaN where no like day has that clock slot
    enough = ok.sum(axis=1) >= rule.min_days
    clock = np.clip(batch.clock_slot[targets], 0, c - 1)
    per_slot = np.take_along_axis(mean, clock, axis=1)
    per_slot[~enough] = np.nan
    est[targets] = per_slot
    filled = inp.remaining & ~np.isnan(est)
    return np.where(filled, est, np.nan), filled


def estimate_class_profile(rule: r.ClassProfile, inp: EstimationInput) -> tuple[np.ndarray, np.ndarray]:
    """remaining energy = register delta / interval multiplier - everything already known that
    day (readings, person-set values and earlier methods' estimates); spread over the remaining
    slots in proportion to the class shape at each slot's local clock time."""
    batch = inp.batch
    n, width = inp.values.shape
    c = batch.slots_per_clock_day
    weights = np.full((n, width), np.nan)
    for key, shape in rule.profiles.items():
        rows = np.nonzero(batch.profile_keys == key)[0]
        if len(rows) == 0:
            continue
        shape_w = np.asarray(shape, dtype=np.float64)
        if c % len(shape_w):
            raise ValueError(f"profile {key!r}: {len(shape_w)} weights do not divide a {c}-slot day")
        clock = batch.clock_slot[rows]
        w = shape_w[np.clip(clock, 0, c - 1) * len(shape_w) // c]
        weights[rows] = np.where(clock >= 0, w, np.nan)
    known = np.where(batch.valid & ~inp.remaining, inp.values, np.nan)
    target = register_delta(batch) / batch.interval_multiplier - np.nansum(known, axis=1)
    w_rem = np.where(inp.remaining, weights, 0.0)
    w_sum = np.nansum(w_rem, axis=1)
    has_shape = ~np.isnan(np.where(inp.remaining, weights, 0.0)).any(axis=1)
    day_ok = has_shape & (w_sum > 0) & (target >= 0) & ~np.isnan(target)
    with np.errstate(invalid="ignore", divide="ignore"):
        est = w_rem * (target / w_sum)[:, None]
    filled = inp.remaining & day_ok[:, None]
    return np.where(filled, est, np.nan), filled


# The first argument is the rule whose type keys ESTIMATORS (dispatched on type(rule)).
Estimator = Callable[[Any, EstimationInput], tuple[np.ndarray, np.ndarray]]

ESTIMATORS: dict[type, tuple[Estimator, Flag]] = {
    r.LinearInterpolation: (estimate_linear, Flag.ESTIMATED_LINEAR),
    r.LikeDay: (estimate_like_day, Flag.ESTIMATED_LIKE_DAY),
    r.ClassProfile: (estimate_class_profile, Flag.ESTIMATED_CLASS_PROFILE),
}
