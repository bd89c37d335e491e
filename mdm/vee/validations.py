"""The validations: each a pure function over a whole batch of channel-days at once.

Every function takes the rule (its parameters), the batch, `readings` (the batch's values
where the slot holds a meter reading VEE may judge, NaN elsewhere: missing, edited and padding
cells), and for the usage check the history; it returns a `Finding` naming the rule, the
failing slots, the failing days and the number the rule judged per day (for the worklist
message). No Python loop over intervals or rows."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mdm.vee import rules as r
from mdm.vee.channel_days import ChannelDays
from mdm.vee.flags import PERSON_SET, in_codes


@dataclass(frozen=True, eq=False)
class Finding:
    rule: str  # the configured rule's name
    kind: str  # the validation kind ("spike", ...)
    on_fail: r.OnFail
    slots: np.ndarray  # (N, S) bool: failing slots (all readings of the day for day-level rules)
    days: np.ndarray  # (N,) bool: failing channel-days
    measure: np.ndarray  # (N,) float: what the rule measured, NaN where it did not judge
    template: str  # message with {measure}

    def message(self, row: int) -> str:
        return self.template.format(measure=float(self.measure[row]))


def run_lengths(mask: NDArray[np.bool_]) -> NDArray[np.int32]:
    """For each True cell, the length of the run of Trues (along axis 1) it belongs to; 0 for
    False. Cumulative sums forwards and backwards, so it is two passes over the array."""
    mask = np.asarray(mask, dtype=bool)
    if mask.size == 0:
        return np.zeros(mask.shape, dtype=np.int32)

    def since_start(m: NDArray[np.bool_]) -> NDArray[np.int32]:
        c = np.cumsum(m, axis=1, dtype=np.int32)
        run: NDArray[np.int32] = c - np.maximum.accumulate(np.where(m, 0, c), axis=1)
        return run

    forward = since_start(mask)
    backward = since_start(mask[:, ::-1])[:, ::-1]
    lengths: NDArray[np.int32] = np.where(mask, forward + backward - 1, 0)
    return lengths


def _day_level(days: NDArray[np.bool_], readings: NDArray[np.float64]) -> NDArray[np.bool_]:
    slots: NDArray[np.bool_] = days[:, None] & ~np.isnan(readings)
    return slots


def _nan_measure(n: int) -> np.ndarray:
    return np.full(n, np.nan)


def check_gaps(rule: r.GapCheck, batch: ChannelDays, readings: np.ndarray, history: ChannelDays | None) -> Finding:
    person_set = in_codes(batch.flags, PERSON_SET)
    missing = batch.valid & np.isnan(readings) & ~person_set
    count = missing.sum(axis=1)
    return Finding(
        rule.name, rule.kind, rule.on_fail, missing, count > rule.max_missing_slots, count.astype(float),
        "{measure:.0f} intervals missing",
    )


def check_spike(rule: r.SpikeCheck, batch: ChannelDays, readings: np.ndarray, history: ChannelDays | None) -> Finding:
    n, width = readings.shape
    present = ~np.isnan(readings)
    judged = present.sum(axis=1) >= 3
    if width < 3:
        return Finding(rule.name, rule.kind, rule.on_fail, np.zeros_like(present), np.zeros(n, bool), _nan_measure(n), "")
    filled = np.where(present, readings, -np.inf)
    # Partition, not sort: only the top three of each row matter.
    top = np.partition(filled, width - 3, axis=1)[:, width - 3 :]
    third = top.min(axis=1)
    highest = top.max(axis=1)
    limit = third * (1 + rule.threshold_pct / 100.0)
    days = judged & (highest > limit) & (highest >= rule.min_peak)
    slots = days[:, None] & present & (filled > limit[:, None]) & (filled >= rule.min_peak)
    with np.errstate(divide="ignore", invalid="ignore"):
        measure = np.where(judged, np.where(third > 0, (highest / third - 1) * 100, np.inf), np.nan)
    return Finding(
        rule.name, rule.kind, rule.on_fail, slots, days, measure,
        "highest interval {measure:.0f}% above the third highest",
    )


def average_daily_usage(
    history: ChannelDays, channel_ids: np.ndarray, days: np.ndarray, lookback_days: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per target (channel, day): the mean 24-hour-normalised usage of that channel's complete,
    all-actual, non-outage history days in [day - lookback_days, day), and how many there were.

    Vectorised with one sort and prefix sums: every target is two searchsorted lookups."""
    complete = history.clean_days
    totals = np.nansum(history.values, axis=1)
    # A 23-hour spring day would look 4% low and a 25-hour fall day 4% high without this.
    normalised = totals * history.slots_per_clock_day / history.n_slots
    h_ids, h_days, h_val = history.channel_ids[complete], history.days[complete], normalised[complete]
    all_ids = np.unique(np.concatenate([h_ids, channel_ids]))
    span = np.int64(1 << 22)  # days since 1970 stay far below 2**22 (year 13,400)
    h_key = np.searchsorted(all_ids, h_ids).astype(np.int64) * span + h_days.astype(np.int64)
    order = np.argsort(h_key, kind="stable")
    h_key, h_val = h_key[order], h_val[order]
    prefix = np.concatenate([[0.0], np.cumsum(h_val)])
    t_key = np.searchsorted(all_ids, channel_ids).astype(np.int64) * span + days.astype("datetime64[D]").astype(np.int64)
    hi = np.searchsorted(h_key, t_key, side="left")
    lo = np.searchsorted(h_key, t_key - lookback_days, side="left")
    count = hi - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, (prefix[hi] - prefix[lo]) / np.maximum(count, 1), np.nan)
    return mean, count


