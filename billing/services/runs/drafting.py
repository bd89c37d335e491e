"""Draft bills for a set of bill accounts: load in bulk, ask MDM for determinants in bulk, rate
(pure), run the pre-bill edits, write bills, segments and lines with bulk inserts.

Bill runs (a chunk), off-cycle and final bills, rebills and re-rates all come through
`bills_draft`, so every bill is built the same way. The caller owns the transaction."""
from __future__ import annotations

import datetime as dt
import json
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection, models
from django.db.models import Max
from django.utils import timezone

from billing import rating
from billing.services import prebill
from billing.models import Bill, BillException, BillLine, BillRun, BillSegment, RateVersion
from billing.rating.adapters import from_mdm
from billing.rating.calendar import schedules_from_components
from billing.rating.components.net_metering import NetMetering
from billing.services.runs.planning import SegmentPlan
from cis.selectors import account_numbers, agreements_by_ids
from core.clock import utility_holidays, utility_zone
from mdm import selectors as mdm_selectors
from mdm.selectors import DeterminantError, PeriodDeterminants, PeriodRequest, TouGrid

# Services with no meter: they are billed from their rate alone (fixtures, flat charges).
UNMETERED_COMMODITIES = {"streetlight", "sewer"}
NET_METERING_KIND = NetMetering.kind
HISTORY_DAYS = 400  # a year of earlier bills and a month to find "the same month last year"


class DraftError(Exception):
    pass


class BillOverlapError(DraftError):
    """A period to bill overlaps a live segment already on a bill: the message names the bill,
    the account and the period. Raised before anything is written."""


@dataclass(frozen=True)
class SegmentConflict:
    """A live segment in the way of a period to bill."""

    agreement_id: int
    account_id: int
    bill_id: int
    bill_number: str
    bill_status: str
    run_id: int | None
    period_start: dt.date
    period_end: dt.date  # exclusive

    def describe(self, account_number: str | None = None) -> str:
        bill = self.bill_number or f"draft bill {self.bill_id}"
        where = f", run {self.run_id}" if self.run_id else ""
        last = self.period_end - dt.timedelta(days=1)
        return (f"account {account_number or self.account_id} (agreement {self.agreement_id}) is already billed "
                f"{self.period_start} to {last} by bill {bill} (id {self.bill_id}, {self.bill_status}{where})")


def agreements_lock(agreement_ids: Iterable[int]) -> None:
    """Transaction-level advisory locks on the agreements about to be billed, in id order (no
    deadlock): two runs drafting the same agreement at once take turns, so the second one's
    overlap check sees the first one's bills instead of tripping the unique constraint."""
    ids = sorted(set(agreement_ids))
    if not ids:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, a) FROM unnest(%s::int[]) AS a ORDER BY a",
                       [AGREEMENT_LOCK_SPACE, ids])


AGREEMENT_LOCK_SPACE = 7301  # the advisory lock key space of "an agreement being billed"


def live_segment_conflicts(*, periods: Mapping[int, tuple[dt.date, dt.date]] | None = None,
                           agreement_ids: Iterable[int] = (), beyond: dt.date | None = None
                           ) -> list[SegmentConflict]:
    """Live segments in the way (one query): for `periods` ({agreement id: [start, end)}) the
    live segments of those agreements that overlap them; with `beyond`, also any live segment
    of `agreement_ids` (or of the agreements in `periods`) that ends after that date (a bill
    already reaching past the window being billed, e.g. a run started for a later window)."""
    periods = dict(periods or {})
    ids = set(agreement_ids) | set(periods)
    if not ids:
        return []
    rows = (BillSegment.objects.filter(agreement_id__in=sorted(ids), live=True)
            .order_by("agreement_id", "period_start")
            .values_list("agreement_id", "bill__account_id", "bill_id", "bill__bill_number", "bill__status",
                         "bill__run_id", "period_start", "period_end"))
    if beyond is None:
        rows = rows.filter(agreement_id__in=sorted(periods))
    out = []
    for agreement_id, account_id, bill_id, number, status, run_id, start, end in rows:
        period = periods.get(agreement_id)
        overlaps = period is not None and start < period[1] and end > period[0]
        if overlaps or (beyond is not None and end > beyond):
            out.append(SegmentConflict(agreement_id, account_id, bill_id, number or "", status, run_id, start, end))
    return out


