"""VEE over the interval store: which rule set applies where, the bulk loader that feeds the pure
`mdm.vee.engine.run_vee`, VEE runs (chunked, resumable, idempotent) and the worklist actions.

The path of one chunk: load the chunk's channels, their installations, rate classes, register
reads and multipliers, and every stored day from the look-back start to the day after the run
(one query each); group the target channel-days by rule set and interval length; run the pure
engine; write the changed days with `interval_days_replace` (each keeps its prior version and
names this run); store findings and new worklist items. The writes and the chunk's done mark
commit together (core.runs.chunk_claim), so a chunk killed half-way is simply run again. Each
chunk carries its own channel ids: no chunk reads the run's whole channel list.

Domain code never reads the clock: callers pass `now`."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from cis.selectors import service_point_agreement_periods, service_point_rate_classes
from core import runs
from core.clock import utility_holidays, utility_zone
from django.db import transaction
from django.db.models import Q

from mdm import selectors, timeutil
from mdm.interval_store import IntervalBatch, read_channel_days
from mdm.flags import Flag
from mdm.models import (
    Channel,
    ChannelMultiplier,
    Installation,
    IntervalDay,
    RegisterRead,
    VeeFinding,
    VeeRuleSet,
    VeeRuleSetAssignment,
    VeeRun,
    VeeRunChunk,
    VeeWorklistItem,
)
from mdm.services.intervals import StagedDay, interval_days_replace
from mdm.vee import rules as r
from mdm.vee.channel_days import ChannelDays
from mdm.vee.engine import ManualEdit, VeeResult, run_vee
from mdm.vee.flags import VEE_ESTIMATES, in_codes
from mdm.vee_config import fingerprint, rule_set_from_json

DAY = dt.timedelta(days=1)
BUILT_IN = 0  # rule-set id used when no assignment is in effect: mdm.vee.rules.default_rule_set()
DEFAULT_CHUNK_SIZE = 500


class VeeRunError(Exception):
    """A VEE run that cannot be created or continued (no channels, bad dates)."""


class WorklistError(Exception):
    """A worklist action that does not fit the item (already resolved, no reason, bad slots)."""


# ---- which rule set applies ------------------------------------------------------------------

SPECIFICITY = {
    VeeRuleSetAssignment.Scope.SERVICE_POINT: 3,
    VeeRuleSetAssignment.Scope.RATE_CLASS: 2,
    VeeRuleSetAssignment.Scope.METER_KIND: 1,
    VeeRuleSetAssignment.Scope.DEFAULT: 0,
}


@dataclass(frozen=True)
class AssignmentRow:
    rule_set_id: int
    scope: str
    scope_value: str
    priority: int
    start_date: dt.date
    end_date: dt.date | None


def assignments_in_effect(*, start_date: dt.date, end_date: dt.date) -> list[AssignmentRow]:
    """Every assignment overlapping [start_date, end_date)."""
    qs = VeeRuleSetAssignment.objects.filter(
        Q(end_date__isnull=True) | Q(end_date__gt=start_date), start_date__lt=end_date
    ).values_list("rule_set_id", "scope", "scope_value", "priority", "start_date", "end_date")
    return [AssignmentRow(*row) for row in qs]


def resolve_rule_set_id(assignments: Sequence[AssignmentRow], *, day: dt.date, service_point_id: int | None,
                        rate_class: str, meter_kind: str) -> int:
    """The rule set of the most specific assignment in effect on `day` (service point > rate
    class > meter kind > default; then the higher priority); BUILT_IN when none applies."""
    wanted = {
        VeeRuleSetAssignment.Scope.SERVICE_POINT: str(service_point_id) if service_point_id is not None else None,
        VeeRuleSetAssignment.Scope.RATE_CLASS: rate_class or None,
        VeeRuleSetAssignment.Scope.METER_KIND: meter_kind or None,
        VeeRuleSetAssignment.Scope.DEFAULT: "",
    }
    best, best_key = BUILT_IN, None
    for a in assignments:
        if not (a.start_date <= day and (a.end_date is None or day < a.end_date)):
            continue
        if wanted.get(a.scope) is None or a.scope_value != wanted[a.scope]:
            continue
        key = (SPECIFICITY[a.scope], a.priority)
        if best_key is None or key > best_key:
            best, best_key = a.rule_set_id, key
    return best


def rule_sets_by_id(ids: Iterable[int]) -> dict[int, r.RuleSet]:
    """Raises mdm.vee_config.RuleSetConfigError for a stored rule set that no longer parses."""
    out: dict[int, r.RuleSet] = {}
    for rs in VeeRuleSet.objects.filter(pk__in=[i for i in ids if i != BUILT_IN]):
        out[rs.pk] = rule_set_from_json(rs.name, rs.rules)
    out[BUILT_IN] = r.default_rule_set()
    return out


def config_version() -> str:
    """A fingerprint of every rule set and assignment: a run's key changes when staff do."""
    sets = list(VeeRuleSet.objects.order_by("pk").values_list("pk", "version", "rules"))
    assignments = list(
        VeeRuleSetAssignment.objects.order_by("pk").values_list(
            "rule_set_id", "scope", "scope_value", "priority", "start_date", "end_date"
        )
    )
    return fingerprint([sets, assignments])


