"""VEE over the interval store, one pass over channels x local dates, as fetch -> plan -> write.

`vee_fetch` reads what the pass needs into frozen, typed inputs (one query each): the channels,
their installations, rate classes and agreement periods (cis), register reads at local
midnights, multipliers, the rule sets in play, every stored day from the longest look-back to
the day after the pass (mdm.interval_store, one batch) and the stored worklist items.
`vee_plan` is pure (no ORM, no clock): it resolves the rule set of each target channel-day,
groups them by rule set and interval length, runs the pure `mdm.vee.engine.run_vee` on each
group and says what to write. `vee_write` writes it in bulk: changed days with
`interval_days_replace` (each keeps its prior version), findings and new worklist items.
`vee_channel_days` is the three in a row; runs (mdm.services.vee_runs) and worklist actions
(mdm.services.worklist) call it inside their transaction."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from cis.selectors import service_point_agreement_periods, service_point_rate_classes
from core.clock import utility_holidays, utility_zone
from django.db.models import F, Q

from mdm import timeutil
from mdm.flags import Flag
from mdm.interval_store import AnyOf, IntervalBatch, read_channel_days
from mdm.models import Channel, ChannelMultiplier, Installation, RegisterRead, VeeFinding, VeeRun, VeeWorklistItem
from mdm.services.intervals import StagedDay, interval_days_replace
from mdm.vee import rules as r
from mdm.vee.channel_days import ChannelDays, elapsed_slots_at
from mdm.vee.engine import ManualEdit, VeeResult, run_vee
from mdm.vee.flags import VEE_ESTIMATES, in_codes
from mdm.vee_config_resolution import (
    BUILT_IN,
    AssignmentRow,
    assignments_in_effect,
    resolve_rule_set_id,
    rule_sets_by_id,
)

DAY = dt.timedelta(days=1)
RECEIVED = Channel.Direction.RECEIVED.value

@dataclass
class Outcome:
    validated: int = 0
    changed: int = 0
    estimated: int = 0
    findings: int = 0
    worklist: int = 0
    days_written: list[tuple[int, dt.date]] = field(default_factory=list)


@dataclass(frozen=True)
class ChannelInfo:
    id: int
    interval_minutes: int
    unit: str
    direction: str
    meter_id: int
    meter_kind: str


@dataclass(frozen=True)
class InstallationSpan:
    """A meter at a service point over [installed_at, removed_at)."""

    installed_at: dt.datetime
    removed_at: dt.datetime | None
    service_point_id: int


@dataclass(frozen=True)
class DateSpan:
    """A date-effective value over [start_date, end_date) (multipliers; agreements carry 1.0)."""

    start_date: dt.date
    end_date: dt.date | None
    value: float = 1.0

    def covers(self, day: dt.date) -> bool:
        return self.start_date <= day and (self.end_date is None or day < self.end_date)


@dataclass(frozen=True)
class ExistingWorklistItem:
    channel_id: int
    local_date: dt.date
    rule: str
    is_open: bool
    slots: tuple[int, ...]


@dataclass(frozen=True)
class VeeInputs:
    """Everything one VEE pass over [start_date, end_date) reads, loaded by `vee_fetch`."""

    start_date: dt.date
    end_date: dt.date
    tz: dt.tzinfo
    channels: Mapping[int, ChannelInfo]  # interval channels asked for
    installations: Mapping[int, tuple[InstallationSpan, ...]]  # by meter id
    rate_classes: Mapping[int, str]  # by service point id
    agreements: Mapping[int, tuple[DateSpan, ...]]  # by service point id: someone holds the service
    register_of: Mapping[int, int]  # interval channel -> channel whose register reads it uses
    register_dials: Mapping[int, int]
    register_reads: Mapping[tuple[int, dt.datetime], float]  # (channel, read_at) -> value
    multipliers: Mapping[int, tuple[DateSpan, ...]]  # by channel id
    assignments: tuple[AssignmentRow, ...]
    rule_sets: Mapping[int, r.RuleSet]
    holidays: frozenset[dt.date]
    days: IntervalBatch  # every stored day from the look-back start to the day after the run
    worklist: tuple[ExistingWorklistItem, ...]  # stored items of these channels and days
    # The pass judges the channel-days as of this instant (the run's creation, or the action's
    # time): slots that had not ended by then are never estimated nor put on the worklist, and
    # days that start after it are not judged at all. None: every stored slot has happened.
    as_of: dt.datetime | None = None


@dataclass(frozen=True)
class DayFacts:
    """The per-row facts of one target channel-day the rules need (mdm.vee.ChannelDays)."""

    active: bool
    profile_key: str
    register_start: float
    register_end: float
    register_dials: int
    register_multiplier: float
    interval_multiplier: float
    edge_before: float
    edge_after: float


@dataclass(frozen=True)
class PlannedFinding:
    channel_id: int
    local_date: dt.date
    rule: str
    slots: tuple[int, ...]
    message: str


@dataclass(frozen=True)
class PlannedWorklistItem:
    channel_id: int
    local_date: dt.date
    rule: str
    message: str
    slots: tuple[int, ...]


@dataclass(frozen=True)
class GroupPlan:
    """What one (rule set, interval length) group writes: VEE's own new versions, the days a
    person edited (written under that person), findings and new worklist items."""

    validated: int
    estimated: int
    machine_days: tuple[StagedDay, ...]
    person_days: tuple[StagedDay, ...]
    findings: tuple[PlannedFinding, ...]
    worklist: tuple[PlannedWorklistItem, ...]


@dataclass(frozen=True)
class VeePlan:
    groups: tuple[GroupPlan, ...]


def _lookback_days(rule_sets: Iterable[r.RuleSet]) -> int:
    days = 1
    for rs in rule_sets:
        for rule in (*rs.validations, *rs.estimations):
            days = max(days, getattr(rule, "lookback_days", 0), getattr(rule, "max_lookback_days", 0))
    return days


def vee_fetch(*, channel_ids: Sequence[int], start_date: dt.date, end_date: dt.date,
              as_of: dt.datetime | None = None) -> VeeInputs | None:
    """Read what a VEE pass needs, one query each (None when no asked channel is an interval
    channel): channels, installations, rate classes and agreement periods (cis), register
    reads at local midnights, multipliers, the assignments and rule sets in play, the stored
    days from the longest look-back to the day after the run, and the stored worklist items."""
    tz = utility_zone()
    chans = {
        c["id"]: ChannelInfo(c["id"], c["interval_minutes"] or 0, c["unit"], c["direction"], c["meter_id"], c["meter__kind"])
        for c in Channel.objects.filter(AnyOf(F("id"), channel_ids), interval_minutes__isnull=False).values(
            "id", "interval_minutes", "unit", "direction", "meter_id", "meter__kind"
        )
    }
    if not chans:
        return None
    first_start, last_end = timeutil.day_start_utc(start_date, tz), timeutil.day_start_utc(end_date, tz)
    meter_ids = {c.meter_id for c in chans.values()}
    installs: dict[int, list[InstallationSpan]] = defaultdict(list)
    for meter_id, installed_at, removed_at, sp in Installation.objects.filter(
        Q(removed_at__isnull=True) | Q(removed_at__gt=first_start), AnyOf(F("meter_id"), meter_ids),
        installed_at__lt=last_end,
    ).values_list("meter_id", "installed_at", "removed_at", "service_point_id"):
        installs[meter_id].append(InstallationSpan(installed_at, removed_at, sp))
    sp_ids = {i.service_point_id for rows in installs.values() for i in rows}
    rate_classes = service_point_rate_classes(service_point_ids=sp_ids)
    agreements = service_point_agreement_periods(service_point_ids=sp_ids, start_date=start_date, end_date=end_date)

    # Register reads for the sum check and the class profile: the register-only channel of the
    # same unit and direction on the meter, or the interval channel's own register.
    register_of: dict[int, int] = {cid: cid for cid in chans}
    reg_dials: dict[int, int] = {}
    by_register_key: dict[tuple, list[int]] = defaultdict(list)
    for c in chans.values():
        by_register_key[(c.meter_id, c.unit, c.direction)].append(c.id)
    for rid, meter_id, unit, direction, dials in Channel.objects.filter(
        AnyOf(F("meter_id"), meter_ids), interval_minutes__isnull=True
    ).values_list("id", "meter_id", "unit", "direction", "dials"):
        reg_dials[rid] = dials or 0
        for cid in by_register_key.get((meter_id, unit, direction), ()):
            register_of[cid] = rid
    reads = {
        (cid, at): float(v)
        for cid, at, v in RegisterRead.objects.filter(
            AnyOf(F("channel_id"), register_of.values()), read_at__gte=first_start, read_at__lte=last_end
        ).values_list("channel_id", "read_at", "value")
    }
    mults: dict[int, list[DateSpan]] = defaultdict(list)
    for m in ChannelMultiplier.objects.filter(AnyOf(F("channel_id"), set(chans) | set(register_of.values()))):
        mults[m.channel_id].append(DateSpan(m.start_date, m.end_date, float(m.multiplier)))

    assignments = assignments_in_effect(start_date=start_date, end_date=end_date)
    rule_sets = rule_sets_by_id({a.rule_set_id for a in assignments} | {BUILT_IN})
    lookback = _lookback_days(rule_sets.values())
    days = read_channel_days(list(chans), start_date - lookback * DAY, end_date + DAY)
    worklist = tuple(
        ExistingWorklistItem(cid, day, rule, status == VeeWorklistItem.Status.OPEN, tuple(slots))
        for cid, day, rule, status, slots in VeeWorklistItem.objects.filter(
            AnyOf(F("channel_id"), chans), local_date__gte=start_date, local_date__lt=end_date
        ).values_list("channel_id", "local_date", "rule", "status", "slots")
    )
    return VeeInputs(
        start_date=start_date, end_date=end_date, tz=tz, channels=chans,
        installations={m: tuple(rows) for m, rows in installs.items()}, rate_classes=dict(rate_classes),
        agreements={sp: tuple(DateSpan(a, b) for a, b in periods) for sp, periods in agreements.items()},
        register_of=register_of, register_dials=reg_dials, register_reads=reads,
        multipliers={c: tuple(rows) for c, rows in mults.items()}, assignments=tuple(assignments),
        rule_sets=rule_sets, holidays=frozenset(utility_holidays(start_date - lookback * DAY, end_date)),
        days=days, worklist=worklist, as_of=as_of,
    )


def _installed_sp(installs: Sequence[InstallationSpan], at: dt.datetime) -> int | None:
    for i in installs:
        if i.installed_at <= at and (i.removed_at is None or at < i.removed_at):
            return i.service_point_id
    return None


def _multiplier_on(periods: Sequence[DateSpan], day: dt.date) -> float:
    for p in periods:
        if p.covers(day):
            return p.value
    return 1.0


def _day_facts(inputs: VeeInputs, info: ChannelInfo, day: dt.date, sp: int | None, rate_class: str) -> DayFacts:
    days, tz = inputs.days, inputs.tz
    prev, nxt = days.row_index.get((info.id, day - DAY)), days.row_index.get((info.id, day + DAY))
    reg = inputs.register_of[info.id]
    edge_before = np.nan
    if prev is not None:
        n = int(days.n_slots[prev])
        if days.flags[prev, n - 1] == Flag.ACTUAL:
            edge_before = float(days.values[prev, n - 1])
    edge_after = np.nan
    if nxt is not None and days.n_slots[nxt] and days.flags[nxt, 0] == Flag.ACTUAL:
        edge_after = float(days.values[nxt, 0])
    return DayFacts(
        # "Active" for the zero-usage rule: someone holds an agreement for the service that day;
        # a vacant premise's meter reading zero is expected, not an exception.
        active=sp is not None and any(a.covers(day) for a in inputs.agreements.get(sp, ())),
        profile_key=rate_class,
        register_start=inputs.register_reads.get((reg, timeutil.day_start_utc(day, tz)), np.nan),
        register_end=inputs.register_reads.get((reg, timeutil.day_start_utc(day + DAY, tz)), np.nan),
        register_dials=inputs.register_dials.get(reg, 0),
        register_multiplier=_multiplier_on(inputs.multipliers.get(reg, ()), day),
        interval_multiplier=_multiplier_on(inputs.multipliers.get(info.id, ()), day),
        edge_before=edge_before, edge_after=edge_after,
    )


def _padded(days: IntervalBatch, rows: np.ndarray | Sequence[int], tz: dt.tzinfo, minutes: int) -> tuple[np.ndarray, np.ndarray]:
    """The rows' values and flags padded to exactly their local days' widest slot count (the
    ChannelDays fast path). Raises ValueError for a stored row whose length is not its local
    day's slot count: VEE must not guess."""
    idx = np.asarray(rows, dtype=np.int64)
    expected, clock = timeutil.stack_layouts(days.dates[idx], tz, minutes) if len(idx) else (
        np.zeros(0, np.int64), np.zeros((0, 0), np.int64))
    got = days.n_slots[idx]
    bad = np.nonzero(got != expected)[0]
    if len(bad):
        i = int(bad[0])
        raise ValueError(f"channel {days.channel_ids[idx[i]]} on {days.dates[idx[i]]}: {got[i]} values for a "
                         f"{expected[i]}-slot local day")
    width = clock.shape[1]
    return days.values[idx, :width], days.flags[idx, :width]


