"""Corrections and bills outside the cycle: cancel an issued bill (reversal ledger entries, its
segments stop being live; posted rows are never edited), rebill it (a REBILL bill for the
same periods, issued at once), decide MDM's replacement-read notices (rebill the bills one
touches, or dismiss it with a reason; staff in the Billing Hub, or the auto-rebill beat task),
an off-cycle bill for one account, and the final bill at move-out."""
from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict

from django.db import IntegrityError, transaction

from billing import selectors
from billing.services.ledger import ledger_reverse
from billing.models import Bill, BillSegment, LedgerEntry, NoticeDecision
from billing.services.runs.drafting import billed_to_with_opening, bills_draft
from billing.services.runs.planning import SegmentPlan, plan_bills
from billing.services.runs.lifecycle import bill_issue
from core.actors import Actor
from cis.selectors import agreements_by_ids, agreements_for_bill_accounts, bill_account_of
from mdm.services import replacement_read_notices_pick_up

DEFAULT_DUE_DAYS = 21
log = logging.getLogger(__name__)


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


def _open_notice(notice_id: int):
    """The notice, open and undecided, or RebillError saying why not."""
    decided = selectors.notices_decided(notice_ids=[notice_id]).get(notice_id)
    if decided is not None:
        raise RebillError(f"Notice {notice_id} was already {decided.get_action_display().lower()} by {decided.actor} "
                          f"on {decided.decided_at:%Y-%m-%d %H:%M}.")
    (work,) = selectors.notices_to_decide(notice_ids=[notice_id]) or (None,)
    if work is None:
        raise RebillError(f"There is no open replacement-read notice {notice_id} (unknown, or already picked up).")
    return work


def _decide(*, notice_id: int, action: str, reason: str, actor: Actor, now: dt.datetime, bill_ids=()) -> NoticeDecision:
    try:
        with transaction.atomic():
            decision = NoticeDecision.objects.create(
                notice_id=notice_id, action=action, reason=reason, bill_ids=list(bill_ids),
                decided_by_id=actor.user_id, actor=actor.username, decided_at=now)
    except IntegrityError as exc:  # decided at the same moment by someone else
        raise RebillError(f"Notice {notice_id} was decided by someone else just now.") from exc
    replacement_read_notices_pick_up(notice_ids=[notice_id], now=now)
    return decision


def notice_reason(notice) -> str:
    return f"Replacement reads (notice {notice.id}): {notice.reason}"


@transaction.atomic
def notice_rebill(*, notice_id: int, bill_date: dt.date, as_of: dt.date, now: dt.datetime, actor: Actor | None = None,
                  expected_bill_ids=None, due_days: int = DEFAULT_DUE_DAYS) -> list[Bill]:
    """Rebill every issued bill a replacement-read notice touches (cancel + REBILL, with the
    actor and a reason naming the notice), record the decision and mark the notice picked up,
    all in one transaction. Other open notices whose bills are now all among the new rebills
    are covered by them (the rebills used the data as it is now) and are decided with them.

    `expected_bill_ids` are the bills the user confirmed: if one is no longer issued (cancelled
    or rebilled meanwhile) nothing is done. Raises RebillError (unknown or decided notice, no
    issued bill to rebill, a bill that changed) with a message for the user."""
    actor = actor or Actor.system()
    work = _open_notice(notice_id)
    bill_ids = [b.pk for b in work.bills]
    if expected_bill_ids is not None:
        gone = sorted(set(expected_bill_ids) - set(bill_ids))
        if gone:
            bills = {b.pk: b for b in Bill.objects.filter(pk__in=gone)}
            said = ", ".join(f"{bills[b]} is {bills[b].get_status_display().lower()}" if b in bills else f"bill {b} is gone"
                             for b in gone)
            raise RebillError(f"Nothing rebilled: the bills of notice {notice_id} changed ({said}). "
                              "Look at the notice again.")
    if not bill_ids:
        raise RebillError(f"Notice {notice_id} touches no issued bill: nothing to rebill. Dismiss it instead.")
    reason = notice_reason(work.notice)
    new_bills = [bill_rebill(bill=bill, reason=reason, bill_date=bill_date, as_of=as_of, now=now,
                             actor=actor.with_reason(reason), due_days=due_days) for bill in work.bills]
    _decide(notice_id=notice_id, action=NoticeDecision.Action.REBILLED, reason=reason, actor=actor, now=now,
            bill_ids=bill_ids)
    new_ids = {b.pk for b in new_bills}
    for other in selectors.notices_to_decide():
        if other.bills and {b.pk for b in other.bills} <= new_ids:
            _decide(notice_id=other.notice.id, action=NoticeDecision.Action.REBILLED, actor=actor, now=now,
                    reason=f"Covered by the rebill for notice {notice_id}.", bill_ids=[])
    return new_bills


@transaction.atomic
def notice_dismiss(*, notice_id: int, reason: str, now: dt.datetime, actor: Actor | None = None) -> NoticeDecision:
    """A notice for a period that needs no rebill: record who and why, mark it picked up.
    Raises RebillError without a reason or for an unknown or already decided notice."""
    if not (reason or "").strip():
        raise RebillError("Say why the notice needs no rebill.")
    _open_notice(notice_id)
    return _decide(notice_id=notice_id, action=NoticeDecision.Action.DISMISSED, reason=reason.strip(),
                   actor=actor or Actor.system(), now=now)


def bills_rebill_for_notices(*, bill_date: dt.date, as_of: dt.date, now: dt.datetime,
                             actor: Actor | None = None, notice_ids=None) -> list[Bill]:
    """Decide MDM's open replacement-read notices (only `notice_ids`, when given): rebill every
    issued bill with a live segment of the notice's service point overlapping its period (each
    bill once: a notice covered by an earlier one's rebills is decided with it). Each notice is
    its own transaction; a notice that touches no issued bill is dismissed (nothing to rebill);
    one that fails stays open and is logged."""
    actor = actor or Actor.system()
    rebilled: list[Bill] = []
    for work in selectors.notices_to_decide(notice_ids=notice_ids, limit=10_000):
        try:
            if not work.bills:
                notice_dismiss(notice_id=work.notice.id, now=now, actor=actor,
                               reason="No issued bill covers this period: nothing to rebill.")
                continue
            rebilled += notice_rebill(notice_id=work.notice.id, bill_date=bill_date, as_of=as_of, now=now, actor=actor)
        except RebillError as exc:
            # Decided meanwhile (covered by an earlier notice's rebill, or by staff): nothing to do.
            log.info("Replacement-read notice %s not rebilled: %s", work.notice.id, exc)
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