# ---- the channel-day processing: fetch -> plan -> write -----------------------------------------


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


def vee_fetch(*, channel_ids: Sequence[int], start_date: dt.date, end_date: dt.date) -> VeeInputs | None:
    """Read what a VEE pass needs, one query each (None when no asked channel is an interval
    channel): channels, installations, rate classes and agreement periods (cis), register
    reads at local midnights, multipliers, the assignments and rule sets in play, the stored
    days from the longest look-back to the day after the run, and the stored worklist items."""
    tz = utility_zone()
    chans = {
        c["id"]: ChannelInfo(c["id"], c["interval_minutes"], c["unit"], c["direction"], c["meter_id"], c["meter__kind"])
        for c in Channel.objects.filter(pk__in=list(channel_ids), interval_minutes__isnull=False).values(
            "id", "interval_minutes", "unit", "direction", "meter_id", "meter__kind"
        )
    }
    if not chans:
        return None
    first_start, last_end = timeutil.day_start_utc(start_date, tz), timeutil.day_start_utc(end_date, tz)
    meter_ids = {c.meter_id for c in chans.values()}
    installs: dict[int, list[InstallationSpan]] = defaultdict(list)
    for meter_id, installed_at, removed_at, sp in Installation.objects.filter(
        Q(removed_at__isnull=True) | Q(removed_at__gt=first_start), meter_id__in=meter_ids, installed_at__lt=last_end,
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
        meter_id__in=meter_ids, interval_minutes__isnull=True
    ).values_list("id", "meter_id", "unit", "direction", "dials"):
        reg_dials[rid] = dials or 0
        for cid in by_register_key.get((meter_id, unit, direction), ()):
            register_of[cid] = rid
    reads = {
        (cid, at): float(v)
        for cid, at, v in RegisterRead.objects.filter(
            channel_id__in=set(register_of.values()), read_at__gte=first_start, read_at__lte=last_end
        ).values_list("channel_id", "read_at", "value")
    }
    mults: dict[int, list[DateSpan]] = defaultdict(list)
    for m in ChannelMultiplier.objects.filter(channel_id__in=set(chans) | set(register_of.values())):
        mults[m.channel_id].append(DateSpan(m.start_date, m.end_date, float(m.multiplier)))

    assignments = assignments_in_effect(start_date=start_date, end_date=end_date)
    rule_sets = rule_sets_by_id({a.rule_set_id for a in assignments} | {BUILT_IN})
    lookback = _lookback_days(rule_sets.values())
    days = read_channel_days(list(chans), start_date - lookback * DAY, end_date + DAY)
    worklist = tuple(
        ExistingWorklistItem(cid, day, rule, status == VeeWorklistItem.Status.OPEN, tuple(slots))
        for cid, day, rule, status, slots in VeeWorklistItem.objects.filter(
            channel_id__in=list(chans), local_date__gte=start_date, local_date__lt=end_date
        ).values_list("channel_id", "local_date", "rule", "status", "slots")
    )
    return VeeInputs(
        start_date=start_date, end_date=end_date, tz=tz, channels=chans,
        installations={m: tuple(rows) for m, rows in installs.items()}, rate_classes=dict(rate_classes),
        agreements={sp: tuple(DateSpan(a, b) for a, b in periods) for sp, periods in agreements.items()},
        register_of=register_of, register_dials=reg_dials, register_reads=reads,
        multipliers={c: tuple(rows) for c, rows in mults.items()}, assignments=tuple(assignments),
        rule_sets=rule_sets, holidays=frozenset(utility_holidays(start_date - lookback * DAY, end_date)),
        days=days, worklist=worklist,
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


def _padded(days: IntervalBatch, rows: Sequence[int], tz: dt.tzinfo, minutes: int) -> tuple[np.ndarray, np.ndarray]:
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
                     reason: str = "") -> Outcome:
    """Run VEE over the stored days of `channel_ids` in [start_date, end_date) and write the
    result: `vee_fetch` -> `vee_plan` (pure) -> `vee_write`. Days never loaded are left alone.
    Must run inside a transaction (the caller's chunk or action); findings are stored only for
    a run.

    Raises mdm.vee.engine.VeeInputError for an edit that does not fit its day."""
    inputs = vee_fetch(channel_ids=channel_ids, start_date=start_date, end_date=end_date)
    if inputs is None:
        return Outcome()
    plan = vee_plan(inputs, edits=edits)
    return vee_write(plan, now=now, vee_run=vee_run, changed_by_id=changed_by_id, reason=reason)


