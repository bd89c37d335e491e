"""The plausibility screen: the one vectorised pass that picks the blocks to look at agrees
with the per-block screen, block for block, on random hostile input (times outside the
window, infinities, values over the unit's maximum, NaN, empty blocks, mixed units)."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from mdm.importing.screen import ReadLimits, _blocks_with_problems, _screen_block, screen_result
from mdm.records import IntervalBlock, ParseResult

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 7, 1, 12, 0, 30, 250000, tzinfo=UTC)
LIMITS = ReadLimits(earliest=NOW - dt.timedelta(days=30), latest=NOW + dt.timedelta(hours=2),
                    max_values={"kWh": 1000.0, "m3": 50.0})


def _random_blocks(rng: np.random.Generator, n: int) -> list[IntervalBlock]:
    blocks = []
    for i in range(n):
        step = int(rng.choice([5, 15, 60]))
        length = int(rng.integers(0, 30))
        # first ends spread from well before the window to after it, to the second
        first = NOW + dt.timedelta(seconds=int(rng.integers(-31 * 86400, 4 * 3600)))
        values = rng.uniform(0, 60, length)
        kind = rng.random(length)
        values[kind < 0.03] = np.inf
        values[(kind >= 0.03) & (kind < 0.05)] = -np.inf
        values[(kind >= 0.05) & (kind < 0.1)] = np.nan
        values[(kind >= 0.1) & (kind < 0.12)] = 2e3
        unit = str(rng.choice(["kWh", "m3", "kW"]))
        blocks.append(IntervalBlock(f"M{i}", unit, "delivered", step, first, tuple(values.tolist()), i + 1))
    return blocks


@pytest.mark.parametrize("seed", range(5))
def test_the_vectorised_pass_flags_exactly_the_blocks_the_per_block_screen_changes(seed):
    blocks = _random_blocks(np.random.default_rng(seed), 400)
    flagged = _blocks_with_problems(blocks, LIMITS)
    for block, flag in zip(blocks, flagged):
        errors: list = []
        kept = _screen_block(block, LIMITS, errors, "DateTime", "Value", lambda line: "")
        untouched = kept == [block] and not errors
        assert flag == (not untouched), block


def test_an_interval_ending_a_microsecond_outside_the_window_is_refused_and_one_on_its_edge_kept():
    edge = IntervalBlock("M1", "kWh", "delivered", 15, LIMITS.latest, (1.0,), 1)
    over = IntervalBlock("M2", "kWh", "delivered", 15, LIMITS.latest + dt.timedelta(microseconds=1), (1.0,), 2)
    early = IntervalBlock("M3", "kWh", "delivered", 15, LIMITS.earliest - dt.timedelta(microseconds=1), (1.0, 2.0), 3)
    assert _blocks_with_problems([edge, over, early], LIMITS) == [False, True, True]
    out = screen_result(ParseResult(source_name="f", format="cmep", intervals=[edge, over, early]), LIMITS)
    assert [b.meter_serial for b in out.intervals] == ["M1", "M3"]  # M3 keeps its second interval
    assert out.intervals[1].values == (2.0,)
    assert [(e.line, e.field) for e in out.errors] == [(2, "DateTime"), (3, "DateTime")]


def test_screen_result_keeps_file_order_and_drops_empty_blocks():
    blocks = _random_blocks(np.random.default_rng(9), 200)
    out = screen_result(ParseResult(source_name="f", format="cmep", intervals=blocks), LIMITS)
    expected, errors = [], []
    for block in blocks:
        expected.extend(_screen_block(block, LIMITS, errors, "DateTime", "Value", lambda line: ""))
    assert out.intervals == expected
    assert out.errors == errors
    assert _blocks_with_problems([], LIMITS) == []