def vee_plan(inputs: VeeInputs, *, edits: Sequence[ManualEdit] = ()) -> VeePlan:
    """Pure: which rule set judges each stored target day, the engine's run per (rule set,
    interval length) group, and what to write (no ORM, no clock).

    Raises mdm.vee.engine.VeeInputError for an edit that does not fit its day."""
    days, tz = inputs.days, inputs.tz
    groups: dict[tuple[int, int], list[int]] = defaultdict(list)
    facts: dict[int, DayFacts] = {}
    for row, (cid, day) in enumerate(zip(days.channel_ids.tolist(), days.local_dates)):
        info = inputs.channels.get(cid)
        if info is None or not (inputs.start_date <= day < inputs.end_date):
            continue
        if inputs.as_of is not None and timeutil.day_start_utc(day, tz) >= inputs.as_of:
            continue  # a day that had not begun by as_of: nothing in it to judge
        installs = inputs.installations.get(info.meter_id, ())
        sp = _installed_sp(installs, timeutil.day_start_utc(day, tz))
        if sp is None:  # installed later that day: its first day still belongs to it
            sp = _installed_sp(installs, timeutil.day_start_utc(day + DAY, tz) - dt.timedelta(seconds=1))
        rate_class = inputs.rate_classes.get(sp, "") if sp is not None else ""
        rs_id = resolve_rule_set_id(inputs.assignments, day=day, service_point_id=sp, rate_class=rate_class,
                                    meter_kind=info.meter_kind)
        groups[(rs_id, int(days.interval_minutes[row]))].append(row)
        facts[row] = _day_facts(inputs, info, day, sp, rate_class)

    seen: set[tuple] = {
        (w.channel_id, w.local_date, w.rule) if w.is_open else (w.channel_id, w.local_date, w.rule, w.slots)
        for w in inputs.worklist
    }
    edited = {(e.channel_id, e.day) for e in edits}
    planned = []
    for (rs_id, minutes), rows in sorted(groups.items()):
        # rows are in (channel, date) order: the batch is sorted so
        keys = [(int(days.channel_ids[i]), days.local_dates[i]) for i in rows]
        values, flags = _padded(days, rows, tz, minutes)
        batch = ChannelDays.build(
            channel_ids=days.channel_ids[rows], days=days.dates[rows], values=values, flags=flags,
            tz=tz, interval_minutes=minutes,
            active=[facts[i].active for i in rows],
            profile_keys=[facts[i].profile_key for i in rows],
            register_start=[facts[i].register_start for i in rows],
            register_end=[facts[i].register_end for i in rows],
            register_dials=[facts[i].register_dials for i in rows],
            register_multiplier=[facts[i].register_multiplier for i in rows],
            interval_multiplier=[facts[i].interval_multiplier for i in rows],
            edge_before=[facts[i].edge_before for i in rows],
            edge_after=[facts[i].edge_after for i in rows],
            expected_units=[inputs.channels[int(days.channel_ids[i])].unit for i in rows],
            received=[inputs.channels[int(days.channel_ids[i])].direction == RECEIVED for i in rows],
            elapsed_slots=None if inputs.as_of is None else elapsed_slots_at(
                days.dates[rows], tz, minutes, inputs.as_of, days.n_slots[rows]),
        )
        group_channels = np.unique(days.channel_ids[rows])
        hist_rows = np.flatnonzero(
            np.isin(days.channel_ids, group_channels) & (days.dates < np.datetime64(inputs.end_date, "D"))
            & (days.interval_minutes == minutes)
        )
        h_values, h_flags = _padded(days, hist_rows, tz, minutes)
        history = ChannelDays.build(channel_ids=days.channel_ids[hist_rows], days=days.dates[hist_rows],
                                    values=h_values, flags=h_flags, tz=tz, interval_minutes=minutes)
        in_group = set(keys)
        group_edits = [e for e in edits if (e.channel_id, e.day) in in_group]
        result = run_vee(days=batch, rules=inputs.rule_sets[rs_id], history=history, holidays=inputs.holidays,
                         edits=group_edits)
        planned.append(_group_plan(batch, result, keys, edited, seen))
    return VeePlan(groups=tuple(planned))