# ---- runs ------------------------------------------------------------------------------------------


def vee_run_create(*, channel_ids: Sequence[int], start_date: dt.date, end_date: dt.date, scope: str,
                   now: dt.datetime, user=None, chunk_size: int = DEFAULT_CHUNK_SIZE) -> VeeRun:
    """A queued run over the channels and [start_date, end_date), split into chunks of
    `chunk_size` channels (each chunk keeps its own channel ids). While a run with the same
    key (scope, channels, dates, configuration) is unfinished, that run is returned instead of
    a second one.

    Raises VeeRunError when there are no channels or end_date is not after start_date."""
    ids = sorted({int(c) for c in channel_ids})
    if not ids:
        raise VeeRunError("No channels to run VEE over.")
    if end_date <= start_date:
        raise VeeRunError("The end date must be after the start date.")
    if chunk_size < 1:
        raise VeeRunError("The chunk size must be at least 1.")
    version = config_version()
    key = fingerprint([scope, ids, start_date.isoformat(), end_date.isoformat(), version])
    with transaction.atomic():
        existing = VeeRun.objects.filter(idempotency_key=key, status__in=runs.UNFINISHED).first()
        if existing:
            return existing
        slices = [ids[i:i + chunk_size] for i in range(0, len(ids), chunk_size)]
        run = VeeRun.objects.create(
            idempotency_key=key, scope=scope[:200], start_date=start_date, end_date=end_date,
            config_version=version, chunk_size=chunk_size, progress_total=len(ids), chunks_total=len(slices),
            created_at=now, started_by=user if user is not None and user.is_authenticated else None,
        )
        VeeRunChunk.objects.bulk_create(
            VeeRunChunk(run=run, number=i, size=len(part), channel_ids=part) for i, part in enumerate(slices)
        )
    return run


def vee_run_submit(*, channel_ids: Sequence[int], start_date: dt.date, end_date: dt.date, scope: str,
                   now: dt.datetime, user=None, chunk_size: int = DEFAULT_CHUNK_SIZE) -> VeeRun:
    """Create the run and hand it to the Celery workers once committed. Raises VeeRunError."""
    run = vee_run_create(channel_ids=channel_ids, start_date=start_date, end_date=end_date, scope=scope, now=now,
                         user=user, chunk_size=chunk_size)
    from mdm.tasks import vee_run_task

    transaction.on_commit(lambda: vee_run_task.delay(vee_run_id=run.pk))
    return run


def channels_with_data(*, start_date: dt.date, end_date: dt.date) -> list[int]:
    """Interval channels with any stored day in [start_date, end_date)."""
    return list(
        IntervalDay.objects.filter(local_date__gte=start_date, local_date__lt=end_date)
        .values_list("channel_id", flat=True).distinct().order_by("channel_id")
    )


def vee_run_pending_chunks(*, vee_run_id: int) -> list[int]:
    return runs.pending_chunks(VeeRunChunk, run_id=vee_run_id)


def vee_run_begin(*, vee_run_id: int, now: dt.datetime) -> list[int]:
    """Mark the run running; returns the chunks still to do (none for a finished run)."""
    if not VeeRun.objects.filter(pk=vee_run_id, status__in=runs.UNFINISHED).exists():
        return []
    runs.run_begin(VeeRun, run_id=vee_run_id, now=now)
    return vee_run_pending_chunks(vee_run_id=vee_run_id)


