"""billing's reads for the Billing Hub, admin and other apps: runs with their progress, the
pre-bill exceptions worklist, a bill with its segments and lines, windows waiting for a run."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet

from billing.models import Bill, BillException, BillLine, BillRun, BillSegment, BillWindow, LedgerEntry


def bill_runs_with_progress(*, cycle_code: str = "", status: str = "", limit: int = 50) -> QuerySet[BillRun]:
    """Newest first, with chunk counts by status (chunks_done / chunks_total) next to the
    account counters the progress bar reads."""
    qs = BillRun.objects.select_related("cycle").annotate(
        chunks_total=Count("chunks"), chunks_done=Count("chunks", filter=Q(chunks__status="done")),
        chunks_failed=Count("chunks", filter=Q(chunks__status="failed")),
    )
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


def bill_detail(*, bill_id: int) -> BillDetail:
    """A bill with everything its page shows. Raises Bill.DoesNotExist."""
    bill = Bill.objects.select_related("run", "replaces").get(pk=bill_id)
    segments = list(bill.segments.order_by("id").prefetch_related(
        Prefetch("lines", queryset=BillLine.objects.order_by("sequence"))))
    return BillDetail(bill, segments, list(bill.exceptions.order_by("created_at", "id")),
                      list(LedgerEntry.objects.filter(bill=bill).order_by("posted_at", "id")))


def bills_for_account(*, account_id: int, limit: int = 24) -> QuerySet[Bill]:
    return Bill.objects.filter(account_id=account_id).order_by("-bill_date", "-id")[:limit]


def windows_without_run(*, today: dt.date, limit: int = 50) -> QuerySet[BillWindow]:
    """Windows whose bill date has come and that have no regular run yet."""
    started = BillRun.objects.filter(cycle_id=OuterRef("cycle_id"), bill_date=OuterRef("bill_date"))
    return (BillWindow.objects.select_related("cycle").filter(bill_date__lte=today, cycle__active=True)
            .exclude(Exists(started)).order_by("bill_date", "cycle__code")[:limit])