def _group_plan(batch: ChannelDays, result: VeeResult, keys: Sequence[tuple[int, dt.date]],
                edited: set[tuple[int, dt.date]], seen: set[tuple]) -> GroupPlan:
    estimated = in_codes(result.flags, VEE_ESTIMATES) & batch.valid
    staged = []
    for row in np.nonzero(result.changed(batch))[0]:
        n = int(batch.n_slots[row])
        staged.append(StagedDay(
            int(batch.channel_ids[row]), keys[row][1], batch.interval_minutes,
            result.values[row, :n].copy(), result.flags[row, :n].astype(np.int16),
        ))
    findings = tuple(
        PlannedFinding(int(batch.channel_ids[row]), keys[row][1], f.rule,
                       tuple(int(s) for s in np.nonzero(f.slots[row])[0]), f.message(row))
        for f in result.findings for row in np.nonzero(f.days)[0]
    )
    # Not when the same exception is already open, nor when a person already resolved the same
    # rule on the same slots of that day: a re-run over the same data must not hand the same
    # question back.
    items = []
    for e in result.worklist:
        if (e.channel_id, e.day, e.rule) in seen or (e.channel_id, e.day, e.rule, e.slots) in seen:
            continue
        seen.add((e.channel_id, e.day, e.rule))
        items.append(PlannedWorklistItem(e.channel_id, e.day, e.rule, e.message, tuple(e.slots)))
    return GroupPlan(
        validated=batch.size, estimated=int(estimated.sum()),
        machine_days=tuple(s for s in staged if (s.channel_id, s.local_date) not in edited),
        person_days=tuple(s for s in staged if (s.channel_id, s.local_date) in edited),
        findings=findings, worklist=tuple(items),
    )


