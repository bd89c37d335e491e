"""Corrections and bills outside the cycle: cancel an issued bill (reversal ledger entries, its
segments stop being live; posted rows are never edited), rebill it (a REBILL bill for the
same periods, issued at once), rebill everything MDM's replacement-read notices touch, an
off-cycle bill for one account, and the final bill at move-out."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db import transaction

from billing.ledger import ledger_reverse
from billing.models import Bill, BillSegment, LedgerEntry
from billing.runs.drafting import billed_to_with_opening, bills_draft
from billing.runs.planning import SegmentPlan, plan_bills
from billing.runs.services import bill_issue
from core.actors import Actor
from cis.selectors import agreements_by_ids, agreements_for_bill_accounts, bill_account_of
from mdm.selectors import replacement_read_notices_open
from mdm.services import replacement_read_notices_pick_up

DEFAULT_DUE_DAYS = 21


class RebillError(Exception):
    """The bill cannot be cancelled/rebilled, or there is nothing to bill."""


def bill_cancel(*, bill: Bill, reason: str, effective_date: dt.date, now: dt.datetime,
                actor: Actor | None = None) -> Bill:
    """Cancel an issued bill: reverse each of its ledger entries (a new opposite entry each),
    mark its segments not live, and record why. Raises RebillError unless it is issued or
    without a reason."""
    if not (reason or "").strip():
        raise RebillError("Say why the bill is cancelled.")
    actor = (actor or Actor.system()).with_reason(reason.strip())
    with transaction.atomic(), actor.audit("bill_cancel"):
        bill = Bill.objects.select_for_update().get(pk=bill.pk)
        if bill.status != Bill.Status.ISSUED:
            raise RebillError(
                f"Only an issued bill can be cancelled; bill {bill} is {bill.get_status_display().lower()}.")
        for entry in LedgerEntry.objects.filter(bill=bill, reverses__isnull=True).exclude(kind=LedgerEntry.Kind.REVERSAL):
            if not LedgerEntry.objects.filter(reverses=entry).exists():
                ledger_reverse(entry=entry, reason=reason, effective_date=effective_date, user=actor)
        BillSegment.objects.filter(bill=bill).update(live=False)
        bill.status, bill.cancelled_at, bill.cancel_reason = Bill.Status.CANCELLED, now, reason.strip()
        bill.cancelled_by_id = actor.user_id
        bill.save(update_fields=["status", "cancelled_at", "cancel_reason", "cancelled_by"])
    return bill


@transaction.atomic
def bill_rebill(*, bill: Bill, reason: str, bill_date: dt.date, as_of: dt.date, now: dt.datetime,
                actor: Actor | None = None, due_days: int = DEFAULT_DUE_DAYS) -> Bill:
    """Cancel an issued bill and issue a REBILL for exactly its periods with the data and rates
    as they are now. A rebill is issued at once (it corrects what the customer already has);
    pre-bill findings are still recorded on it. Raises RebillError as bill_cancel does."""
    periods = list(bill.segments.filter(live=True).values_list("agreement_id", "period_start", "period_end"))
    actor = (actor or Actor.system()).with_reason(reason)
    bill_cancel(bill=bill, reason=reason, effective_date=bill_date, now=now, actor=actor)
    rows = {a.id: a for a in agreements_by_ids(agreement_ids=[p[0] for p in periods])}
    plans: dict[int, list[SegmentPlan]] = defaultdict(list)
    for agreement_id, start, end in periods:
        plans[bill.account_id].append(SegmentPlan(rows[agreement_id], start, end))
    (new,) = bills_draft(plans=plans, bill_date=bill_date, due_date=bill_date + dt.timedelta(days=due_days),
                         kind=Bill.Kind.REBILL, as_of=as_of, replaces={bill.account_id: bill})
    with actor.audit("bill_rebill"):
        Bill.objects.filter(pk=new.pk).update(status=Bill.Status.APPROVED, approved_by_id=actor.user_id, approved_at=now)
    new.status = Bill.Status.APPROVED
    return bill_issue(bill=new, now=now, actor=actor)


def bills_rebill_for_notices(*, bill_date: dt.date, as_of: dt.date, now: dt.datetime,
                             actor: Actor | None = None) -> list[Bill]:
    """Pick up MDM's open replacement-read notices and rebill every issued bill with a live
    segment of the notice's service point overlapping its period (each bill once). Each bill is
    its own transaction; notices are marked picked up once their bills are rebilled."""
    notices = replacement_read_notices_open()
    rebilled: list[Bill] = []
    done: set[int] = set()
    for notice in notices:
        bill_ids = (BillSegment.objects.filter(
            service_point_id=notice.service_point_id, live=True, bill__status=Bill.Status.ISSUED,
            period_start__lt=notice.period_end, period_end__gt=notice.period_start,
        ).values_list("bill_id", flat=True).distinct())
        for bill_id in sorted(set(bill_ids) - done):
            done.add(bill_id)
            rebilled.append(bill_rebill(bill=Bill.objects.get(pk=bill_id), bill_date=bill_date, as_of=as_of, now=now,
                                        actor=actor, reason=f"Replacement reads: {notice.reason}"))
        replacement_read_notices_pick_up(notice_ids=[notice.id], now=now)
    return rebilled


def _draft_for_account(*, account_id: int, period_end: dt.date, bill_date: dt.date, as_of: dt.date, kind: str,
                       due_days: int, only_ended: bool) -> Bill:
    bill_account = bill_account_of(account_id=account_id)
    agreements = [a for a in agreements_for_bill_accounts(bill_account_ids=[bill_account], before=period_end)
                  if account_id in (a.account_id, bill_account) and (not only_ended or a.end_date is not None)]
    plans = plan_bills(agreements, billed_to=billed_to_with_opening(agreements), period_end=period_end)
    if not plans:
        raise RebillError(f"Nothing to bill for account {account_id} before {period_end}.")
    (bill,) = bills_draft(plans=plans, bill_date=bill_date, due_date=bill_date + dt.timedelta(days=due_days),
                          kind=kind, as_of=as_of)
    return bill


@transaction.atomic
def bill_off_cycle(*, account_id: int, period_end: dt.date, bill_date: dt.date, as_of: dt.date,
                   due_days: int = DEFAULT_DUE_DAYS) -> Bill:
    """A draft bill for one account outside its cycle: every agreement from where it was last
    billed up to `period_end`. Raises RebillError when nothing is due."""
    return _draft_for_account(account_id=account_id, period_end=period_end, bill_date=bill_date, as_of=as_of,
                              kind=Bill.Kind.OFF_CYCLE, due_days=due_days, only_ended=False)


@transaction.atomic
def bill_final(*, account_id: int, bill_date: dt.date, as_of: dt.date, due_days: int = DEFAULT_DUE_DAYS) -> Bill:
    """The final bill at move-out: each ended agreement of the account from its last billed
    date to its end date. Raises RebillError when no ended agreement has anything unbilled."""
    ends = [a.end_date for a in agreements_for_bill_accounts(bill_account_ids=[bill_account_of(account_id=account_id)],
                                                             before=dt.date.max) if a.account_id == account_id and a.end_date]
    if not ends:
        raise RebillError(f"Account {account_id} has no ended agreement.")
    return _draft_for_account(account_id=account_id, period_end=max(ends), bill_date=bill_date, as_of=as_of,
                              kind=Bill.Kind.FINAL, due_days=due_days, only_ended=True)
