"""The bill run lifecycle on core.runs: start (idempotent) -> chunks on Celery workers ->
completed (the engine's DONE: drafts ready) -> approve -> issue. Resume re-enqueues what a
killed worker left pending; the core.runs sweeper does so for a run whose worker died.

A chunk's bills, its DONE status and the run's counters commit in ONE transaction
(core.runs.chunk_claim), so a worker killed mid-chunk leaves no trace and the chunk is simply
done again; the partial unique constraint on live segments is the last line of defence
against a double bill."""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Sum
from django.utils import timezone

from billing.services.ledger import ledger_post_bill
from billing.models import Bill, BillCycle, BillRun, BillRunChunk, BillSegment, BillWindow, LedgerEntry
from billing.services.runs.drafting import Timings, billed_to_with_opening, bills_draft
from billing.services.runs.planning import plan_bills
from cis.selectors import agreements_for_bill_accounts, bill_account_ids_in_cycle
from core import runs as run_engine
from core.actors import Actor
from core.money import money
from mdm.services import billed_through_set_many

log = logging.getLogger(__name__)
ISSUE_BATCH = 1000


class BillRunError(Exception):
    """The run cannot do what was asked in its current state (or has no window)."""


def _user(user):
    return user if user is not None and user.is_authenticated else None


def _enqueue(run_id: int, numbers: Iterable[int]) -> None:
    from billing.tasks import bill_run_chunk  # tasks import this module

    for number in numbers:
        bill_run_chunk.delay(bill_run_id=run_id, chunk_number=number)


def bill_run_start(*, cycle: BillCycle, bill_date: dt.date, now: dt.datetime, user=None, chunk_size: int = 500,
                   enqueue: bool = True) -> BillRun:
    """Start the regular run of `cycle` for `bill_date`, or return the run already started
    with the same key (cycle + bill date + kind). Splits the cycle's bill accounts into
    chunks and, after commit, queues one Celery task per chunk (`enqueue=False` leaves them
    for the caller, e.g. an in-process benchmark).

    Raises BillRunError when the cycle has no window with that bill date."""
    key = f"{cycle.code}:{bill_date.isoformat()}:regular"
    existing = BillRun.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing
    window = BillWindow.objects.filter(cycle=cycle, bill_date=bill_date).first()
    if window is None:
        raise BillRunError(f"Cycle {cycle.code} has no bill window on {bill_date}.")
    if chunk_size < 1:
        raise BillRunError("The chunk size must be at least 1.")
    try:
        with transaction.atomic(), Actor.of(user).audit("bill_run_start"):
            accounts = bill_account_ids_in_cycle(cycle_code=cycle.code)
            slices = [accounts[i:i + chunk_size] for i in range(0, len(accounts), chunk_size)]
            run = BillRun.objects.create(
                cycle=cycle, bill_date=bill_date, period_end_date=window.period_end_date, idempotency_key=key,
                status=BillRun.Status.RUNNING if slices else BillRun.Status.DONE, chunk_size=chunk_size,
                started_by=_user(user), created_at=now, started_at=now, progress_at=now,
                finished_at=None if slices else now, progress_total=len(accounts), chunks_total=len(slices),
                due_date=bill_date + dt.timedelta(days=window.due_days),
            )
            BillRunChunk.objects.bulk_create(
                BillRunChunk(run=run, number=n, size=len(ids), account_ids=ids) for n, ids in enumerate(slices)
            )
            if enqueue and slices:
                numbers = list(range(len(slices)))
                transaction.on_commit(lambda: _enqueue(run.pk, numbers))
    except IntegrityError:
        return BillRun.objects.get(idempotency_key=key)
    return run