def vee_run_resume(*, vee_run_id: int, now: dt.datetime, enqueue=None) -> list[int]:
    """Queue again the chunks not done (failed ones too); `enqueue(numbers)` runs after commit."""
    return runs.run_resume(VeeRunChunk, run_id=vee_run_id, now=now, enqueue=enqueue)


def vee_run_chunk_process(*, vee_run_id: int, chunk: int, now: dt.datetime) -> bool:
    """Run one chunk; False if it was already done (or another worker holds it). Its writes,
    findings, worklist items, done mark and the run's counts commit together."""
    with runs.chunk_claim(VeeRunChunk, run_id=vee_run_id, number=chunk, now=now) as claim:
        if claim is None:
            return False
        run = claim.run
        outcome = vee_channel_days(channel_ids=claim.chunk.channel_ids, start_date=run.start_date,
                                   end_date=run.end_date, now=now, vee_run=run)
        if run.status == VeeRun.Status.QUEUED:  # a chunk run without vee_run_begin (tests, a stray task)
            runs.run_begin(VeeRun, run_id=vee_run_id, now=now)
        claim.add(
            channel_days_validated=outcome.validated, channel_days_changed=outcome.changed,
            intervals_estimated=outcome.estimated, findings_count=outcome.findings, worklist_items=outcome.worklist,
        )
    return True


def vee_run_fail(*, vee_run_id: int, error: str, now: dt.datetime) -> None:
    runs.run_fail(VeeRun, run_id=vee_run_id, error=error, now=now)


def vee_run_chunk_fail(*, vee_run_id: int, chunk: int, error: str, now: dt.datetime) -> None:
    """A chunk that cannot be done: it keeps its error and the run fails at once."""
    runs.chunk_fail(VeeRunChunk, run_id=vee_run_id, number=chunk, error=error, now=now)
    vee_run_fail(vee_run_id=vee_run_id, error=error, now=now)


def vee_run_execute(*, vee_run_id: int, now_fn, on_chunk=None) -> VeeRun:
    """Run every pending chunk in this process (the command's --inline, the worklist re-run).
    `now_fn` gives the time for each chunk; `on_chunk(run)` is called after each."""
    for index in vee_run_begin(vee_run_id=vee_run_id, now=now_fn()):
        vee_run_chunk_process(vee_run_id=vee_run_id, chunk=index, now=now_fn())
        if on_chunk:
            on_chunk(VeeRun.objects.get(pk=vee_run_id))
    return VeeRun.objects.get(pk=vee_run_id)


def vee_run_for_import(*, import_run_id: int, now: dt.datetime) -> VeeRun | None:
    """The run over the channel-days an import loaded or corrected (their current version names
    the import), or None when it changed nothing."""
    rows = IntervalDay.objects.filter(import_run_id=import_run_id).values_list("channel_id", "local_date")
    channels, first, last = set(), None, None
    for cid, day in rows.iterator(chunk_size=5000):
        channels.add(cid)
        first = day if first is None or day < first else first
        last = day if last is None or day > last else last
    if not channels:
        return None
    return vee_run_create(channel_ids=channels, start_date=first, end_date=last + DAY,
                          scope=f"import {import_run_id}", now=now)


def import_done_queue_vee(*, import_run_id: int) -> None:
    """Called by the import pipeline when a run finishes: queue VEE over what it touched once
    the import's last chunk is committed."""
    from celery import current_task

    from mdm.tasks import vee_after_import_task

    # Inside the import's chunk task: VEE follows on the queue the import came from, so routing
    # imports to dedicated workers routes their VEE there too.
    request = current_task.request if current_task else None
    queue = ((request.delivery_info or {}).get("routing_key") if request else None) or None
    options = {"queue": queue} if queue else {}
    transaction.on_commit(lambda: vee_after_import_task.apply_async(kwargs={"import_run_id": import_run_id}, **options))


# ---- the worklist -------------------------------------------------------------------------------


def _open_item(item_id: int) -> VeeWorklistItem:
    item = VeeWorklistItem.objects.select_for_update().select_related("channel").get(pk=item_id)
    if item.status != VeeWorklistItem.Status.OPEN:
        raise WorklistError(f"This item is already {item.get_status_display().lower()}.")
    return item


