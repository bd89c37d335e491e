"""VEE estimations and the engine: hand-computed estimates, DST days, holidays, handover,
manual edits, idempotence, and a 10,000 channel-day batch."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from mdm import timeutil
from mdm.vee import rules as r
from mdm.vee.channel_days import ChannelDays
from mdm.vee.engine import ManualEdit, VeeInputError, run_vee
from mdm.vee.flags import Flag

TZ = "America/Toronto"
ONE_DAY = dt.timedelta(days=1)
ONTARIO_2026 = timeutil.holiday_calendar("CA", "ON", [2026])


def shape(n=96) -> np.ndarray:
    """A load that is not flat (so the stuck rule stays quiet in engine tests)."""
    return 0.2 + 0.1 * np.sin(np.arange(n) / 6.0)


def build(rows, days, ids=None, **meta) -> ChannelDays:
    ids = ids if ids is not None else [1] * len(rows)
    return ChannelDays.build(channel_ids=ids, days=days, values=rows, tz=TZ, interval_minutes=15, **meta)


def only(*estimations) -> r.RuleSet:
    return r.RuleSet("test", validations=(), estimations=estimations)


def slots_of(day: dt.date) -> int:
    return timeutil.slots_in_day(day, TZ, 15)


# ---- linear interpolation ---------------------------------------------------------------


def test_linear_fills_a_gap_between_actual_neighbours():
    row = shape()
    row[9], row[13] = 1.0, 2.0
    row[10:13] = np.nan
    result = run_vee(days=build([row], [dt.date(2026, 6, 10)]), rules=only(r.LinearInterpolation()))
    # 1.0 -> 2.0 over 4 steps: 1.25, 1.5, 1.75.
    assert result.values[0, 10:13].tolist() == pytest.approx([1.25, 1.5, 1.75])
    assert result.flags[0, 10:13].tolist() == [Flag.ESTIMATED_LINEAR] * 3
    assert result.flags[0, 9] == Flag.ACTUAL and result.values[0, 9] == 1.0


def test_linear_stops_at_the_configured_gap_length():
    twelve = shape()
    twelve[20:32] = np.nan  # 12 slots = 3 h: allowed
    thirteen = shape()
    thirteen[20:33] = np.nan  # 3 h 15 min: too long
    result = run_vee(
        days=build([twelve, thirteen], [dt.date(2026, 6, 10)] * 2, ids=[1, 2]),
        rules=only(r.LinearInterpolation(max_gap_minutes=180)),
    )
    assert (result.flags[0, 20:32] == Flag.ESTIMATED_LINEAR).all()
    # Line from slot 19 to slot 32: slot 20 = v19 + (v32 - v19) / 13.
    v19, v32 = twelve[19], twelve[32]
    assert result.values[0, 20] == pytest.approx(v19 + (v32 - v19) / 13)
    assert (result.flags[1, 20:33] == Flag.MISSING).all()
    assert [(e.channel_id, e.rule, len(e.slots)) for e in result.worklist] == [(2, "estimation", 13)]


def test_linear_uses_the_neighbouring_days_edge_values_across_midnight():
    row = shape()
    row[0:2] = np.nan
    row[2] = 0.6
    no_edge = row.copy()
    result = run_vee(
        days=build([row, no_edge], [dt.date(2026, 6, 10)] * 2, ids=[1, 2], edge_before=[0.3, np.nan]),
        rules=only(r.LinearInterpolation()),
    )
    # Previous day's last value 0.3 sits one slot before slot 0: 0.3 -> 0.6 over 3 steps.
    assert result.values[0, 0:2].tolist() == pytest.approx([0.4, 0.5])
    assert (result.flags[1, 0:2] == Flag.MISSING).all()


# ---- like day -----------------------------------------------------------------------------


def like_day_history(days_values: dict[dt.date, float], estimated: set[dt.date] = frozenset(), outage=()):
    days = sorted(days_values)
    rows, flags = [], []
    for d in days:
        n = slots_of(d)
        rows.append(np.full(n, days_values[d]))
        f = np.zeros(n, dtype=np.int16)
        if d in estimated:
            f[17] = Flag.ESTIMATED_LINEAR  # one estimated slot is enough to disqualify the day
        flags.append(f)
    return ChannelDays.build(
        channel_ids=[1] * len(days), days=days, values=rows, flags=flags, tz=TZ, interval_minutes=15,
        outage=[d in outage for d in days],
    )


def weekdays_before(day: dt.date, count: int) -> list[dt.date]:
    out, d = [], day - ONE_DAY
    while len(out) < count:
        if d.weekday() < 5:
            out.append(d)
        d -= ONE_DAY
    return out


def test_like_day_averages_the_nearest_like_days_interval_by_interval():
    target = dt.date(2026, 6, 24)  # Wednesday
    # Weekdays before it, nearest first: 23 (1.0), 22 (2.0), 19 (3.0), 18 (4.0); Sat 20 = 50.
    history = like_day_history(
        {dt.date(2026, 6, 23): 1.0, dt.date(2026, 6, 22): 2.0, dt.date(2026, 6, 19): 3.0,
         dt.date(2026, 6, 18): 4.0, dt.date(2026, 6, 20): 50.0}
    )
    row = np.full(96, np.nan)
    result = run_vee(days=build([row], [target]), history=history, rules=only(r.LikeDay(days=3)))
    # (1 + 2 + 3) / 3 = 2.0 in every slot; the Saturday is not a like day.
    assert result.values[0].tolist() == pytest.approx([2.0] * 96)
    assert (result.flags[0] == Flag.ESTIMATED_LIKE_DAY).all()


def test_like_day_never_mixes_channels_in_one_batch():
    target = dt.date(2026, 6, 24)
    before = weekdays_before(target, 3)
    history = ChannelDays.build(
        channel_ids=[1, 1, 1, 2, 2, 2], days=before * 2,
        values=[np.full(96, 1.0)] * 3 + [np.full(96, 5.0)] * 3, tz=TZ, interval_minutes=15,
    )
    result = run_vee(
        days=build([np.full(96, np.nan)] * 2, [target] * 2, ids=[2, 1]), history=history, rules=only(r.LikeDay())
    )
    assert result.values[:, 0].tolist() == pytest.approx([5.0, 1.0])


def test_like_day_skips_estimated_and_outage_days():
    target = dt.date(2026, 6, 24)
    history = like_day_history(
        {dt.date(2026, 6, 23): 1.0, dt.date(2026, 6, 22): 2.0, dt.date(2026, 6, 19): 3.0,
         dt.date(2026, 6, 18): 4.0, dt.date(2026, 6, 17): 5.0},
        estimated={dt.date(2026, 6, 22)},
        outage={dt.date(2026, 6, 19)},
    )
    result = run_vee(days=build([np.full(96, np.nan)], [target]), history=history, rules=only(r.LikeDay(days=3)))
    # 22 (estimated) and 19 (outage) are skipped: 23, 18, 17 -> (1 + 4 + 5) / 3 = 3.333333.
    assert result.values[0, 0] == pytest.approx(10 / 3)


def test_like_day_skips_canada_day_in_the_history():
    target = dt.date(2026, 7, 2)  # Thursday after Canada Day (Wednesday)
    history = like_day_history(
        {dt.date(2026, 7, 1): 100.0, dt.date(2026, 6, 30): 1.0, dt.date(2026, 6, 29): 2.0,
         dt.date(2026, 6, 26): 3.0}
    )
    result = run_vee(
        days=build([np.full(96, np.nan)], [target]), history=history, holidays=ONTARIO_2026,
        rules=only(r.LikeDay(days=3)),
    )
    # 1 July is a statutory holiday, never a like day: (1 + 2 + 3) / 3 = 2.0.
    assert result.values[0, 0] == pytest.approx(2.0)


def test_canada_day_is_not_a_like_day_even_for_a_sunday():
    target = dt.date(2026, 7, 5)  # Sunday; Canada Day (Wednesday 1 July) has the Sunday-holiday type
    history = like_day_history(
        {dt.date(2026, 7, 1): 100.0, dt.date(2026, 7, 4): 50.0, dt.date(2026, 6, 28): 1.0,
         dt.date(2026, 6, 21): 2.0, dt.date(2026, 6, 14): 3.0}
    )
    result = run_vee(
        days=build([np.full(96, np.nan)], [target]), history=history, holidays=ONTARIO_2026,
        rules=only(r.LikeDay(days=3)),
    )
    # Holidays are never used: Sundays 28, 21, 14 June -> 2.0 (with 1 July it would be 34.33).
    assert result.values[0, 0] == pytest.approx(2.0)


def test_christmas_is_estimated_from_sundays():
    target = dt.date(2026, 12, 25)  # a Friday, but a holiday: Sunday-holiday type
    history = like_day_history(
        {dt.date(2026, 12, 24): 9.0, dt.date(2026, 12, 19): 8.0, dt.date(2026, 12, 20): 1.0,
         dt.date(2026, 12, 13): 2.0, dt.date(2026, 12, 6): 3.0}
    )
    result = run_vee(
        days=build([np.full(96, np.nan)], [target]), history=history, holidays=ONTARIO_2026,
        rules=only(r.LikeDay(days=3)),
    )
    # Sundays 20, 13, 6 December: (1 + 2 + 3) / 3 = 2.0; Thursday 24 and Saturday 19 are not alike.
    assert result.values[0, 0] == pytest.approx(2.0)


def test_like_day_fails_without_enough_days_and_class_profile_takes_over():
    target = dt.date(2026, 6, 24)
    row = shape()
    row[40:60] = np.nan  # 20 slots: too long for linear
    row[10] = np.nan  # one slot: linear
    flat_profile = tuple([1.0] * 24)
    rules = only(
        r.LinearInterpolation(),
        r.LikeDay(days=3, min_days=2),
        r.ClassProfile(profiles={"residential": flat_profile}),
    )
    history = like_day_history({dt.date(2026, 6, 23): 1.0})  # one like day < min_days 2
    known = np.nansum(row) + (row[9] + row[11]) / 2  # actuals plus the linear estimate of slot 10
    result = run_vee(
        days=build([row], [target], register_start=[0.0], register_end=[known + 4.0], profile_keys=["residential"]),
        history=history,
        rules=rules,
    )
    assert result.flags[0, 10] == Flag.ESTIMATED_LINEAR
    assert (result.flags[0, 40:60] == Flag.ESTIMATED_CLASS_PROFILE).all()
    # Register delta leaves 4.0 kWh for the 20 slots; a flat shape gives 0.2 each.
    assert result.values[0, 40:60].tolist() == pytest.approx([0.2] * 20)
    assert result.estimated_by["like_day"].sum() == 0
    assert result.worklist == ()


def test_like_day_on_the_fall_dst_day_maps_slots_by_clock_time():
    target = dt.date(2026, 11, 1)  # Sunday, 100 slots; 01:00-01:45 happens twice
    sundays = [dt.date(2026, 10, 25), dt.date(2026, 10, 18), dt.date(2026, 10, 11)]
    clock_values = np.arange(96) / 100.0  # value = clock slot / 100
    history = ChannelDays.build(
        channel_ids=[1, 1, 1], days=sundays, values=[clock_values] * 3, tz=TZ, interval_minutes=15
    )
    result = run_vee(days=build([np.full(100, np.nan)], [target]), history=history, rules=only(r.LikeDay()))
    values = result.values[0]
    # Slots 4-7 (01:xx EDT) and 8-11 (01:xx EST) both take clock slots 4-7; slot 12 is 02:00.
    assert values[4:12].tolist() == pytest.approx([0.04, 0.05, 0.06, 0.07] * 2)
    assert values[12] == pytest.approx(0.08)
    assert values[99] == pytest.approx(0.95)
    # The 25-hour day holds one more hour of energy: sum(0..95)/100 + (4+5+6+7)/100 = 45.6 + 0.22.
    assert values.sum() == pytest.approx(45.82)


def test_like_day_on_the_spring_dst_day_and_from_it():
    spring = dt.date(2026, 3, 8)  # Sunday, 92 slots, no 02:xx
    history = ChannelDays.build(
        channel_ids=[1, 1, 1, 1],
        days=[dt.date(2026, 2, 15), dt.date(2026, 2, 22), dt.date(2026, 3, 1), spring],
        values=[np.arange(96) / 100.0, np.arange(96) / 100.0, np.arange(96) / 100.0, np.full(92, 3.0)],
        tz=TZ,
        interval_minutes=15,
    )
    target_next = dt.date(2026, 3, 15)
    result = run_vee(
        days=build([np.full(92, np.nan), np.full(96, np.nan)], [spring, target_next]),
        history=history,
        rules=only(r.LikeDay(days=3)),
    )
    # Spring day: slot 8 is 03:00 on the wall, clock slot 12 -> 0.12 (the 1 March shape).
    assert result.values[0, 7:9].tolist() == pytest.approx([0.07, 0.12])
    # 15 March from 8 March (3.0, no 02:xx), 1 March and 22 February (the shape):
    # clock slot 0: (3 + 0 + 0) / 3 = 1.0; slots 8-11 (02:xx) only from the two full days.
    assert result.values[1, 0] == pytest.approx(1.0)
    assert result.values[1, 8] == pytest.approx(0.08)
    assert result.values[1, 12] == pytest.approx((3.0 + 0.12 + 0.12) / 3)


# ---- class profile ------------------------------------------------------------------------


def test_class_profile_is_scaled_to_the_register_delta_minus_the_actual_part():
    row = np.full(96, 0.2)
    row[48:] = np.nan  # afternoon and evening lost: 48 slots
    # Hours 0-17 weight 1, 18-23 weight 2.
    profile = tuple([1.0] * 18 + [2.0] * 6)
    rules = only(r.ClassProfile(profiles={"res": profile}))
    result = run_vee(
        days=build([row], [dt.date(2026, 6, 10)], register_start=[1000.0], register_end=[1024.0], profile_keys=["res"]),
        rules=rules,
    )
    # Delta 24 - actual 48 x 0.2 = 9.6 -> 14.4 kWh to spread. Weights: slots 48-71 (12:00-17:45)
    # 24 x 1, slots 72-95 24 x 2: 72 units, 0.2 kWh per unit -> 0.2 and 0.4.
    assert result.values[0, 48:72].tolist() == pytest.approx([0.2] * 24)
    assert result.values[0, 72:96].tolist() == pytest.approx([0.4] * 24)
    assert np.nansum(result.values[0]) == pytest.approx(24.0)


def test_class_profile_fails_without_reads_or_when_the_delta_is_too_small():
    row = np.full(96, 0.2)
    row[50:60] = np.nan
    rules = only(r.ClassProfile(profiles={"res": tuple([1.0] * 24)}))
    # Row 1 has no register reads; row 2's delta (10) is below the known 86 x 0.2 = 17.2.
    result = run_vee(
        days=build(
            [row, row.copy(), row.copy()], [dt.date(2026, 6, 10)] * 3, ids=[1, 2, 3],
            register_start=[0, np.nan, 0], register_end=[19.2, np.nan, 10], profile_keys=["res", "res", "res"],
        ),
        rules=rules,
    )
    assert result.values[0, 50:60].tolist() == pytest.approx([0.2] * 10)  # (19.2 - 17.2) / 10
    assert (result.flags[1:, 50:60] == Flag.MISSING).all()
    assert [e.channel_id for e in result.worklist] == [2, 3]


def test_class_profile_on_the_fall_day_weights_both_one_oclock_hours():
    day = dt.date(2026, 11, 1)
    row = np.full(100, np.nan)
    profile = tuple([1.0] * 24)
    result = run_vee(
        days=build([row], [day], register_start=[0.0], register_end=[25.0], profile_keys=["res"]),
        rules=only(r.ClassProfile(profiles={"res": profile})),
    )
    # 25 kWh over 100 equal-weight slots (the repeated hour included): 0.25 each.
    assert result.values[0].tolist() == pytest.approx([0.25] * 100)


# ---- manual edits, idempotence, head-end estimates ----------------------------------------


def test_manual_edit_sets_edited_and_keeps_who_and_why():
    day = dt.date(2026, 6, 10)
    row = shape()
    edit = ManualEdit(1, day, 20, (0.9, 0.8), reason="customer read confirms usage", edited_by="meter1")
    result = run_vee(days=build([row], [day]), rules=r.default_rule_set(), edits=[edit])
    assert result.values[0, 20:22].tolist() == [0.9, 0.8]
    assert result.flags[0, 20:22].tolist() == [Flag.EDITED, Flag.EDITED]
    record = result.edits[0]
    assert (record.slots, record.edited_by, record.reason) == ((20, 21), "meter1", "customer read confirms usage")
    assert record.old_values == pytest.approx(tuple(row[20:22]))
    # A re-run without the edit keeps the person's values.
    again = run_vee(days=build([result.values[0]], [day], flags=[result.flags[0]]), rules=r.default_rule_set())
    assert again.values[0, 20:22].tolist() == [0.9, 0.8]
    assert again.flags[0, 20] == Flag.EDITED


def test_manual_edit_needs_a_reason_and_a_slot_inside_the_day():
    day = dt.date(2026, 3, 8)
    b = build([shape(92)], [day])
    with pytest.raises(VeeInputError, match="reason"):
        run_vee(days=b, rules=only(), edits=[ManualEdit(1, day, 0, (1.0,), reason=" ", edited_by="x")])
    with pytest.raises(VeeInputError, match="92 slots"):
        run_vee(days=b, rules=only(), edits=[ManualEdit(1, day, 91, (1.0, 1.0), reason="fix", edited_by="x")])


def test_rerunning_on_the_output_changes_nothing_and_never_touches_actuals():
    day = dt.date(2026, 6, 24)
    rows = []
    for k in range(3):
        row = shape() + k
        row[30 + k : 33 + k] = np.nan  # linear
        row[70] = -1.0  # negative: estimated
        rows.append(row)
    history = ChannelDays.build(
        channel_ids=[1] * 5 + [2] * 5 + [3] * 5, days=weekdays_before(day, 5) * 3,
        values=[np.full(96, 0.5)] * 15, tz=TZ, interval_minutes=15,
    )
    b = build(rows, [day] * 3, ids=[1, 2, 3])
    first = run_vee(days=b, rules=r.default_rule_set(), history=history)
    again = run_vee(
        days=build(list(first.values), [day] * 3, ids=[1, 2, 3], flags=list(first.flags)),
        rules=r.default_rule_set(), history=history,
    )
    np.testing.assert_array_equal(first.flags, again.flags)
    np.testing.assert_allclose(first.values, again.values)
    actual = b.flags == Flag.ACTUAL
    actual[:, 70] = False
    np.testing.assert_array_equal(first.values[actual], b.values[actual])
    # The negative reading was replaced (linear from its neighbours) and shows as estimated.
    assert first.flags[0, 70] == Flag.ESTIMATED_LINEAR
    assert first.values[0, 70] == pytest.approx((rows[0][69] + rows[0][71]) / 2)


def test_head_end_estimate_is_kept_when_vee_cannot_do_better():
    day = dt.date(2026, 6, 10)
    row = shape()
    row[0:20] = 0.33  # what the head-end estimated
    flags = np.zeros(96, dtype=np.int16)
    flags[0:20] = Flag.ESTIMATED_HEAD_END
    result = run_vee(days=build([row], [day], flags=[flags]), rules=only(r.LinearInterpolation()))
    assert (result.flags[0, 0:20] == Flag.ESTIMATED_HEAD_END).all()
    assert result.values[0, 0:20].tolist() == [0.33] * 20
    assert result.worklist == ()


def test_a_failed_reading_nothing_can_estimate_keeps_its_value_and_goes_to_the_worklist():
    day = dt.date(2026, 6, 10)
    row = np.full(96, 0.5)  # 96 identical values: stuck, and no anchors left for linear
    rules = r.RuleSet("t", validations=(r.StuckCheck(min_run=8),), estimations=(r.LinearInterpolation(),))
    result = run_vee(days=build([row], [day]), rules=rules)
    assert (result.flags[0] == Flag.FAILED_VALIDATION).all()
    assert (result.values[0] == 0.5).all()
    assert [e.rule for e in result.worklist] == ["estimation"]


# ---- scale ----------------------------------------------------------------------------------


def test_run_vee_over_ten_thousand_channel_days_at_once():
    n = 10_000
    rng = np.random.default_rng(7)
    day = dt.date(2026, 6, 10)
    base = 0.3 + 0.2 * np.sin(np.arange(96) / 96 * 2 * np.pi)
    values = base[None, :] * (1 + 0.1 * rng.random((n, 1))) + 0.01 * rng.random((n, 96))
    truth = values.copy()
    values[::10, 40:43] = np.nan  # 1,000 three-slot gaps
    values[5::10, 60] = 50.0  # 1,000 spikes
    b = ChannelDays.build(channel_ids=np.arange(n), days=[day] * n, values=values, tz=TZ, interval_minutes=15)
    result = run_vee(days=b, rules=r.default_rule_set())
    gap_rows = np.arange(0, n, 10)
    expected = truth[gap_rows, 39][:, None] + (truth[gap_rows, 43] - truth[gap_rows, 39])[:, None] * (
        np.array([1, 2, 3]) / 4
    )
    np.testing.assert_allclose(result.values[gap_rows, 40:43], expected)
    assert (result.flags[gap_rows, 40:43] == Flag.ESTIMATED_LINEAR).all()
    spike_rows = np.arange(5, n, 10)
    assert (result.flags[spike_rows, 60] == Flag.FAILED_VALIDATION).all()
    # 1,000 spikes plus 1,000 "above 100 kW" (50 kWh x 4 = 200 kW) on the same slots.
    assert sorted({e.rule for e in result.worklist}) == ["max_demand", "spike"]
    assert len(result.worklist) == 2000
    untouched = np.ones(n, dtype=bool)
    untouched[gap_rows] = untouched[spike_rows] = False
    np.testing.assert_array_equal(result.values[untouched], truth[untouched])


def test_history_of_another_interval_length_is_refused():
    day = dt.date(2026, 6, 10)
    hourly = ChannelDays.build(channel_ids=[1], days=[day - ONE_DAY], values=[np.ones(24)], tz=TZ, interval_minutes=60)
    with pytest.raises(VeeInputError, match="60-minute"):
        run_vee(days=build([shape()], [day]), rules=only(r.LikeDay()), history=hourly)


def test_an_empty_batch_returns_an_empty_result():
    empty = ChannelDays.build(channel_ids=[], days=[], values=[], tz=TZ, interval_minutes=15)
    result = run_vee(days=empty, rules=r.default_rule_set())
    assert result.values.shape == (0, 0) and result.worklist == ()


def test_hourly_water_data_on_the_fall_day_is_interpolated_over_25_slots():
    day = dt.date(2026, 11, 1)
    row = np.arange(25, dtype=float) * 0.1 + 1.0  # 1.0, 1.1, ... 3.4
    row[3:5] = np.nan
    b = ChannelDays.build(channel_ids=[9], days=[day], values=[row], tz=TZ, interval_minutes=60)
    result = run_vee(days=b, rules=only(r.LinearInterpolation(max_gap_minutes=180)))
    # Neighbours 1.2 (slot 2) and 1.5 (slot 5): 1.3 and 1.4.
    assert result.values[0, 3:5].tolist() == pytest.approx([1.3, 1.4])