def bill_run_chunk_process(*, bill_run_id: int, chunk_number: int, now: dt.datetime) -> str:
    """Do one chunk on core.runs: draft its bills, and mark it done with the run's counters in
    the same transaction (the last chunk closes the run). A chunk already done, or held by
    another worker right now, is skipped (a redelivered task). A chunk that fails is rolled
    back and marked FAILED with its error; the run then ends FAILED (never "completed") once
    its other chunks are done, and resume retries it. Returns "done", "skipped" or "failed"."""
    try:
        with run_engine.chunk_claim(BillRunChunk, run_id=bill_run_id, number=chunk_number, now=now) as claim:
            if claim is None:
                return "skipped"
            run, chunk = claim.run, claim.chunk
            timings = Timings()
            with timings.phase("load"):
                agreements = agreements_for_bill_accounts(bill_account_ids=chunk.account_ids, before=run.period_end_date)
                plans = plan_bills(agreements, billed_to=billed_to_with_opening(agreements),
                                   period_end=run.period_end_date)
            bills = bills_draft(plans=plans, bill_date=run.bill_date, due_date=run.due_date, kind=Bill.Kind.REGULAR,
                                as_of=run.bill_date, run=run, timings=timings) if plans else []
            claim.add(bills_created=len(bills), exceptions=sum(1 for b in bills if b.status == Bill.Status.HELD))
            for phase, seconds in timings.as_dict().items():
                claim.time(phase, seconds)
        return "done"
    except Exception as exc:  # noqa: BLE001 - recorded on the chunk for staff; resume retries it
        log.exception("bill run %s chunk %s failed", bill_run_id, chunk_number)
        with transaction.atomic():
            if run_engine.chunk_fail(BillRunChunk, run_id=bill_run_id, number=chunk_number,
                               error=f"{type(exc).__name__}: {exc}", now=now):
                BillRun.objects.filter(pk=bill_run_id).update(errors=F("errors") + 1)
        return "failed"


def bill_run_pending_chunks(*, bill_run_id: int) -> list[int]:
    return run_engine.pending_chunks(BillRunChunk, run_id=bill_run_id)


def bill_run_resume(*, bill_run_id: int, enqueue: bool = True, now: dt.datetime | None = None) -> list[int]:
    """Queue again every chunk not done (pending after a killed worker, or failed). Safe to
    call while workers still hold some of them: a chunk done twice is skipped the second
    time. Returns the chunk numbers queued. Raises BillRunError for a run past drafting."""
    run = BillRun.objects.get(pk=bill_run_id)
    if run.status not in (BillRun.Status.RUNNING, BillRun.Status.QUEUED, BillRun.Status.FAILED):
        raise BillRunError(f"Run {run.pk} is {run.get_status_display().lower()}; nothing to resume.")
    numbers = run_engine.run_resume(BillRunChunk, run_id=bill_run_id, now=now,
                              enqueue=(lambda nums: _enqueue(bill_run_id, nums)) if enqueue else None)
    if numbers:
        # The failed chunks are pending again: the error count is of chunks failing now.
        BillRun.objects.filter(pk=bill_run_id).update(errors=0)
    return numbers


def bill_run_approve(*, bill_run_id: int, actor: Actor | None = None, now: dt.datetime | None = None) -> BillRun:
    """Approve a completed run: its draft bills become approved (held bills stay held until
    worked), each recording who approved it and when. Raises BillRunError unless the run is
    completed."""
    actor = actor or Actor.system()
    now = now or timezone.now()
    with transaction.atomic(), actor.audit("bill_run_approve"):
        run = BillRun.objects.select_for_update().get(pk=bill_run_id)
        if run.status != BillRun.Status.DONE:
            raise BillRunError(
                f"Only a completed run can be approved; run {run.pk} is {run.get_status_display().lower()}.")
        Bill.objects.filter(run=run, status=Bill.Status.DRAFT).update(
            status=Bill.Status.APPROVED, approved_by_id=actor.user_id, approved_at=now)
        run.status, run.approved_by_id, run.approved_at = BillRun.Status.APPROVED, actor.user_id, now
        run.save(update_fields=["status", "approved_by", "approved_at"])
    return run