def check_high_low_usage(
    rule: r.HighLowUsageCheck, batch: ChannelDays, readings: np.ndarray, history: ChannelDays | None
) -> Finding:
    n = batch.size
    if history is None or history.size == 0:
        return Finding(rule.name, rule.kind, rule.on_fail, np.zeros(readings.shape, bool), np.zeros(n, bool), _nan_measure(n), "")
    mean, count = average_daily_usage(history, batch.channel_ids, batch.days, rule.lookback_days)
    present = ~np.isnan(readings)
    n_present = present.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        # Scale the present part up to a full 24-hour day so a day with gaps is judged on rate.
        today = np.nansum(readings, axis=1) * batch.slots_per_clock_day / n_present
        ratio = today / mean
    # Not on received channels: generation follows the weather (a cloudy day after a sunny
    # week is not an exception to chase).
    judged = (count >= rule.min_history_days) & (mean > 0) & (n_present > 0) & ~batch.received
    days = judged & ((ratio > 1 + rule.high_pct / 100.0) | (ratio < 1 - rule.low_pct / 100.0))
    measure = np.where(judged, ratio * 100, np.nan)
    return Finding(
        rule.name, rule.kind, rule.on_fail, _day_level(days, readings), days, measure,
        "usage {measure:.0f}% of the average day",
    )


def check_zero_consumption(
    rule: r.ZeroConsumptionCheck, batch: ChannelDays, readings: np.ndarray, history: ChannelDays | None
) -> Finding:
    zero = readings == 0
    runs = run_lengths(zero)
    in_long_run = zero & (runs >= rule.min_consecutive)
    zero_day = (zero.sum(axis=1) == batch.n_slots) & (batch.n_slots > 0)
    # Consumption only: a received (export / generation) channel reading zero is a solar
    # customer at night or a customer with nothing to export, not a stopped meter.
    days = batch.active & ~batch.received & (in_long_run.any(axis=1) | zero_day)
    return Finding(
        rule.name, rule.kind, rule.on_fail, days[:, None] & (in_long_run | (zero_day[:, None] & zero)), days,
        runs.max(axis=1).astype(float), "{measure:.0f} zero intervals in a row on an active service",
    )


def check_negative(rule: r.NegativeCheck, batch: ChannelDays, readings: np.ndarray, history: ChannelDays | None) -> Finding:
    slots = readings < 0
    return Finding(
        # numpy's stubs type any(axis=1) as "bool or array" whatever the rank; this one is (N,).
        rule.name, rule.kind, rule.on_fail, slots, slots.any(axis=1), slots.sum(axis=1).astype(float),  # type: ignore[arg-type]
        "{measure:.0f} negative intervals",
    )


def register_delta(batch: ChannelDays) -> NDArray[np.float64]:
    """Register advance over the day in the interval data's units: end - start, plus 10**dials
    when the register rolled over, times the register multiplier. NaN without both reads."""
    delta = batch.register_end - batch.register_start
    rolled = (delta < 0) & (batch.register_dials > 0)
    delta = np.where(rolled, delta + np.power(10.0, batch.register_dials), delta)
    advance: NDArray[np.float64] = delta * batch.register_multiplier
    return advance


def check_sum(rule: r.SumCheck, batch: ChannelDays, readings: np.ndarray, history: ChannelDays | None) -> Finding:
    person_set = in_codes(batch.flags, PERSON_SET) & ~np.isnan(batch.values)
    known = np.where(person_set, batch.values, readings)
    complete = (~np.isnan(known) & batch.valid).sum(axis=1) == batch.n_slots
    delta = register_delta(batch)
    interval_total = np.nansum(known, axis=1) * batch.interval_multiplier
    diff = interval_total - delta
    judged = complete & ~np.isnan(delta)
    tolerance = np.maximum(rule.tolerance_abs, np.abs(delta) * rule.tolerance_pct / 100.0)
    days = judged & (np.abs(diff) > tolerance)
    return Finding(
        rule.name, rule.kind, rule.on_fail, _day_level(days, readings), days, np.where(judged, diff, np.nan),
        "interval total differs from the register delta by {measure:+.3f}",
    )


