"""The pure halves of VEE and of the import: `vee_plan` and `plan_records` take fetched inputs
and say what to write, without the database or the clock."""
from __future__ import annotations

import datetime as dt
import math
import zoneinfo

import numpy as np

from mdm.flags import NOT_PROVIDED, Flag
from mdm.importing.pipeline import _ChannelRow, plan_records
from mdm.interval_store import IntervalBatch
from mdm.records import IntervalBlock, ParsedRegisterRead
from mdm.vee import rules as r
from mdm.vee.engine import ManualEdit
from mdm.vee_config_resolution import BUILT_IN
from mdm.vee_processing import ChannelInfo, DateSpan, ExistingWorklistItem, InstallationSpan, VeeInputs, vee_plan

TZ = zoneinfo.ZoneInfo("America/Toronto")
D0, D1, D2 = dt.date(2026, 6, 9), dt.date(2026, 6, 10), dt.date(2026, 6, 11)
RULES = r.RuleSet(name="test", validations=(r.GapCheck(max_missing_slots=48), r.SpikeCheck(threshold_pct=300)),
                  estimations=(r.LinearInterpolation(max_gap_minutes=180),))


def _batch(rows):
    """rows: (channel, date, values) of 24 hourly values, sorted."""
    n = len(rows)
    values = np.array([v for _, _, v in rows], dtype=float)
    flags = np.where(np.isnan(values), Flag.MISSING, Flag.ACTUAL).astype(np.int16)
    return IntervalBatch(np.array([c for c, _, _ in rows], np.int64), np.array([d for _, d, _ in rows], "datetime64[D]"),
                         np.full(n, 60, np.int16), np.ones(n, np.int32), np.full(n, 24, np.int32), values, flags)


def _inputs(batch, *, worklist=(), start=D1, end=D2 + dt.timedelta(days=1)):
    return VeeInputs(
        start_date=start, end_date=end, tz=TZ, channels={7: ChannelInfo(7, 60, "kWh", "delivered", 70, "electric_1p")},
        installations={70: (InstallationSpan(dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), None, 700),)},
        rate_classes={700: "residential"}, agreements={700: (DateSpan(dt.date(2026, 1, 1), None),)},
        register_of={7: 7}, register_dials={}, register_reads={}, multipliers={7: (DateSpan(D1, None, 2.0),)},
        assignments=(), rule_sets={BUILT_IN: RULES}, holidays=frozenset(), days=batch, worklist=tuple(worklist),
    )


def _days():
    d1 = [1.0] * 24
    d1[5] = d1[6] = math.nan
    d2 = [1.0] * 24
    d2[10] = 9.0
    return _batch([(7, D0, [1.0] * 24), (7, D1, d1), (7, D2, d2)])


def test_plan_estimates_the_gap_flags_the_spike_and_leaves_history_alone():
    plan = vee_plan(_inputs(_days()))
    (group,) = plan.groups
    assert group.validated == 2  # D0 is history only
    assert group.estimated == 2
    written = {d.local_date: d for d in group.machine_days}
    assert set(written) == {D1, D2} and not group.person_days
    assert written[D1].values[5:7].tolist() == [1.0, 1.0]
    assert written[D1].flags[5:7].tolist() == [Flag.ESTIMATED_LINEAR] * 2
    assert written[D2].flags[10] == Flag.FAILED_VALIDATION
    assert {(f.local_date, f.rule, f.slots) for f in group.findings} == {(D2, "spike", (10,))}  # 2 gaps < 48
    assert [(w.local_date, w.rule, w.slots) for w in group.worklist] == [(D2, "spike", (10,))]


def test_plan_does_not_hand_back_a_question_already_open_or_resolved_on_the_same_slots():
    open_item = ExistingWorklistItem(7, D2, "spike", True, (10,))
    assert vee_plan(_inputs(_days(), worklist=[open_item])).groups[0].worklist == ()
    resolved = ExistingWorklistItem(7, D2, "spike", False, (10,))
    assert vee_plan(_inputs(_days(), worklist=[resolved])).groups[0].worklist == ()
    elsewhere = ExistingWorklistItem(7, D2, "spike", False, (11,))
    assert len(vee_plan(_inputs(_days(), worklist=[elsewhere])).groups[0].worklist) == 1


