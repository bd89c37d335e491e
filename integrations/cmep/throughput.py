"""Measure parse_cmep alone on a generated day of 15-minute data:
`python -m integrations.cmep.throughput --meters 100000`. Prints intervals per second.

The end-to-end benchmark (database included) is bench/; this isolates the parser so a
regression in it shows up on its own."""
from __future__ import annotations

import argparse
import datetime as dt
import random
import time

from integrations.cmep.parser import parse_cmep
from integrations.cmep.writer import write_cmep_intervals
from mdm.records import IntervalBlock


def generated_day(meters: int, *, seed: int = 1) -> str:
    rng = random.Random(seed)
    first_end = dt.datetime(2026, 3, 2, 0, 15, tzinfo=dt.timezone.utc)
    blocks = (
        IntervalBlock(
            meter_serial=f"M{n:08d}",
            unit="kWh",
            direction="delivered",
            interval_minutes=15,
            first_end_at=first_end,
            values=tuple(round(rng.uniform(0.0, 2.5), 3) for _ in range(96)),
            source_line=0,
        )
        for n in range(meters)
    )
    return write_cmep_intervals(blocks, sender="BENCH")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--meters", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    text = generated_day(args.meters)
    intervals = args.meters * 96
    best = None
    for _ in range(args.repeat):
        started = time.perf_counter()
        result = parse_cmep(text, "generated.cmep")
        elapsed = time.perf_counter() - started
        assert not result.errors and sum(len(b.values) for b in result.intervals) == intervals
        best = elapsed if best is None else min(best, elapsed)
    print(
        f"{args.meters} lines, {intervals} intervals, {len(text) / 1e6:.1f} MB: "
        f"best of {args.repeat} {best:.2f} s = {intervals / best:,.0f} intervals/s"
    )


if __name__ == "__main__":
    main()
