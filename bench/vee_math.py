"""Time the pure VEE and determinant math (no database): run_vee over N channel-days of
15-minute data at once, with and without like-day history, and one month of determinants.

    .venv/bin/python bench/vee_math.py --channels 100000 --history-days 7

Figures go to docs/vee.md."""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from mdm import timeutil  # noqa: E402
from mdm.determinants import DayRecord, Segment, Term, calculate_determinants  # noqa: E402
from mdm.vee.channel_days import ChannelDays  # noqa: E402
from mdm.vee.engine import run_vee  # noqa: E402
from mdm.vee.rules import default_rule_set  # noqa: E402

TZ = "America/Toronto"
DAY = dt.date(2026, 6, 24)


def load_shape(rng, n: int, days: int = 1) -> np.ndarray:
    hours = np.arange(96) / 4
    base = 0.15 + 0.25 * np.exp(-((hours - 19) ** 2) / 8) + 0.1 * np.exp(-((hours - 8) ** 2) / 4)
    scale = 0.5 + rng.random((n * days, 1))
    return base[None, :] * scale + 0.05 * rng.random((n * days, 96))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--channels", type=int, default=100_000)
    parser.add_argument("--history-days", type=int, default=7)
    args = parser.parse_args()
    n, h = args.channels, args.history_days
    rng = np.random.default_rng(1)
    values = load_shape(rng, n)
    register_delta = values.sum(axis=1)  # midnight register snapshots agree with the intervals
    values[rng.random(n) < 0.01, 40:44] = np.nan  # 1 %: one-hour gaps -> linear
    long_gap = rng.random(n) < 0.005
    values[long_gap, 60:80] = np.nan  # 0.5 %: five-hour gaps -> like day / class profile
    values[rng.random(n) < 0.005, 50] = 12.0  # 0.5 %: spikes
    ids = np.arange(n)
    profiles = {"residential": tuple(float(x) for x in np.linspace(1, 2, 24))}

    t0 = time.perf_counter()
    batch = ChannelDays.build(
        channel_ids=ids, days=np.full(n, np.datetime64(DAY)), values=values, tz=TZ, interval_minutes=15,
        profile_keys=np.full(n, "residential", dtype=object),
        register_start=np.zeros(n), register_end=register_delta,
    )
    t_build = time.perf_counter() - t0

    t0 = time.perf_counter()
    result = run_vee(days=batch, rules=default_rule_set(profiles=profiles))
    t_plain = time.perf_counter() - t0

    history = None
    t_hist = 0.0
    if h:
        hist_days = np.array([np.datetime64(DAY - dt.timedelta(days=k)) for k in range(1, h + 1)])
        history = ChannelDays.build(
            channel_ids=np.repeat(ids, h), days=np.tile(hist_days, n), values=load_shape(rng, n, h),
            tz=TZ, interval_minutes=15,
        )
        t0 = time.perf_counter()
        result = run_vee(days=batch, rules=default_rule_set(profiles=profiles), history=history)
        t_hist = time.perf_counter() - t0

    intervals = n * 96
    print(f"channel-days: {n:,} x 96 = {intervals:,} intervals")
    print(f"build ChannelDays: {t_build:.2f} s")
    print(f"run_vee, no history: {t_plain:.2f} s = {intervals / t_plain:,.0f} intervals/s")
    if h:
        print(f"run_vee, {h} history days per channel: {t_hist:.2f} s = {intervals / t_hist:,.0f} intervals/s")
    counts = {k: int(v.sum()) for k, v in result.estimated_by.items()}
    print(f"estimated slots by method: {counts}; worklist entries: {len(result.worklist):,}")

    # One service point, one month of 15-minute data, TOU + 15-minute demand.
    start, end = dt.date(2026, 10, 15), dt.date(2026, 11, 15)  # includes the fall DST day
    recs = []
    for k in range((end - start).days):
        d = start + dt.timedelta(days=k)
        s = timeutil.slots_in_day(d, TZ, 15)
        recs.append(DayRecord(d, rng.random(s), np.zeros(s, np.int16)))
    grid = timeutil.TouGrid(
        weekday=tuple(tuple(1 if 7 <= hr < 19 else 0 for hr in range(24)) for _ in range(12)),
        weekend=tuple(tuple(0 for _ in range(24)) for _ in range(12)),
    )
    runs = 200
    t0 = time.perf_counter()
    for _ in range(runs):
        calculate_determinants(
            terms=[Term(segments=[Segment(records=recs)])], period_start=start, period_end=end, as_of=end,
            tz=TZ, interval_minutes=15, tou=grid, demand_window_minutes=15,
        )
    per_call = (time.perf_counter() - t0) / runs
    print(f"determinants, one service point x 31 days (TOU, demand, hourly, intervals): {per_call * 1000:.1f} ms per call")


if __name__ == "__main__":
    main()
