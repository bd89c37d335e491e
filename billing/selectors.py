"""billing's reads for the Billing Hub, admin and other apps: runs with their progress, the
pre-bill exceptions worklist, a bill with its segments and lines, a bill's history (who approved,
issued, cancelled and rebilled it), windows waiting for a run, and MDM's replacement-read
notices still to decide with the issued bills each one touches; what the REST API reads
(bills by filter, a bill with its segments and lines, an account's ledger entries, each
agreement's billed-through date); and (from billing.payments.selectors)
an account's payments, open charges, aging by allocation and returned-payment credit rating,
its card charges (card_charges_for_account, card_charge_for_account; CardCharge for its Status);
an account's balance (account_balance, the ledger's sum) and its charges to date with the
projected bill (account_charges_to_date, billing.unbilled); what the last 12 months would have
cost on each rate an agreement may take (rate_comparison, billing.comparison)."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, Max, OuterRef, Prefetch, Q, QuerySet

from billing.models import (
    Bill, BillCycle, BillException, BillLine, BillRun, BillSegment, BillWindow, LedgerEntry, NoticeDecision,
    RateSchedule,
)
from billing.payments.selectors import (  # noqa: F401 - payments' public reads, listed here
    CreditRating, OpenCharge, OpenItems, account_aging_by_allocation, account_credit_rating, account_open_items,
    card_charge_for_account, card_charges_for_account, payment_by_receipt, payments_for_account,
)
from billing.payments.card_models import CardCharge  # noqa: F401 - its Status and DoesNotExist, for callers
from billing.services.ledger import account_balance  # noqa: F401 - the ledger's sum, for other apps
from billing.unbilled import ChargesToDate, account_charges_to_date  # noqa: F401
from billing.comparison import RateComparison, RateOption, rate_comparison  # noqa: F401 - the portal's rate comparison
from cis.selectors import account_numbers
from mdm.selectors import NoticeRow, billed_through_dates, replacement_read_notices_open


def bill_runs_with_progress(*, cycle_code: str = "", status: str = "", limit: int = 50) -> QuerySet[BillRun]:
    """Newest first, with chunk counts by status (chunks_done; chunks_total is the run's own field) next to the
    account counters the progress bar reads."""
    counts = {"chunks_done": Count("chunks", filter=Q(chunks__status="done")),
              "chunks_failed": Count("chunks", filter=Q(chunks__status="failed"))}
    qs = BillRun.objects.select_related("cycle").annotate(**counts)
    if cycle_code:
        qs = qs.filter(cycle__code=cycle_code)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")[:limit]


def bill_run_get(*, bill_run_id: int) -> BillRun:
    """Raises BillRun.DoesNotExist."""
    return BillRun.objects.select_related("cycle").get(pk=bill_run_id)


def exceptions_worklist(*, run_id: int | None = None, rule: str = "", status: str = BillException.Status.OPEN,
                        limit: int = 200) -> QuerySet[BillException]:
    """Pre-bill exceptions to work, oldest first, with their bills."""
    qs = BillException.objects.select_related("bill", "bill__run", "resolved_by")
    if status:
        qs = qs.filter(status=status)
    if run_id:
        qs = qs.filter(bill__run_id=run_id)
    if rule:
        qs = qs.filter(rule=rule)
    return qs.order_by("created_at", "id")[:limit]


@dataclass(frozen=True)
class BillDetail:
    bill: Bill
    segments: list[BillSegment]  # each with .lines prefetched, in sequence order
    exceptions: list[BillException]
    ledger_entries: list[LedgerEntry]
    replaced_by: Bill | None = None  # the rebill that replaced this bill, if any


def bill_detail(*, bill_id: int) -> BillDetail:
    """A bill with everything its page shows. Raises Bill.DoesNotExist."""
    bill = Bill.objects.select_related("run__cycle", "replaces").get(pk=bill_id)
    segments = list(bill.segments.order_by("id").prefetch_related(
        Prefetch("lines", queryset=BillLine.objects.order_by("sequence"))))
    return BillDetail(bill, segments, list(bill.exceptions.order_by("status", "id")),
                      list(LedgerEntry.objects.filter(bill=bill).select_related("reverses").order_by("posted_at", "id")),
                      Bill.objects.filter(replaces=bill).first())


def bill_get(*, bill_id: int) -> Bill:
    """Raises Bill.DoesNotExist."""
    return Bill.objects.get(pk=bill_id)


def bills_find(*, q: str = "", account_id: int | None = None, limit: int = 50) -> list[Bill]:
    """Newest first; `q` matches a bill number (any case) or a bill id, `account_id` the
    account (the hub resolves an account number to it)."""
    bills = Bill.objects.all()
    if q or account_id:
        match = Q(bill_number__iexact=q) if q else Q(pk=-1)
        if account_id:
            match |= Q(account_id=account_id)
        if q.isdigit() and len(q) < 10:
            match |= Q(pk=int(q))
        bills = bills.filter(match)
    return list(bills.order_by("-bill_date", "-id")[:limit])


# ---- A bill's history: who approved, issued, cancelled and rebilled it ----------------------

@dataclass(frozen=True)
class BillChange:
    label: str
    before: str | None
    after: str | None


@dataclass(frozen=True)
class BillHistoryEntry:
    at: dt.datetime
    who: str  # the username, or the system actor's name (auto-rebill, system)
    is_system: bool
    action: str  # approved | issued | cancelled | changed | deleted
    reason: str = ""
    rebilled_as: Bill | None = None  # on the cancellation of a bill a rebill replaced
    replaces: Bill | None = None  # on the first change of a rebill
    changes: list[BillChange] = field(default_factory=list)


_HISTORY_FIELDS = (("status", "Status"), ("amount_due", "Amount due"), ("bill_number", "Bill number"))
_ACTION_OF_STATUS = {Bill.Status.APPROVED: "approved", Bill.Status.ISSUED: "issued",
                     Bill.Status.CANCELLED: "cancelled", Bill.Status.HELD: "held"}
_BY_FIELD = {"approved": "approved_by_id", "issued": "issued_by_id", "cancelled": "cancelled_by_id"}
_STATUS_LABELS = dict(Bill.Status.choices)


def _shown(name: str, value) -> str | None:
    if value is None or value == "":
        return None
    if name == "status":
        return str(_STATUS_LABELS.get(value, value))
    if name == "amount_due":
        return f"{Decimal(value):,.2f}"
    return str(value)


def bill_history(*, bill_id: int, limit: int = 100) -> list[BillHistoryEntry]:
    """Each recorded change to the bill, newest first: when, who (from the pghistory context
    the change was made in: the user, else the system actor's name), what (approved, issued,
    cancelled with its reason and the rebill that replaced it, the rebill's first change naming
    the bill it replaces) and the before/after of status, amount due and bill number.

    Read from billing.BillEvent (pghistory's update/delete events of Bill). A bill's creation
    is its run's, not an event: the first event's "before" is unknown and shown empty."""
    events = list(apps.get_model("billing", "BillEvent").objects.filter(pgh_obj_id=bill_id).select_related("pgh_context").order_by("pgh_id"))
    if not events:
        return []
    bill = Bill.objects.filter(pk=bill_id).select_related("replaces").first()
    rebilled_as = Bill.objects.filter(replaces_id=bill_id).first()
    contexts = [(e.pgh_context.metadata if e.pgh_context_id and e.pgh_context else {}) for e in events]
    user_ids = {c.get("user") for c in contexts if c.get("user")}
    user_ids |= {getattr(e, f) for e in events for f in _BY_FIELD.values() if getattr(e, f)}
    names = dict(get_user_model().objects.filter(pk__in=user_ids).values_list("pk", "username"))
    entries: list[BillHistoryEntry] = []
    previous = None
    for index, (event, ctx) in enumerate(zip(events, contexts)):
        changes = []
        for name, label in _HISTORY_FIELDS:
            after = getattr(event, name)
            before = getattr(previous, name) if previous is not None else None
            if previous is None or before != after:
                changes.append(BillChange(label, _shown(name, before), _shown(name, after)))
        changed_any = previous is None or any(
            getattr(previous, f.attname) != getattr(event, f.attname) for f in event._meta.concrete_fields
            if not f.attname.startswith("pgh_"))
        status_changed = previous is None or previous.status != event.status
        if event.pgh_label == "delete":
            action = "deleted"
        elif status_changed and event.status in _ACTION_OF_STATUS:
            action = _ACTION_OF_STATUS[event.status]
        elif changed_any:
            action = "changed"
        else:
            previous = event
            continue
        user_id = ctx.get("user") or (getattr(event, _BY_FIELD[action]) if action in _BY_FIELD else None)
        who = (names.get(user_id) if user_id else None) or ctx.get("actor") or "system"
        entries.append(BillHistoryEntry(
            at=event.pgh_created_at, who=who, is_system=user_id is None, action=action,
            reason=event.cancel_reason if action == "cancelled" else "",
            rebilled_as=rebilled_as if action == "cancelled" else None,
            replaces=bill.replaces if bill is not None and index == 0 and event.replaces_id else None,
            changes=[c for c in changes if not (c.before is None and c.after is None)],
        ))
        previous = event
    entries.reverse()
    return entries[:limit]


def bills_for_account(*, account_id: int, limit: int = 24) -> QuerySet[Bill]:
    return Bill.objects.filter(account_id=account_id).order_by("-bill_date", "-id")[:limit]


def windows_without_run(*, today: dt.date, limit: int = 50) -> QuerySet[BillWindow]:
    """Windows whose bill date has come and that have no regular run yet."""
    started = BillRun.objects.filter(cycle_id=OuterRef("cycle_id"), bill_date=OuterRef("bill_date"))
    return (BillWindow.objects.select_related("cycle").filter(bill_date__lte=today, cycle__active=True)
            .exclude(Exists(started)).order_by("bill_date", "cycle__code")[:limit])


# ---- Replacement-read notices still to decide -------------------------------------------------

@dataclass(frozen=True)
class NoticeWork:
    """An open replacement-read notice billing has not decided, with the issued bills that have
    a live segment of its service point overlapping its period (the bills a rebill would
    cancel and replace), oldest bill first."""
    notice: NoticeRow
    bills: list[Bill]
    account_numbers: dict[int, str]  # account id -> number, for the bills

    @property
    def amount_due(self) -> Decimal:
        return sum((b.amount_due for b in self.bills), Decimal("0.00"))

    @property
    def rows(self) -> list[tuple[Bill, str]]:
        return [(b, self.account_numbers.get(b.account_id, str(b.account_id))) for b in self.bills]


def notice_affected_bill_ids(*, notices: list[NoticeRow]) -> dict[int, list[int]]:
    """Notice id -> the ids of the issued bills with a live segment of the notice's service
    point overlapping its period (one query for all the notices)."""
    by_sp: dict[int, list[NoticeRow]] = defaultdict(list)
    for notice in notices:
        by_sp[notice.service_point_id].append(notice)
    found: dict[int, set[int]] = {n.id: set() for n in notices}
    if not by_sp:
        return {}
    rows = (BillSegment.objects.filter(service_point_id__in=list(by_sp), live=True, bill__status=Bill.Status.ISSUED)
            .values_list("bill_id", "service_point_id", "period_start", "period_end"))
    for bill_id, sp_id, start, end in rows:
        for notice in by_sp[sp_id]:
            if start < notice.period_end and end > notice.period_start:
                found[notice.id].add(bill_id)
    return {notice_id: sorted(ids) for notice_id, ids in found.items()}


def notices_decided(*, notice_ids) -> dict[int, NoticeDecision]:
    return {d.notice_id: d for d in NoticeDecision.objects.filter(notice_id__in=list(notice_ids))}


def notices_to_decide(*, notice_ids=None, limit: int = 200) -> list[NoticeWork]:
    """MDM's open replacement-read notices without a billing decision, oldest first (only
    `notice_ids`, when given), each with the issued bills it touches."""
    notices = replacement_read_notices_open()
    if notice_ids is not None:
        wanted = set(notice_ids)
        notices = [n for n in notices if n.id in wanted]
    decided = set(NoticeDecision.objects.filter(notice_id__in=[n.id for n in notices])
                  .values_list("notice_id", flat=True))
    notices = [n for n in notices if n.id not in decided][:limit]
    affected = notice_affected_bill_ids(notices=notices)
    bills = Bill.objects.in_bulk({b for ids in affected.values() for b in ids})
    numbers = account_numbers(account_ids={b.account_id for b in bills.values()})
    return [NoticeWork(n, [bills[b] for b in affected.get(n.id, []) if b in bills], numbers) for n in notices]


def notice_decisions_recent(*, limit: int = 20) -> list[NoticeDecision]:
    return list(NoticeDecision.objects.order_by("-decided_at", "-id")[:limit])


# ---- The Billing Hub's home, run, worklist and rate pages ------------------------------------

WINDOWS_SHOWN = 6


def cycles_overview(*, today: dt.date, windows_shown: int = WINDOWS_SHOWN) -> list[dict]:
    """Each active cycle with its windows still to bill (no issued run yet) and the next ones,
    each window with its run if one was started and whether its bill date has come."""
    runs = {(r.cycle_id, r.bill_date): r for r in BillRun.objects.filter(cycle__active=True)}
    windows_by_cycle: dict[int, list[BillWindow]] = defaultdict(list)
    for window in BillWindow.objects.filter(cycle__active=True).order_by("cycle_id", "bill_date"):
        windows_by_cycle[window.cycle_id].append(window)
    out = []
    for cycle in BillCycle.objects.filter(active=True).order_by("code"):
        windows = []
        for window in windows_by_cycle.get(cycle.pk, []):
            run = runs.get((cycle.pk, window.bill_date))
            if run is not None and run.status == BillRun.Status.ISSUED and window.bill_date < today:
                continue
            windows.append({"window": window, "run": run, "due": window.bill_date <= today})
            if len(windows) == windows_shown:
                break
        out.append({"cycle": cycle, "windows": windows})
    return out


def bill_runs_recent(*, limit: int = 10) -> list[BillRun]:
    return list(BillRun.objects.select_related("cycle").order_by("-created_at", "-id")[:limit])


def bill_run_detail(*, bill_run_id: int) -> BillRun:
    """The run with its cycle and who started, approved and issued it. Raises BillRun.DoesNotExist."""
    return BillRun.objects.select_related("cycle", "started_by", "approved_by", "issued_by").get(pk=bill_run_id)


def bills_of_run(*, bill_run_id: int) -> QuerySet[Bill]:
    return Bill.objects.filter(run_id=bill_run_id).order_by("id")


def bill_run_bill_counts(*, bill_run_id: int) -> dict[str, int]:
    """{status: bills} of a run (draft, held, approved, issued, cancelled)."""
    return dict(Bill.objects.filter(run_id=bill_run_id).order_by().values_list("status")
                .annotate(n=Count("id")).values_list("status", "n"))


def exceptions_open_count() -> int:
    return BillException.objects.filter(status=BillException.Status.OPEN).count()


def exceptions_open_by_rule() -> dict[str, int]:
    return dict(BillException.objects.filter(status=BillException.Status.OPEN).order_by().values("rule")
                .annotate(n=Count("id")).values_list("rule", "n"))


def exceptions_for_worklist(*, rule: str = "", status: str = "") -> QuerySet[BillException]:
    """The worklist page's exceptions, by account then age (paginated by the page)."""
    qs = BillException.objects.select_related("bill", "resolved_by").order_by("bill__account_id", "id")
    if rule:
        qs = qs.filter(rule=rule)
    if status:
        qs = qs.filter(status=status)
    return qs


def exception_get(*, exception_id: int) -> BillException:
    """Raises BillException.DoesNotExist."""
    return BillException.objects.select_related("bill").get(pk=exception_id)


def rate_schedules_with_version_counts() -> QuerySet[RateSchedule]:
    return RateSchedule.objects.annotate(version_count=Count("versions")).order_by("code")


def rate_schedule_get(*, schedule_id: int) -> RateSchedule:
    """Raises RateSchedule.DoesNotExist."""
    return RateSchedule.objects.get(pk=schedule_id)


# --- reference codes other apps store (registered into core.codes by billing.apps) ------

def rate_code_exists(code: str) -> bool:
    """A rate schedule carries this code (what an agreement's rate_code names)."""
    return RateSchedule.objects.filter(code=code).exists()


def rate_codes_active() -> list[str]:
    """Codes of the rate schedules still offered (a version with no end), for pick lists."""
    return list(
        RateSchedule.objects.filter(versions__end_date__isnull=True).order_by("code").values_list("code", flat=True).distinct()
    )


def bill_cycle_exists(code: str) -> bool:
    """An active bill cycle has this code (what an account's bill_cycle_code names)."""
    return BillCycle.objects.filter(code=code, active=True).exists()


def bill_cycle_codes() -> list[str]:
    """Codes of the active bill cycles, in order."""
    return list(BillCycle.objects.filter(active=True).order_by("code").values_list("code", flat=True))


# ---- The REST API's reads: bills, the ledger, billed-through dates ----------------------------

# What a role that may not see work in progress sees of bills: bills that were issued (a bill
# number is given at issue), including those cancelled since.
ISSUED_EVER = Q(bill_number__isnull=False, status__in=[Bill.Status.ISSUED, Bill.Status.CANCELLED])


def bills_list(*, include_drafts: bool, account_id: int | None = None, status: str = "",
               bill_date_from: dt.date | None = None, bill_date_to: dt.date | None = None,
               run_id: int | None = None, kind: str = "", bill_number: str = "") -> QuerySet[Bill]:
    """Bills newest first (bill date, then id), with their account's number. Without
    `include_drafts` only issued (and later cancelled) bills; dates are inclusive."""
    qs = Bill.objects.select_related("account")
    if not include_drafts:
        qs = qs.filter(ISSUED_EVER)
    if account_id is not None:
        qs = qs.filter(account_id=account_id)
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    if bill_number:
        qs = qs.filter(bill_number__iexact=bill_number)
    if bill_date_from is not None:
        qs = qs.filter(bill_date__gte=bill_date_from)
    if bill_date_to is not None:
        qs = qs.filter(bill_date__lte=bill_date_to)
    if run_id is not None:
        qs = qs.filter(run_id=run_id)
    return qs.order_by("-bill_date", "-id")


def bill_with_segments(*, bill_id: int, include_drafts: bool) -> Bill:
    """A bill with its account, and its segments (agreement and service point numbers at hand)
    each with its lines in sequence order. Raises Bill.DoesNotExist, also for a bill the caller
    may not see (never issued, without `include_drafts`)."""
    qs = Bill.objects.select_related("account", "replaces", "document").prefetch_related(
        Prefetch("segments", queryset=BillSegment.objects.select_related("agreement", "service_point").order_by("id")),
        Prefetch("segments__lines", queryset=BillLine.objects.order_by("sequence")),
        Prefetch("replaced_by"),
    )
    if not include_drafts:
        qs = qs.filter(ISSUED_EVER)
    return qs.get(pk=bill_id)


def ledger_entries(*, account_id: int, kind: str = "", effective_from: dt.date | None = None,
                   effective_to: dt.date | None = None) -> QuerySet[LedgerEntry]:
    """An account's ledger entries, newest first (effective date, then posting order); dates inclusive."""
    qs = LedgerEntry.objects.filter(account_id=account_id).select_related("bill", "created_by")
    if kind:
        qs = qs.filter(kind=kind)
    if effective_from is not None:
        qs = qs.filter(effective_date__gte=effective_from)
    if effective_to is not None:
        qs = qs.filter(effective_date__lte=effective_to)
    return qs.order_by("-effective_date", "-id")


@dataclass(frozen=True)
class BilledThrough:
    """Where billing stands with one agreement. `billed_through` is the last day (inclusive) an
    issued bill covers, or the billed-through date a conversion loaded for the service point
    when no bill here covers it yet (`source` "bills", "conversion", or "" for never billed);
    `next_period_start` is the first day the next bill run bills (after drafts and approved
    bills not issued yet too, as a run plans it)."""
    agreement_id: int
    service_point_id: int
    start_date: dt.date
    end_date: dt.date | None
    billed_through: dt.date | None
    source: str
    drafted_through: dt.date | None  # the last day a live draft or approved bill covers, past the issued ones
    next_period_start: dt.date


def agreements_billed_through(*, agreements) -> list[BilledThrough]:
    """`BilledThrough` for each of `agreements` (objects with id, service_point_id, start_date,
    end_date: cis's agreement rows), in the order given. Live segments of issued bills give
    `billed_through`; for an agreement with no live segment at all, MDM's billed-through date
    of its service point stands in (billing.services.runs plans a first bill from it the same way)."""
    agreements = list(agreements)
    ids = [a.id for a in agreements]
    ends: dict[tuple[int, bool], dt.date] = {}
    rows = (BillSegment.objects.filter(agreement_id__in=ids, live=True).order_by()
            .values_list("agreement_id", "bill__status").annotate(end=Max("period_end")))
    for agreement_id, bill_status, end in rows:
        key = (agreement_id, bill_status == Bill.Status.ISSUED)
        if key not in ends or end > ends[key]:
            ends[key] = end
    never = {a.service_point_id for a in agreements
             if (a.id, True) not in ends and (a.id, False) not in ends}
    opening = billed_through_dates(service_point_ids=never) if never else {}
    out = []
    day = dt.timedelta(days=1)
    for a in agreements:
        issued, other = ends.get((a.id, True)), ends.get((a.id, False))
        if issued is not None:
            through, source = issued - day, "bills"
        elif other is None and a.service_point_id in opening:
            through, source = opening[a.service_point_id], "conversion"
        else:
            through, source = None, ""
        drafted = other - day if other is not None and (issued is None or other > issued) else None
        last = max(d for d in (through, drafted) if d is not None) if (through or drafted) else None
        next_start = max(last + day, a.start_date) if last is not None else a.start_date
        out.append(BilledThrough(a.id, a.service_point_id, a.start_date, a.end_date, through, source, drafted,
                                 next_start))
    return out


# An account's autopay, equal payment plan, payment arrangement and overdue amount, as the
# customer portal shows them (billing.account_plans).
from billing.account_plans import (  # noqa: E402,F401
    AutopayView,
    BudgetView,
    account_overdue,
    arrangement_active,
    arrangement_schedule,
    arrangements_broken_since,
    autopay_active,
    budget_plan_active,
    budget_plan_types_offered,
    routing_check_digit,
)