def test_a_persons_edit_is_planned_under_that_person():
    edit = ManualEdit(7, D2, 10, (1.0,), "checked the meter", "clerk")
    (group,) = vee_plan(_inputs(_days()), edits=[edit]).groups
    person = {d.local_date: d for d in group.person_days}
    assert set(person) == {D2} and person[D2].flags[10] == Flag.EDITED and person[D2].values[10] == 1.0
    assert {d.local_date for d in group.machine_days} == {D1}


def test_a_row_that_lost_track_of_dst_is_refused():
    batch = _batch([(7, D1, [1.0] * 24)])
    bad = IntervalBatch(batch.channel_ids, np.array([dt.date(2026, 3, 8)], "datetime64[D]"), batch.interval_minutes,
                        batch.versions, batch.n_slots, batch.values, batch.flags)
    try:
        vee_plan(_inputs(bad, start=dt.date(2026, 3, 8), end=dt.date(2026, 3, 9)))
    except ValueError as exc:
        assert "24 values for a 23-slot local day" in str(exc)
    else:
        raise AssertionError("a 24-value row on a 23-hour day must be refused")


def test_plan_records_resolves_channels_lays_out_days_and_checks_registers():
    channels = {"M1": [_ChannelRow(5, "kWh", "delivered", 60), _ChannelRow(6, "kWh", "delivered", None)]}
    first_end = dt.datetime(2026, 6, 10, 5, 0, tzinfo=dt.timezone.utc)  # 01:00 local: slot 0
    blocks = [
        IntervalBlock(meter_serial="M1", unit="kWh", direction="delivered", interval_minutes=60,
                      first_end_at=first_end, values=[1.0, 2.0], qualities=[], source_line=2),
        IntervalBlock(meter_serial="M9", unit="kWh", direction="delivered", interval_minutes=60,
                      first_end_at=first_end, values=[1.0], qualities=[], source_line=3),
    ]
    reads = [
        ParsedRegisterRead(meter_serial="M1", unit="kWh", direction="delivered", read_at=first_end, value=12.5,
                           read_type="ami_daily", source_line=4),
        ParsedRegisterRead(meter_serial="M1", unit="kWh", direction="delivered", read_at=first_end,
                           value=float("nan"), read_type="ami_daily", source_line=5),
    ]
    plan = plan_records(blocks=blocks, registers=reads, channels=channels, tz=TZ)
    (day,) = plan.days
    assert (day.channel_id, day.local_date, len(day.values)) == (5, D1, 24)
    assert day.values[:2].tolist() == [1.0, 2.0] and (day.flags[2:] == NOT_PROVIDED).all()
    assert [(p.channel_id, str(p.value)) for p in plan.registers] == [(6, "12.5")]
    assert [(e.line, e.field) for e in plan.errors] == [(3, "MeterID"), (5, "Value")]


# ---- as_of: VEE never estimates what has not happened yet ------------------------------------

LIKE_DAYS = r.RuleSet(name="like", validations=(r.GapCheck(max_missing_slots=2),),
                      estimations=(r.LinearInterpolation(max_gap_minutes=180), r.LikeDay()))


def _today_partly_uploaded():
    """D2 (EDT, UTC-4) holds readings for 00:00-09:59 local only: the rest of the day has not
    happened yet. Slot 3 is a real gap in the past."""
    d2 = [1.0] * 10 + [math.nan] * 14
    d2[3] = math.nan
    return _batch([(7, D0, [1.0] * 24), (7, D1, [1.0] * 24), (7, D2, d2)])