def _resolve(item: VeeWorklistItem, *, status: str, user, now: dt.datetime, reason: str) -> VeeWorklistItem:
    item.status = status
    item.resolved_by = user
    item.resolved_at = now
    item.reason = reason
    item.save(update_fields=["status", "resolved_by", "resolved_at", "reason"])
    return item


def worklist_item_accept(*, item_id: int, user, now: dt.datetime, reason: str = "") -> VeeWorklistItem:
    """A person accepts what the store holds for the item's day. Readings the rule failed
    (FAILED_VALIDATION) become EDITED with their own value, so the next run does not fail them
    again; VEE's estimates stay as they are.

    Raises WorklistError when the item is not open."""
    with transaction.atomic():
        item = _open_item(item_id)
        reason = reason.strip() or f"Accepted ({item.rule})"
        day = selectors.channel_days([item.channel_id], item.local_date, item.local_date + DAY)[item.channel_id].get(item.local_date)
        if day is not None:
            failed = [s for s in item.slots if s < len(day.flags) and day.flags[s] == Flag.FAILED_VALIDATION]
            edits = [
                ManualEdit(item.channel_id, item.local_date, s, (float(day.values[s]),), reason, user.get_username())
                for s in failed
            ]
            if edits:
                vee_channel_days(channel_ids=[item.channel_id], start_date=item.local_date,
                                 end_date=item.local_date + DAY, now=now, edits=edits, changed_by_id=user.pk,
                                 reason=reason)
        return _resolve(item, status=VeeWorklistItem.Status.ACCEPTED, user=user, now=now, reason=reason)


def worklist_item_edit(*, item_id: int, first_slot: int, values: Sequence[float], reason: str, user,
                       now: dt.datetime) -> VeeWorklistItem:
    """A person keys values for slots first_slot.. of the item's day: they become EDITED (never
    validated or estimated over again), the day is re-validated around them, and the new
    version records who and why.

    Raises WorklistError (item not open, no reason, no values, slots outside the day)."""
    if not reason.strip():
        raise WorklistError("A reason is required for a manual edit.")
    if not values:
        raise WorklistError("Enter at least one value.")
    from mdm.vee.engine import VeeInputError

    with transaction.atomic():
        item = _open_item(item_id)
        edit = ManualEdit(item.channel_id, item.local_date, int(first_slot), tuple(float(v) for v in values),
                          reason.strip(), user.get_username())
        try:
            vee_channel_days(channel_ids=[item.channel_id], start_date=item.local_date, end_date=item.local_date + DAY,
                             now=now, edits=[edit], changed_by_id=user.pk, reason=reason.strip())
        except VeeInputError as exc:
            raise WorklistError(str(exc)) from exc
        return _resolve(item, status=VeeWorklistItem.Status.EDITED, user=user, now=now, reason=reason.strip())


def worklist_item_dismiss(*, item_id: int, user, now: dt.datetime, reason: str) -> VeeWorklistItem:
    """Raises WorklistError when the item is not open or no reason is given."""
    if not reason.strip():
        raise WorklistError("Say why the item is dismissed.")
    with transaction.atomic():
        item = _open_item(item_id)
        return _resolve(item, status=VeeWorklistItem.Status.DISMISSED, user=user, now=now, reason=reason.strip())


def worklist_item_rerun(*, item_id: int, user, now: dt.datetime) -> VeeRun:
    """Run VEE again over the item's channel-day, here and now (after a corrected import or a
    rule change). Raises VeeWorklistItem.DoesNotExist."""
    item = VeeWorklistItem.objects.get(pk=item_id)
    run = vee_run_create(channel_ids=[item.channel_id], start_date=item.local_date, end_date=item.local_date + DAY,
                         scope=f"worklist item {item.pk}", now=now, user=user)
    return vee_run_execute(vee_run_id=run.pk, now_fn=lambda: now)


def worklist_open(*, limit: int = 200):
    return (
        VeeWorklistItem.objects.filter(status=VeeWorklistItem.Status.OPEN)
        .select_related("channel__meter").order_by("local_date", "channel_id", "rule")[:limit]
    )


def latest_findings_for_meter(*, meter_id: int, limit: int = 20):
    return VeeFinding.objects.filter(channel__meter_id=meter_id).select_related("channel").order_by("-local_date", "-id")[:limit]
