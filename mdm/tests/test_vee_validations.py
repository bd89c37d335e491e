"""Each VEE validation on hand-built channel-days, expected values worked out in comments."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from mdm.vee import rules as r
from mdm.vee.channel_days import ChannelDays
from mdm.vee.engine import run_vee
from mdm.vee.flags import Flag
from mdm.vee.validations import run_lengths, validate

TZ = "America/Toronto"
DAY = dt.date(2026, 6, 10)  # a Wednesday, 96 slots
SPRING = dt.date(2026, 3, 8)  # 92 slots


def batch(rows, days=None, **meta) -> ChannelDays:
    days = days or [DAY] * len(rows)
    return ChannelDays.build(
        channel_ids=list(range(1, len(rows) + 1)), days=days, values=rows, tz=TZ, interval_minutes=15, **meta
    )


def readings(b: ChannelDays) -> np.ndarray:
    return np.where(b.flags == Flag.ACTUAL, b.values, np.nan)


def check(rule, b: ChannelDays, history=None):
    return validate(rule, b, readings(b), history)


def flat(value=0.25, n=96) -> np.ndarray:
    return np.full(n, value)


def test_run_lengths_gives_each_cell_the_length_of_its_run():
    mask = np.array([[1, 1, 0, 1, 1, 1, 0, 0, 1]], dtype=bool)
    assert run_lengths(mask).tolist() == [[2, 2, 0, 3, 3, 3, 0, 0, 1]]


def test_gaps_finds_missing_intervals_and_sends_big_gaps_to_the_worklist():
    row = flat()
    row[[5, 6, 7]] = np.nan
    finding = check(r.GapCheck(max_missing_slots=2), batch([row, flat()]))
    assert np.nonzero(finding.slots[0])[0].tolist() == [5, 6, 7]
    assert finding.measure.tolist() == [3.0, 0.0]
    assert finding.days.tolist() == [True, False]  # 3 missing > 2 allowed


def test_spike_compares_highest_with_third_highest():
    spike = flat(1.0)
    spike[[40, 41, 42]] = [6.0, 1.2, 1.1]
    near = flat(1.0)
    near[[40, 41, 42]] = [5.0, 1.2, 1.1]
    tiny = flat(0.01)
    tiny[40] = 0.1
    finding = check(r.SpikeCheck(threshold_pct=400, min_peak=0.5), batch([spike, near, tiny]))
    # Third highest 1.1; the limit is 1.1 x (1 + 400%) = 5.5: 6.0 is a spike, 5.0 is not.
    # The tiny day: 0.1 > 0.01 x 5 but below the 0.5 kWh floor, so no spike.
    assert finding.days.tolist() == [True, False, False]
    assert np.nonzero(finding.slots[0])[0].tolist() == [40]
    assert finding.measure[0] == pytest.approx((6.0 / 1.1 - 1) * 100)  # 445.45 %
    assert finding.message(0) == "highest interval 445% above the third highest"


def test_spike_marks_a_double_spike_both_above_the_third_highest():
    row = flat(1.0)
    row[[10, 50]] = [8.0, 7.0]  # third highest 1.0, limit 5.0
    finding = check(r.SpikeCheck(threshold_pct=400, min_peak=0.5), batch([row]))
    assert np.nonzero(finding.slots[0])[0].tolist() == [10, 50]


def history_days(channel_id: int, first: dt.date, count: int, value: float) -> dict:
    return {
        "channel_ids": [channel_id] * count,
        "days": [first + dt.timedelta(days=i) for i in range(count)],
        "values": [flat(value, n=96) for _ in range(count)],
    }


def test_high_low_usage_against_own_average_daily_usage():
    # History: 10 days of 96 x 0.25 = 24 kWh for channels 1-4 (1-10 June).
    ids, days, vals = [], [], []
    for cid in (1, 2, 3, 4):
        h = history_days(cid, dt.date(2026, 5, 31), 10, 0.25)
        ids += h["channel_ids"]
        days += h["days"]
        vals += h["values"]
    history = ChannelDays.build(channel_ids=ids, days=days, values=vals, tz=TZ, interval_minutes=15)
    with_gaps = flat(0.25)
    with_gaps[:4] = np.nan
    b = batch([flat(0.8), flat(0.5), flat(0.02), with_gaps])
    finding = check(r.HighLowUsageCheck(high_pct=200, low_pct=90, min_history_days=7), b, history)
    # 0.8 x 96 = 76.8 kWh = 320 % of 24 (> 300 %: high); 48 kWh = 200 % (inside);
    # 1.92 kWh = 8 % (< 10 %: low); 92 x 0.25 = 23 kWh scaled by 96/92 = 24 kWh = 100 %.
    assert finding.measure.tolist() == pytest.approx([320.0, 200.0, 8.0, 100.0])
    assert finding.days.tolist() == [True, False, True, False]


def test_high_low_usage_normalises_a_dst_day_and_needs_enough_history():
    history = ChannelDays.build(interval_minutes=15, tz=TZ, **history_days(1, dt.date(2026, 2, 26), 10, 0.25))
    short = ChannelDays.build(interval_minutes=15, tz=TZ, **history_days(2, dt.date(2026, 3, 5), 3, 0.25))
    both = ChannelDays.build(
        channel_ids=np.concatenate([history.channel_ids, short.channel_ids]),
        days=np.concatenate([history.days, short.days]),
        values=[flat(0.25)] * 13,
        tz=TZ,
        interval_minutes=15,
    )
    b = batch([flat(0.25, n=92), flat(5.0, n=92)], days=[SPRING, SPRING])
    finding = check(r.HighLowUsageCheck(min_history_days=7), b, both)
    # 92 x 0.25 = 23 kWh in a 23-hour day is 24 kWh per 24 hours: exactly 100 %.
    assert finding.measure[0] == pytest.approx(100.0)
    # Channel 2 has only 3 history days: not judged even though 5 kWh per slot is huge.
    assert np.isnan(finding.measure[1]) and not finding.days[1]


def test_high_low_usage_ignores_history_on_or_after_the_day():
    history = ChannelDays.build(interval_minutes=15, tz=TZ, **history_days(1, DAY, 10, 5.0))
    finding = check(r.HighLowUsageCheck(min_history_days=1), batch([flat(0.25)]), history)
    assert np.isnan(finding.measure[0])


def test_zero_consumption_on_active_service_only():
    run24 = flat()
    run24[10:34] = 0.0  # 24 zeros
    run23 = flat()
    run23[10:33] = 0.0  # 23 zeros
    b = batch([run24, run23, flat(0.0), flat(0.0)], active=[True, True, True, False])
    finding = check(r.ZeroConsumptionCheck(min_consecutive=24), b)
    assert finding.days.tolist() == [True, False, True, False]
    assert np.nonzero(finding.slots[0])[0].tolist() == list(range(10, 34))
    assert finding.measure[0] == 24


def test_a_whole_zero_day_fails_even_below_the_run_length():
    finding = check(r.ZeroConsumptionCheck(min_consecutive=200), batch([flat(0.0), flat()]))
    assert finding.days.tolist() == [True, False]
    assert finding.slots[0].sum() == 96


def test_negative_consumption():
    row = flat()
    row[[3, 70]] = [-0.5, -0.01]
    finding = check(r.NegativeCheck(), batch([row, flat()]))
    assert np.nonzero(finding.slots[0])[0].tolist() == [3, 70]
    assert finding.days.tolist() == [True, False]


def test_sum_check_with_rollover_multiplier_and_tolerance():
    # Intervals 96 x 0.25 = 24 kWh on every row.
    b = batch(
        [flat(), flat(), flat(), flat()],
        # Row 0: 5 dials roll over: 14 - 99,990 + 100,000 = 24 -> matches.
        # Row 1: 20 - 99,990 + 100,000 = 30 -> off by -6 > max(0.5, 2% of 30 = 0.6): fails.
        # Row 2: 24.4 -> off by -0.4 <= 0.5: passes.
        # Row 3: interval multiplier 40 (CT 200:5): 24 x 40 = 960 against a raw delta of 24 x 40.
        register_start=[99990, 99990, 0, 100],
        register_end=[14, 20, 24.4, 124],
        register_dials=[5, 5, 5, 5],
        register_multiplier=[1, 1, 1, 40],
        interval_multiplier=[1, 1, 1, 40],
    )
    finding = check(r.SumCheck(tolerance_pct=2, tolerance_abs=0.5), b)
    assert finding.days.tolist() == [False, True, False, False]
    assert finding.measure.tolist() == pytest.approx([0.0, -6.0, -0.4, 0.0])
    assert finding.message(1) == "interval total differs from the register delta by -6.000"


def test_sum_check_skips_incomplete_days_and_days_without_reads():
    gap = flat()
    gap[0] = np.nan
    b = batch([gap, flat()], register_start=[0, np.nan], register_end=[100, np.nan])
    finding = check(r.SumCheck(), b)
    assert not finding.days.any()
    assert np.isnan(finding.measure).all()


def test_max_demand_from_interval_energy_and_multiplier():
    row = flat()
    row[20] = 30.0  # 30 kWh in 15 min = 120 kW
    ct = flat()
    ct[20] = 15.0  # 15 kWh x 2 = 30 kWh -> 120 kW
    ok = flat()
    ok[20] = 25.0  # 100 kW: at the limit, not above
    finding = check(r.MaxDemandCheck(limit_kw=100), batch([row, ct, ok], interval_multiplier=[1, 2, 1]))
    assert finding.days.tolist() == [True, True, False]
    assert np.nonzero(finding.slots[0])[0].tolist() == [20]
    assert finding.measure[:2].tolist() == [120.0, 120.0]


def test_stuck_values_need_n_identical_non_zero_in_a_row():
    eight = np.linspace(0.1, 1.0, 96)
    eight[30:38] = 1.37
    seven = np.linspace(0.1, 1.0, 96)
    seven[30:37] = 1.37
    zeros = np.linspace(0.1, 1.0, 96)
    zeros[30:40] = 0.0
    finding = check(r.StuckCheck(min_run=8), batch([eight, seven, zeros]))
    assert finding.days.tolist() == [True, False, False]
    assert np.nonzero(finding.slots[0])[0].tolist() == list(range(30, 38))
    assert finding.measure[0] == 8


def test_interval_length_and_unit_mismatch_fail_the_whole_day():
    b = batch(
        [flat(), flat(), flat()],
        source_interval_minutes=[5, 15, 0],
        units=["kW", "kWh", ""],
        expected_units=["kWh", "kWh", "kWh"],
    )
    length = check(r.IntervalLengthCheck(), b)
    unit = check(r.UnitCheck(), b)
    assert length.days.tolist() == [True, False, False]
    assert length.slots[0].sum() == 96
    assert length.message(0) == "data arrived at 5-minute intervals, channel is 15-minute"
    assert unit.days.tolist() == [True, False, False]


def test_clock_tolerance_flags_reads_too_far_off_the_boundary():
    offsets = np.zeros(96)
    offsets[[7, 8]] = [30, -90]
    b = batch([flat()], timestamp_offset_s=[offsets])
    finding = check(r.ClockToleranceCheck(tolerance_seconds=60), b)
    assert np.nonzero(finding.slots[0])[0].tolist() == [8]
    assert finding.measure[0] == 90


def test_run_vee_flags_a_spike_and_puts_it_on_the_worklist():
    row = 0.2 + 0.1 * np.sin(np.arange(96) / 6)
    row[50] = 9.0
    rules = r.RuleSet("t", validations=(r.SpikeCheck(threshold_pct=400, min_peak=0.5),), estimations=())
    result = run_vee(days=batch([row]), rules=rules)
    assert result.flags[0, 50] == Flag.FAILED_VALIDATION
    assert result.values[0, 50] == 9.0  # FLAG keeps the value for a person to judge
    assert [(e.rule, e.slots) for e in result.worklist] == [("spike", (50,))]


def test_validation_of_a_spring_day_only_sees_its_92_slots():
    row = flat(1.0, n=92)
    row[91] = 20.0
    finding = check(r.SpikeCheck(threshold_pct=400, min_peak=0.5), batch([row], days=[SPRING]))
    assert np.nonzero(finding.slots[0])[0].tolist() == [91]


def test_a_row_of_the_wrong_length_for_its_local_day_is_refused():
    with pytest.raises(ValueError, match="96 values for a 92-slot local day"):
        batch([flat()], days=[SPRING])


def test_usage_rules_do_not_judge_received_channels():
    # A solar customer's export channel: zero all night, and a cloudy day far below the week.
    b = batch([flat(0.0), flat(0.0)], received=[False, True])
    assert check(r.ZeroConsumptionCheck(), b).days.tolist() == [True, False]
    history = ChannelDays.build(channel_ids=[1] * 7 + [2] * 7,
                                days=[DAY - dt.timedelta(days=k) for k in range(1, 8)] * 2,
                                values=[flat(1.0)] * 14, tz=TZ, interval_minutes=15)
    low = batch([flat(0.01), flat(0.01)], received=[False, True])
    assert check(r.HighLowUsageCheck(), low, history).days.tolist() == [True, False]


def test_max_demand_judges_energy_channels_only():
    row = flat()
    row[20] = 30.0  # 120 "kW" if this were kWh
    b = batch([row, row, row], expected_units=["kWh", "m3", ""])
    assert check(r.MaxDemandCheck(limit_kw=100), b).days.tolist() == [True, False, True]


def test_a_day_with_no_elapsed_slot_is_not_a_zero_day():
    b = batch([flat(0.0)], elapsed_slots=[0])
    result = run_vee(days=b, rules=r.RuleSet(name="z", validations=(r.ZeroConsumptionCheck(), r.GapCheck()),
                                              estimations=(r.LinearInterpolation(),)))
    assert result.worklist == ()
    assert (result.values == b.values).all() and (result.flags == b.flags).all()


def test_a_spiked_day_is_one_worklist_question_not_two():
    # Row 1: a 9 kWh spike makes the interval total miss the register by 8.75; row 2: a
    # register mismatch alone. The sum check's finding stays on both, its worklist entry only
    # where nothing else already asks about the day.
    spiked = flat()
    spiked[10] = 9.0
    b = batch([spiked, flat()], register_start=[100.0, 100.0], register_end=[124.0, 130.0])
    rules = r.RuleSet(name="s", validations=(r.SpikeCheck(), r.SumCheck()), estimations=())
    result = run_vee(days=b, rules=rules)
    assert [(e.channel_id, e.rule) for e in result.worklist] == [(1, "spike"), (2, "sum_check")]
    (sum_finding,) = [f for f in result.findings if f.rule == "sum_check"]
    assert sum_finding.days.tolist() == [True, True]