def test_plan_never_estimates_intervals_after_as_of():
    as_of = dt.datetime(2026, 6, 11, 14, 30, tzinfo=dt.timezone.utc)  # 10:30 local: slots 0-9 ended
    base = _inputs(_today_partly_uploaded(), start=D2, end=D2 + dt.timedelta(days=1))
    (group,) = vee_plan(VeeInputs(**{**base.__dict__, "as_of": as_of, "rule_sets": {BUILT_IN: LIKE_DAYS}})).groups
    (day,) = group.machine_days
    assert day.flags[3] == Flag.ESTIMATED_LINEAR and day.values[3] == 1.0  # the past gap: filled
    assert (day.flags[10:] == Flag.MISSING).all() and np.isnan(day.values[10:]).all()  # the future: untouched
    assert group.estimated == 1
    assert group.worklist == ()  # no "estimation" item for hours that are still to come


def test_without_as_of_the_same_day_is_estimated_to_its_end():
    # What main did for every run: like days guessed the 14 hours still to come.
    base = _inputs(_today_partly_uploaded(), start=D2, end=D2 + dt.timedelta(days=1))
    (group,) = vee_plan(VeeInputs(**{**base.__dict__, "rule_sets": {BUILT_IN: LIKE_DAYS}})).groups
    assert group.estimated == 15


def test_a_day_that_starts_after_as_of_is_not_judged_and_vee_estimates_ahead_are_withdrawn():
    ahead = [1.0] * 24
    flags_ahead = [Flag.ACTUAL] * 10 + [Flag.ESTIMATED_LIKE_DAY] * 14  # left by a run that guessed ahead
    batch = _batch([(7, D0, [1.0] * 24), (7, D1, [1.0] * 24), (7, D2, ahead)])
    batch.flags[2, :] = flags_ahead
    base = _inputs(batch, start=D1, end=D2 + dt.timedelta(days=1))
    as_of = dt.datetime(2026, 6, 11, 14, 0, tzinfo=dt.timezone.utc)  # D2 10:00 local
    (group,) = vee_plan(VeeInputs(**{**base.__dict__, "as_of": as_of})).groups
    (day,) = group.machine_days
    assert day.local_date == D2 and (day.flags[10:] == Flag.MISSING).all() and np.isnan(day.values[10:]).all()
    assert (day.flags[:10] == Flag.ACTUAL).all()
    before = VeeInputs(**{**base.__dict__, "as_of": dt.datetime(2026, 6, 11, 3, 0, tzinfo=dt.timezone.utc)})
    (group,) = vee_plan(before).groups  # 23:00 local on D1: D2 had not begun
    assert group.validated == 1


def test_an_edit_after_as_of_is_refused():
    base = _inputs(_today_partly_uploaded(), start=D2, end=D2 + dt.timedelta(days=1))
    inputs = VeeInputs(**{**base.__dict__, "as_of": dt.datetime(2026, 6, 11, 14, 30, tzinfo=dt.timezone.utc)})
    try:
        vee_plan(inputs, edits=[ManualEdit(7, D2, 12, (1.0,), "guess", "clerk")])
    except Exception as exc:  # VeeInputError
        assert "have not happened yet" in str(exc)
    else:
        raise AssertionError("an edit of an interval after as_of must be refused")


# ---- which channels a rule judges ---------------------------------------------------------------

def test_a_received_channel_reading_zero_is_not_a_zero_consumption_item():
    rules = r.RuleSet(name="zero", validations=(r.ZeroConsumptionCheck(),), estimations=())
    zeros = _batch([(7, D1, [0.0] * 24), (8, D1, [0.0] * 24)])
    base = _inputs(zeros, start=D1, end=D2)
    channels = {7: ChannelInfo(7, 60, "kWh", "delivered", 70, "electric_1p"),
                8: ChannelInfo(8, 60, "kWh", "received", 70, "electric_1p")}
    inputs = VeeInputs(**{**base.__dict__, "channels": channels, "rule_sets": {BUILT_IN: rules},
                          "register_of": {7: 7, 8: 8}})
    (group,) = vee_plan(inputs).groups
    assert [(w.channel_id, w.rule) for w in group.worklist] == [(7, "zero_consumption")]