def conflicts_message(conflicts: list[SegmentConflict], *, account_numbers: Mapping[int, str] | None = None,
                      limit: int = 3) -> str:
    """'Already billed: account 0000104542 (agreement 7) is already billed 2026-12-01 to ...'."""
    numbers = account_numbers or {}
    shown = "; ".join(c.describe(numbers.get(c.account_id)) for c in conflicts[:limit])
    more = f"; and {len(conflicts) - limit} more" if len(conflicts) > limit else ""
    return f"Overlapping period: {shown}{more}. Cancel that bill or finish its run first."


def check_no_overlap(plans: Mapping[int, list[SegmentPlan]]) -> None:
    """Lock the plans' agreements and refuse (BillOverlapError) any period that overlaps a live
    segment: the unique constraint on live segments must never be the first to notice."""
    flat = [p for ps in plans.values() for p in ps]
    agreements_lock(p.agreement.id for p in flat)
    conflicts = live_segment_conflicts(periods={p.agreement.id: (p.start, p.end) for p in flat})
    if conflicts:
        raise BillOverlapError(conflicts_message(
            conflicts, account_numbers=account_numbers(account_ids={c.account_id for c in conflicts})))


@dataclass
class Timings:
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    @contextmanager
    def phase(self, name: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - t0

    def as_dict(self) -> dict[str, float]:
        return {k: round(v, 4) for k, v in self.seconds.items()}


def rate_versions_by_code(codes: Iterable[str]) -> dict[str, list[rating.RateVersion]]:
    out: dict[str, list[rating.RateVersion]] = defaultdict(list)
    for v in RateVersion.objects.filter(schedule__code__in=set(codes)).select_related("schedule").order_by("start_date"):
        out[v.schedule.code].append(rating.RateVersion(
            code=f"{v.schedule.code}@{v.start_date}", effective_start=v.start_date, effective_end=v.end_date,
            components=tuple(rating.Component.from_dict(c) for c in v.components), name=v.schedule.name,
        ))
    return out


def billed_to(agreement_ids: Iterable[int]) -> dict[int, dt.date]:
    """Where each agreement's live segments end (the next bill starts there)."""
    rows = (BillSegment.objects.filter(agreement_id__in=list(agreement_ids), live=True)
            .values("agreement_id").annotate(end=Max("period_end")).values_list("agreement_id", "end"))
    return dict(rows)


def billed_to_with_opening(agreements) -> dict[int, dt.date]:
    """`billed_to`, and for an agreement never billed here, the day after MDM's billed-through
    date of its service point (a conversion from a legacy CIS loads those), so a first run
    does not bill years of history. The planner still starts no earlier than the agreement."""
    agreements = list(agreements)
    ends = billed_to(a.id for a in agreements)
    never = [a for a in agreements if a.id not in ends]
    if never:
        opening = mdm_selectors.billed_through_dates(service_point_ids={a.service_point_id for a in never})
        for a in never:
            if a.service_point_id in opening:
                ends[a.id] = opening[a.service_point_id] + dt.timedelta(days=1)
    return ends


def history_for(account_ids: Iterable[int], before: dt.date) -> dict[int, list[prebill.HistoryBill]]:
    rows = (Bill.objects.filter(account_id__in=list(account_ids), status=Bill.Status.ISSUED,
                                period_end__lte=before, period_end__gt=before - dt.timedelta(days=HISTORY_DAYS))
            .order_by("account_id", "period_end")
            .values_list("account_id", "period_start", "period_end", "consumption", "interval_count",
                         "estimated_intervals"))
    out: dict[int, list[prebill.HistoryBill]] = defaultdict(list)
    for account_id, start, end, consumption, interval_count, estimated_intervals in rows:
        out[account_id].append(prebill.HistoryBill(start, end, consumption, interval_count, estimated_intervals))
    return out


def _has_ratchet(versions: list[rating.RateVersion]) -> bool:
    return any(c.kind == "demand" and c.params.get("ratchet") for v in versions for c in v.components)


def demand_history_for(plans: list[SegmentPlan], versions: Mapping[str, list[rating.RateVersion]]
                       ) -> dict[int, tuple[rating.MonthlyDemand, ...]]:
    """Earlier months' maximum demand of the agreements whose rate has a ratchet, from their
    live segments before this period (one query for the chunk). A segment counts for the month
    of its last day; two segments in one month keep the higher demand."""
    wanted = {p.agreement.id: p.start for p in plans if _has_ratchet(versions.get(p.agreement.rate_code, []))}
    if not wanted:
        return {}
    earliest = min(wanted.values()) - dt.timedelta(days=HISTORY_DAYS)
    rows = (BillSegment.objects.filter(agreement_id__in=list(wanted), live=True, period_end__gt=earliest)
            .values_list("agreement_id", "period_end", "determinants__max_demand_kw"))
    months: dict[int, dict[dt.date, Decimal]] = defaultdict(dict)
    for agreement_id, end, kw in rows:
        if kw is None or end > wanted[agreement_id]:
            continue
        last = end - dt.timedelta(days=1)
        month = last.replace(day=1)
        months[agreement_id][month] = max(months[agreement_id].get(month, Decimal(0)), Decimal(kw))
    return {a: tuple(rating.MonthlyDemand(m, kw) for m, kw in sorted(by.items())) for a, by in months.items()}


def _has_net_metering(versions: list[rating.RateVersion]) -> bool:
    return any(c.kind == NET_METERING_KIND for v in versions for c in v.components)


def carried_credit_for(plans: list[SegmentPlan], versions: Mapping[str, list[rating.RateVersion]]
                       ) -> dict[int, rating.CarriedCredit]:
    """The net-metering credit each agreement brings into this period: what its latest live
    segment ending on or before the period's start carried out (one query for the chunk).
    A cancelled bill's segment is not live, so a rebill starts from the credit before it."""
    wanted = {p.agreement.id: p.start for p in plans if _has_net_metering(versions.get(p.agreement.rate_code, []))}
    if not wanted:
        return {}
    rows = (BillSegment.objects.filter(agreement_id__in=list(wanted), live=True)
            .exclude(determinants__carried_credit_kwh=None)
            .order_by("agreement_id", "period_end")
            .values_list("agreement_id", "period_end", "determinants__carried_credit_kwh",
                         "determinants__carried_credit_dollars"))
    out: dict[int, rating.CarriedCredit] = {}
    for agreement_id, end, kwh, dollars in rows:
        if end <= wanted[agreement_id]:
            out[agreement_id] = rating.CarriedCredit(kwh=Decimal(kwh or 0), dollars=Decimal(dollars or 0))
    return out


def _overlapping(versions: list[rating.RateVersion], start: dt.date, end: dt.date) -> list[rating.RateVersion]:
    return [v for v in versions if v.effective_start < end and (v.effective_end is None or v.effective_end > start)]


# id(version) -> (version, schedules, energy grid, demand grid). Every bill of a chunk asks for
# the same few versions, and turning 12 x 24 name grids into index grids per bill was ~5 % of
# drafting. Keyed by id (a version's params do not hash); the entry keeps the version alive
# so the id cannot be reused while it is cached.
_GRIDS: dict[int, tuple] = {}


def _grids(version: rating.RateVersion):
    hit = _GRIDS.get(id(version))
    if hit is None or hit[0] is not version:
        schedules = schedules_from_components(version.components)
        grids = [TouGrid(*s.index_grids()) for s in schedules]
        if len(_GRIDS) >= 256:
            _GRIDS.clear()
        hit = _GRIDS[id(version)] = (version, schedules, grids[0] if grids else None,
                                     grids[1] if len(grids) > 1 else None)
    return hit[1:]


@dataclass
class _Rated:
    plan: SegmentPlan
    summary: dict
    result: rating.RatingResult | None
    error: str = ""


def _requests(plans: list[SegmentPlan], versions: Mapping[str, list[rating.RateVersion]]):
    """One determinant request per segment, plus one per part when rates change inside it."""
    reqs = []
    for plan in plans:
        a = plan.agreement
        overlap = _overlapping(versions.get(a.rate_code, []), plan.start, plan.end)
        if len(overlap) == 1:
            _, tou, dtou = _grids(overlap[0])
            reqs.append(PeriodRequest((a.id, None), a.service_point_id, plan.start, plan.end, tou, dtou))
            continue
        reqs.append(PeriodRequest((a.id, None), a.service_point_id, plan.start, plan.end))
        for v in overlap:
            _, tou, dtou = _grids(v)
            s, e = max(plan.start, v.effective_start), min(plan.end, v.effective_end or plan.end)
            reqs.append(PeriodRequest((a.id, s), a.service_point_id, s, e, tou, dtou))
    return reqs


def _adapt(det: PeriodDeterminants, version: rating.RateVersion | None) -> rating.RatingDeterminants:
    schedules = _grids(version)[0] if version else []
    return from_mdm(det.energy, schedule=schedules[0] if schedules else None, demand=det.demand,
                    demand_schedule=schedules[1] if len(schedules) > 1 else None)


def _summary(plan: SegmentPlan, det: PeriodDeterminants | None) -> dict:
    needs_meter = plan.agreement.commodity not in UNMETERED_COMMODITIES
    if det is None:
        return {"metered": False, "needs_meter": needs_meter, "consumption": "0", "interval_count": 0,
                "estimated_intervals": 0, "missing_intervals": 0}
    e = det.energy
    return {
        "metered": det.metered, "needs_meter": needs_meter,
        "consumption": str(e.total), "received": str(e.received_total), "max_demand_kw": str(e.max_demand_kw),
        "by_tou": {str(k): str(v) for k, v in e.by_tou.items()},
        "interval_minutes": e.interval_minutes, "interval_count": e.interval_count if det.metered else 0,
        "estimated_intervals": e.estimated_intervals, "missing_intervals": e.missing_intervals if det.metered else 0,
    }


def rate_plans(plans: list[SegmentPlan], *, versions: Mapping[str, list[rating.RateVersion]], as_of: dt.date,
               timings: Timings) -> list[_Rated]:
    tz = utility_zone()
    with timings.phase("determinants"):
        try:
            dets = mdm_selectors.determinants_bulk(requests=_requests(plans, versions), as_of=as_of, tz=tz)
            failed: dict[int, str] = {}
        except DeterminantError:
            # One bad service point must not stop the chunk: retry one by one to find it.
            dets, failed = {}, {}
            for req in _requests(plans, versions):
                try:
                    dets |= mdm_selectors.determinants_bulk(requests=[req], as_of=as_of, tz=tz)
                except DeterminantError as exc:
                    failed[req.key[0]] = str(exc)
    history = demand_history_for(plans, versions)
    credits = carried_credit_for(plans, versions)
    holidays = utility_holidays(min(p.start for p in plans), max(p.end for p in plans)) if plans else frozenset()
    out = []
    with timings.phase("rating"):
        for plan in plans:
            a = plan.agreement
            whole = dets.get((a.id, None))
            summary = _summary(plan, whole)
            if a.id in failed:
                out.append(_Rated(plan, summary, None, f"Determinants: {failed[a.id]}"))
                continue
            if whole is None:  # determinants_bulk answers every request (or it is in `failed`)
                out.append(_Rated(plan, summary, None, f"Determinants: none for {plan.start}..{plan.end}."))
                continue
            overlap = _overlapping(versions.get(a.rate_code, []), plan.start, plan.end)
            if not overlap:
                out.append(_Rated(plan, summary, None, f"No rate {a.rate_code} in effect for {plan.start}..{plan.end}."))
                continue
            parts = {}
            if len(overlap) > 1:
                for v in overlap:
                    s = max(plan.start, v.effective_start)
                    parts[s] = _adapt(dets[(a.id, s)], v)
            bill_input = rating.BillInput(
                period_start=plan.start, period_end=plan.end,
                determinants=_adapt(whole, overlap[0] if len(overlap) == 1 else None),
                part_determinants=parts, holidays=holidays, time_zone=tz.key, demand_history=history.get(a.id, ()),
                carried_credit=credits.get(a.id, rating.CarriedCredit()),
            )
            try:
                result = rating.rate_bill(bill_input, overlap)
            except (rating.NoRateInEffect, rating.ComponentConfigError, rating.RatingError) as exc:
                out.append(_Rated(plan, summary, None, f"Rating {a.rate_code}: {exc}"))
                continue
            if _has_net_metering(overlap):
                # What this bill carries out is the next bill's credit in (carried_credit_for).
                summary["carried_credit_kwh"] = str(result.carried_credit.kwh)
                summary["carried_credit_dollars"] = str(result.carried_credit.dollars)
            out.append(_Rated(plan, summary, result))
    return out


def _line_rows(segment_id: int, result: rating.RatingResult) -> Iterator[tuple]:
    """The rows of a segment's bill lines in `_LINE_COLUMNS` order (no model object per line)."""
    for i, ln in enumerate(result.lines, 1):
        details = {**rating.types._plain(dict(ln.details)), "part_start": ln.part_start.isoformat(),
                   "part_end": ln.part_end.isoformat()}
        yield (segment_id, i, ln.description[:200], ln.component_kind, ln.component_code, ln.quantity, ln.unit,
               ln.price, "" if ln.tier is None else str(ln.tier), ln.tou_period or "", ln.proration, ln.amount,
               json.dumps(details))


_LINE_COLUMNS = ("segment_id", "sequence", "description", "component_kind", "component_code", "quantity", "unit",
                 "price", "tier", "tou_period", "proration", "amount", "details")


def _copy_lines(rows: Iterable[tuple]) -> None:
    """Lines are most of a run's rows: COPY them (bulk_create spent more time building the
    INSERT than PostgreSQL spent storing it)."""
    with connection.cursor() as cursor:
        with cursor.copy(f"COPY {BillLine._meta.db_table} ({', '.join(_LINE_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def _reserve_ids(model, n: int) -> list[int]:
    """n primary keys from the table's identity sequence (what an INSERT would have taken)."""
    if not n:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                       [table, model._meta.pk.column, n])
        return [row[0] for row in cursor.fetchall()]


# Fields whose database value is the Python value itself on PostgreSQL (psycopg adapts it):
# their get_db_prep_save only costs time. Anything else (JSON, ...) goes through it.
_PLAIN_FIELDS = (models.CharField, models.TextField, models.IntegerField, models.BooleanField, models.DateField,
                 models.AutoField, models.BigAutoField, models.ForeignKey)


def _preparer(field):
    if isinstance(field, models.DecimalField):
        places = field.decimal_places

        def decimal(value):
            # Already at the column's scale (money and quantities are rounded before they get
            # here): stored as is; anything finer is rounded the way Django rounds it.
            if isinstance(value, Decimal) and -value.as_tuple().exponent <= places:
                return value
            return field.get_db_prep_save(value, connection)
        return decimal
    if isinstance(field, _PLAIN_FIELDS):
        return _same
    return lambda value: field.get_db_prep_save(value, connection)


def _same(value):
    return value


def _copy_new(model, items: list[dict[str, Any]], *, objects: bool = True) -> list:
    """Insert one row of `model` per item ({attname: value}; a field not given takes its
    default, an auto_now / auto_now_add field the time now) with one COPY, primary keys
    reserved first. Returns the saved model objects (made with the positional constructor
    Django uses for rows it reads, in the items' order), or their ids when `objects` is False.

    A chunk's bills and segments by bulk_create spent more Python in its INSERT ... RETURNING
    than PostgreSQL spent storing them, and by keyword-built objects and per-field pre_save
    about as much again. Values are prepared for the database as an INSERT prepares them
    (decimals to the column's scale, JSON encoded); triggers fire as for an INSERT."""
    if not items:
        return []
    ids = _reserve_ids(model, len(items))
    fields = list(model._meta.concrete_fields)
    position = {f.attname: i for i, f in enumerate(fields)}
    now = timezone.now()
    template: list[Any] = []
    per_row: list[tuple[int, Any]] = []  # (position, callable default) for each row
    for i, f in enumerate(fields):
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            template.append(now if isinstance(f, models.DateTimeField) else dt.date.today())
        elif f.has_default() and callable(f.default):
            template.append(None)
            per_row.append((i, f.default))
        else:
            template.append(None if f.primary_key else f.get_default())
    preparers = [_preparer(f) for f in fields]
    prepare = [(i, prep) for i, prep in enumerate(preparers) if prep is not _same]
    pk_at = position[model._meta.pk.attname]
    rows = []
    for item, pk in zip(items, ids):
        row = template.copy()
        row[pk_at] = pk
        for i, default in per_row:
            row[i] = default()
        for name, value in item.items():
            row[position[name]] = value
        rows.append(row)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with connection.cursor() as cursor:
        with cursor.copy(f"COPY {model._meta.db_table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                out = row.copy()
                for i, prep in prepare:
                    out[i] = prep(out[i])
                copy.write_row(out)
    if not objects:
        return ids
    made = [model(*row) for row in rows]
    for obj in made:
        obj._state.adding, obj._state.db = False, connection.alias
    return made


def bills_draft(*, plans: Mapping[int, list[SegmentPlan]], bill_date: dt.date, due_date: dt.date, kind: str,
                as_of: dt.date, run: BillRun | None = None, replaces: Mapping[int, Bill] | None = None,
                timings: Timings | None = None) -> list[Bill]:
    """Draft one bill per bill account in `plans` ({bill account id: segments}). Bills that
    fail a pre-bill edit are HELD with BillException rows. Returns the bills.

    Raises BillOverlapError, before writing anything, if a period overlaps a live segment
    (the agreements are locked for the caller's transaction first, so a concurrent draft of
    the same agreement is seen); the partial unique constraint is only the last line of defence."""
    timings = timings or Timings()
    replaces = replaces or {}
    all_plans = [p for ps in plans.values() for p in ps]
    with timings.phase("load"):
        check_no_overlap(plans)
        versions = rate_versions_by_code({p.agreement.rate_code for p in all_plans})
        rules = prebill.prebill_rules_active()
        period_end = max((p.end for p in all_plans), default=bill_date)
        history = history_for(plans.keys(), period_end)
    rated = rate_plans(all_plans, versions=versions, as_of=as_of, timings=timings)
    by_account: dict[int, list[_Rated]] = defaultdict(list)
    for r in rated:
        by_account[r.plan.agreement.bill_account_id].append(r)

    with timings.phase("prebill"):
        drafts = []
        for account_id, items in by_account.items():
            start = min(r.plan.start for r in items)
            end = max(r.plan.end for r in items)
            total = sum((r.result.total for r in items if r.result), Decimal(0))
            facts = prebill.facts_for(period_start=start, period_end=end, total=total,
                                      segments=[r.summary for r in items],
                                      rating_errors=[r.error for r in items if r.error],
                                      history=history.get(account_id, []))
            findings = prebill.evaluate(facts, rules)
            replaced = replaces.get(account_id)
            bill = {
                "account_id": account_id, "run_id": run.pk if run is not None else None, "kind": kind,
                "status": Bill.Status.HELD if findings else Bill.Status.DRAFT,
                "period_start": start, "period_end": end, "bill_date": bill_date, "due_date": due_date,
                "total": total, "consumption": facts.consumption, "interval_count": facts.interval_count,
                "estimated_intervals": facts.estimated_intervals,
                "replaces_id": replaced.pk if replaced is not None else None,
            }
            drafts.append((bill, items, findings))

    with timings.phase("write"):
        bills = _copy_new(Bill, [b for b, _, _ in drafts])
        segments = []
        for bill, (_, items, _) in zip(bills, drafts):
            for r in items:
                a = r.plan.agreement
                summary = {**r.summary, **({"error": r.error} if r.error else {}),
                           "versions": list(r.result.versions) if r.result else []}
                segments.append({
                    "bill_id": bill.pk, "account_id": a.account_id, "agreement_id": a.id,
                    "service_point_id": a.service_point_id, "rate_code": a.rate_code, "period_start": r.plan.start,
                    "period_end": r.plan.end, "determinants": summary,
                    "subtotal": r.result.total if r.result else Decimal(0),
                })
        segment_ids = _copy_new(BillSegment, segments, objects=False)
        results = [r.result for _, items, _ in drafts for r in items]
        _copy_lines(row for segment_id, res in zip(segment_ids, results) if res
                    for row in _line_rows(segment_id, res))
        BillException.objects.bulk_create(
            [BillException(bill=bill, rule=f.rule, message=f.message)
             for bill, (_, _, findings) in zip(bills, drafts) for f in findings])
    return bills


def bill_redraft(*, bill: Bill, kind: str, as_of: dt.date, now: dt.datetime, reason: str) -> Bill:
    """A new draft for exactly the periods of `bill` (re-rate of a held draft). The old bill's
    segments stop being live first, so the new ones may take their place."""
    segs = list(bill.segments.filter(live=True).values_list("agreement_id", "period_start", "period_end"))
    BillSegment.objects.filter(bill=bill).update(live=False)
    Bill.objects.filter(pk=bill.pk).update(status=Bill.Status.CANCELLED, cancelled_at=now, cancel_reason=reason)
    rows = {a.id: a for a in agreements_by_ids(agreement_ids=[s[0] for s in segs])}
    plans: dict[int, list[SegmentPlan]] = defaultdict(list)
    for agreement_id, start, end in segs:
        a = rows[agreement_id]
        plans[a.bill_account_id].append(SegmentPlan(a, start, end))
    if not plans:
        raise DraftError(f"Bill {bill.pk} has no live segments to draft again.")
    (new,) = bills_draft(plans=plans, bill_date=bill.bill_date, due_date=bill.due_date, kind=kind, as_of=as_of,
                         run=bill.run, replaces={bill.account_id: bill})
    run = bill.run
    if new.status == Bill.Status.DRAFT and run is not None and run.status in (
            BillRun.Status.APPROVING, BillRun.Status.APPROVED, BillRun.Status.ISSUING, BillRun.Status.ISSUED):
        # Its run was approved while it was held: a clean re-rate joins the approved bills.
        new.status = Bill.Status.APPROVED
        new.save(update_fields=["status"])
    return new