def bills_issue(*, bills: list[Bill], now: dt.datetime, actor: Actor | None = None) -> int:
    """Issue approved bills: number, balance forward (the ledger before this bill), amount due,
    the ledger entry, and tell MDM each service point's billed-through date. Bills already
    issued are skipped. Returns how many were issued. Call inside `actor.audit(...)` so the
    bills' history names who issued them; `issued_by` records it on each bill."""
    actor = actor or Actor.system()
    bills = [b for b in bills if b.status == Bill.Status.APPROVED]
    if not bills:
        return 0
    accounts = {b.account_id for b in bills}
    balances = dict(LedgerEntry.objects.filter(account_id__in=accounts).values("account_id")
                    .annotate(total=Sum("amount")).values_list("account_id", "total"))
    for bill in bills:
        bill.bill_number = f"B{bill.pk:010d}"
        bill.balance_forward = balances.get(bill.account_id) or Decimal("0.00")
        bill.amount_due = bill.balance_forward + bill.total
        balances[bill.account_id] = bill.amount_due
        bill.status, bill.issued_at, bill.issued_by_id = Bill.Status.ISSUED, now, actor.user_id
    # One UPDATE from arrays: Django's bulk_update builds a CASE per field and row, which cost
    # more than everything else in issuing a run.
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {Bill._meta.db_table} AS b
                SET bill_number = v.number, balance_forward = v.forward, amount_due = v.due, status = %s,
                    issued_at = %s, issued_by_id = %s
                FROM unnest(%s::bigint[], %s::text[], %s::numeric[], %s::numeric[]) AS v(id, number, forward, due)
                WHERE b.id = v.id""",
            [Bill.Status.ISSUED, now, actor.user_id, [b.pk for b in bills], [b.bill_number for b in bills],
             [b.balance_forward for b in bills], [b.amount_due for b in bills]],
        )
    if len(bills) == 1:
        bill = bills[0]
        if bill.total:
            ledger_post_bill(account_id=bill.account_id, bill=bill, amount=bill.total, bill_date=bill.bill_date)
    else:
        # The same rows ledger_post_bill writes (kind, description, idempotency key "bill:<id>"),
        # inserted together: a run issues thousands at once, and the bills are locked and
        # APPROVED, so none of them has an entry yet.
        LedgerEntry.objects.bulk_create([
            LedgerEntry(account_id=b.account_id, kind=LedgerEntry.Kind.BILL, amount=money(b.total),
                        effective_date=b.bill_date, description=f"Bill {b.bill_number}", bill=b,
                        idempotency_key=f"bill:{b.pk}")
            for b in bills if b.total
        ])
    through: dict[int, dt.date] = {}
    for sp, end in BillSegment.objects.filter(bill__in=bills, live=True).values_list("service_point_id", "period_end"):
        through[sp] = max(through.get(sp, end), end)
    billed_through_set_many(dates={sp: end - dt.timedelta(days=1) for sp, end in through.items()})
    return len(bills)


def bill_issue(*, bill: Bill, now: dt.datetime, actor: Actor | None = None) -> Bill:
    """Issue one bill (off-cycle, final, rebill, or one released after its run was issued).
    Raises BillRunError unless it is approved or a draft."""
    actor = actor or Actor.system()
    with transaction.atomic(), actor.audit("bill_issue"):
        bill = Bill.objects.select_for_update().get(pk=bill.pk)
        if bill.status == Bill.Status.DRAFT:
            bill.status, bill.approved_by_id, bill.approved_at = Bill.Status.APPROVED, actor.user_id, now
            Bill.objects.filter(pk=bill.pk).update(status=bill.status, approved_by_id=actor.user_id, approved_at=now)
        if bill.status != Bill.Status.APPROVED:
            raise BillRunError(f"Bill {bill.pk} is {bill.get_status_display().lower()} and cannot be issued.")
        bills_issue(bills=[bill], now=now, actor=actor)
    return bill


def bill_run_issue(*, bill_run_id: int, now: dt.datetime, actor: Actor | None = None) -> BillRun:
    """Issue every approved bill of an approved run, in batches that each commit on their own
    (a crash part-way is finished by issuing again). Raises BillRunError unless approved."""
    actor = actor or Actor.system()
    run = BillRun.objects.get(pk=bill_run_id)
    if run.status not in (BillRun.Status.APPROVED, BillRun.Status.ISSUED):
        raise BillRunError(f"Only an approved run can be issued; run {run.pk} is {run.get_status_display().lower()}.")
    timings = Timings()
    with timings.phase("issue"):
        while True:
            with transaction.atomic(), actor.audit("bill_run_issue"):
                batch = list(Bill.objects.select_for_update().filter(run=run, status=Bill.Status.APPROVED)
                             .order_by("id")[:ISSUE_BATCH])
                if not batch:
                    break
                bills_issue(bills=batch, now=now, actor=actor)
    with transaction.atomic(), actor.audit("bill_run_issue"):
        run = BillRun.objects.select_for_update().get(pk=bill_run_id)
        run.status, run.issued_by_id, run.issued_at = BillRun.Status.ISSUED, actor.user_id, run.issued_at or now
        run.timings = {**(run.timings or {}), "issue": round((run.timings or {}).get("issue", 0) + timings.seconds["issue"], 4)}
        run.save(update_fields=["status", "timings", "issued_by", "issued_at"])
    return run


def bill_run_progress(*, bill_run_id: int) -> dict:
    """core.runs' progress of the run plus its bill counts (what the Billing Hub polls)."""
    run = BillRun.objects.get(pk=bill_run_id)
    return run_engine.run_progress(run, bills=run.bills_created, exceptions=run.exceptions, errors=run.errors)