def check_max_demand(rule: r.MaxDemandCheck, batch: ChannelDays, readings: np.ndarray, history: ChannelDays | None) -> Finding:
    kw = readings * batch.interval_multiplier[:, None] * (60.0 / batch.interval_minutes)
    # Demand is energy per hour: only energy channels (kWh, or a unit the loader did not say)
    # are judged; m3 or kVARh per interval is no kW.
    energy = np.isin(batch.expected_units, ("", "kWh"))
    slots = (kw > rule.limit_kw) & energy[:, None]
    days = slots.any(axis=1)
    with np.errstate(invalid="ignore"):
        peak = np.where(days, np.nanmax(np.where(slots, kw, -np.inf), axis=1), np.nan)
    return Finding(rule.name, rule.kind, rule.on_fail, slots, days, peak, "demand {measure:.3f} kW above the limit")


def check_stuck(rule: r.StuckCheck, batch: ChannelDays, readings: np.ndarray, history: ChannelDays | None) -> Finding:
    # same[:, i] says slot i repeats slot i-1; a run of k identical values is k-1 such pairs.
    same = np.zeros(readings.shape, dtype=bool)
    same[:, 1:] = (readings[:, 1:] == readings[:, :-1]) & (readings[:, 1:] != 0)
    pair_runs = run_lengths(same)
    stuck_pairs = same & (pair_runs + 1 >= rule.min_run)
    slots = stuck_pairs.copy()
    slots[:, :-1] |= stuck_pairs[:, 1:]  # the first value of each run
    days = slots.any(axis=1)
    return Finding(
        # numpy's stubs type any(axis=1) as "bool or array" whatever the rank; this one is (N,).
        rule.name, rule.kind, rule.on_fail, slots, days, np.where(days, (pair_runs + 1).max(axis=1), np.nan).astype(float),  # type: ignore[arg-type]
        "{measure:.0f} identical values in a row",
    )


def check_interval_length(
    rule: r.IntervalLengthCheck, batch: ChannelDays, readings: np.ndarray, history: ChannelDays | None
) -> Finding:
    src = batch.source_interval_minutes
    days = (src > 0) & (src != batch.interval_minutes)
    return Finding(
        rule.name, rule.kind, rule.on_fail, _day_level(days, readings), days, np.where(days, src, np.nan).astype(float),
        f"data arrived at {{measure:.0f}}-minute intervals, channel is {batch.interval_minutes}-minute",
    )


def check_unit(rule: r.UnitCheck, batch: ChannelDays, readings: np.ndarray, history: ChannelDays | None) -> Finding:
    days = (batch.units != "") & (batch.expected_units != "") & (batch.units != batch.expected_units)
    days = np.asarray(days, dtype=bool)
    return Finding(
        rule.name, rule.kind, rule.on_fail, _day_level(days, readings), days, _nan_measure(batch.size),
        "data arrived in a unit the channel is not configured for",
    )


def check_clock_tolerance(
    rule: r.ClockToleranceCheck, batch: ChannelDays, readings: np.ndarray, history: ChannelDays | None
) -> Finding:
    n = batch.size
    if batch.timestamp_offset_s is None:
        return Finding(rule.name, rule.kind, rule.on_fail, np.zeros(readings.shape, bool), np.zeros(n, bool), _nan_measure(n), "")
    off = np.abs(batch.timestamp_offset_s)
    slots = ~np.isnan(readings) & (off > rule.tolerance_seconds)
    days = slots.any(axis=1)
    with np.errstate(invalid="ignore"):
        worst = np.where(days, np.nanmax(np.where(slots, off, -np.inf), axis=1), np.nan)
    return Finding(rule.name, rule.kind, rule.on_fail, slots, days, worst, "a reading {measure:.0f} s off its interval boundary")


# The first argument is the rule whose type keys VALIDATORS; `validate` dispatches on type(rule),
# so each function only ever gets its own rule class (which Callable cannot say per entry).
Validator = Callable[[Any, ChannelDays, np.ndarray, ChannelDays | None], Finding]

VALIDATORS: dict[type, Validator] = {
    r.GapCheck: check_gaps,
    r.SpikeCheck: check_spike,
    r.HighLowUsageCheck: check_high_low_usage,
    r.ZeroConsumptionCheck: check_zero_consumption,
    r.NegativeCheck: check_negative,
    r.SumCheck: check_sum,
    r.MaxDemandCheck: check_max_demand,
    r.StuckCheck: check_stuck,
    r.IntervalLengthCheck: check_interval_length,
    r.UnitCheck: check_unit,
    r.ClockToleranceCheck: check_clock_tolerance,
}


def validate(rule: r.Validation, batch: ChannelDays, readings: np.ndarray, history: ChannelDays | None) -> Finding:
    return VALIDATORS[type(rule)](rule, batch, readings, history)