def vee_write(plan: VeePlan, *, now: dt.datetime, vee_run: VeeRun | None = None, changed_by_id: int | None = None,
              reason: str = "") -> Outcome:
    """Write the plan: changed days with interval_days_replace (each keeps its prior version;
    VEE's own under the run, a person's edits under that person), findings (for a run) and the
    new worklist items. Bulk writes only."""
    outcome = Outcome()
    run_id = vee_run.pk if vee_run else None
    for group in plan.groups:
        outcome.validated += group.validated
        outcome.estimated += group.estimated
        if group.machine_days:
            interval_days_replace(days=group.machine_days, now=now, reason=reason or f"VEE run {run_id}",
                                  vee_run_id=run_id, changed_by_id=changed_by_id if not vee_run else None)
        if group.person_days:
            interval_days_replace(days=group.person_days, now=now, reason=reason, changed_by_id=changed_by_id,
                                  vee_run_id=run_id)
        written = [*group.machine_days, *group.person_days]
        outcome.changed += len(written)
        outcome.days_written += [(s.channel_id, s.local_date) for s in written]
        if vee_run is not None:
            VeeFinding.objects.bulk_create([
                VeeFinding(vee_run=vee_run, channel_id=f.channel_id, local_date=f.local_date, rule=f.rule,
                           slots=list(f.slots), message=f.message)
                for f in group.findings
            ], batch_size=2000)
            outcome.findings += len(group.findings)
        VeeWorklistItem.objects.bulk_create([
            VeeWorklistItem(channel_id=w.channel_id, local_date=w.local_date, rule=w.rule, message=w.message,
                            slots=list(w.slots), vee_run=vee_run, created_at=now)
            for w in group.worklist
        ], ignore_conflicts=True)
        outcome.worklist += len(group.worklist)
    return outcome


def vee_channel_days(*, channel_ids: Sequence[int], start_date: dt.date, end_date: dt.date, now: dt.datetime,
                     vee_run: VeeRun | None = None, edits: Sequence[ManualEdit] = (), changed_by_id: int | None = None,
                     reason: str = "", as_of: dt.datetime | None = None) -> Outcome:
    """Run VEE over the stored days of `channel_ids` in [start_date, end_date) and write the
    result: `vee_fetch` -> `vee_plan` (pure) -> `vee_write`. Days never loaded are left alone.
    Must run inside a transaction (the caller's chunk or action); findings are stored only for
    a run.

    The days are judged as of `as_of` (default `now`; a run passes its creation time): slots
    that had not ended by then stay as they are, MISSING, and are never worklist items.

    Raises mdm.vee.engine.VeeInputError for an edit that does not fit its day (or lies after
    as_of)."""
    inputs = vee_fetch(channel_ids=channel_ids, start_date=start_date, end_date=end_date,
                       as_of=as_of if as_of is not None else now)
    if inputs is None:
        return Outcome()
    plan = vee_plan(inputs, edits=edits)
    return vee_write(plan, now=now, vee_run=vee_run, changed_by_id=changed_by_id, reason=reason)
