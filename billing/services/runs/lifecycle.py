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
import time
from collections.abc import Iterable
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db import models
from django.db.models import F, Sum
from django.utils import timezone

from billing import pdf as bill_documents
from billing.payments.allocation import accounts_allocate
from billing.budget.hooks import bill_issue_hooks_run
from billing.services.ledger import ledger_post_bill
from billing.models import (
    Bill,
    BillCycle,
    BillException,
    BillLine,
    BillRun,
    BillRunChunk,
    BillSegment,
    BillWindow,
    LedgerEntry,
)
from billing.services.runs.drafting import (
    BillOverlapError,
    Timings,
    agreements_lock,
    billed_to_with_opening,
    bills_draft,
    conflicts_message,
    live_segment_conflicts,
)
from billing.services.runs.planning import plan_bills, window_opens_on, window_read_closed
from cis.selectors import account_numbers, agreements_for_bill_accounts, bill_account_ids_in_cycle
from core import runs as run_engine
from core.actors import Actor
from core.clock import utility_zone
from core.money import money
from mdm.services import billed_through_set_many

log = logging.getLogger(__name__)
ISSUE_BATCH = 1000


class BillRunError(Exception):
    """The run cannot do what was asked in its current state (or has no window)."""


class BillRunWindowOpen(BillRunError):
    """The window's read window has not closed yet: starting it needs an override reason."""


class BillRunConflict(BillRunError):
    """A live bill of the cycle's agreements overlaps the period (or reaches past the window)."""


def _local_date(now: dt.datetime) -> dt.date:
    return now.astimezone(utility_zone()).date()


def window_is_open(window: BillWindow, *, today: dt.date) -> bool:
    """True while the window may not be billed without an override (its reads are not all in)."""
    return not window_read_closed(period_end_date=window.period_end_date, read_window_end=window.read_window_end,
                                  today=today)


def window_opens(window: BillWindow) -> dt.date:
    return window_opens_on(period_end_date=window.period_end_date, read_window_end=window.read_window_end)


def _cycle_conflicts(*, accounts: list[int], period_end: dt.date) -> list:
    agreements = agreements_for_bill_accounts(bill_account_ids=accounts, before=period_end)
    return live_segment_conflicts(agreement_ids=[a.id for a in agreements], beyond=period_end)


def _conflict_text(conflicts: list) -> str:
    return conflicts_message(conflicts, account_numbers=account_numbers(account_ids={c.account_id for c in conflicts}))


def bill_run_start_preview(*, cycle: BillCycle, bill_date: dt.date, now: dt.datetime) -> dict:
    """What starting this run would do, for a confirm step: the window, its bill accounts, the
    period, whether the read window is still open (an override is needed) and any bills in the
    way. Raises BillRunError when the cycle has no window with that bill date."""
    window = BillWindow.objects.filter(cycle=cycle, bill_date=bill_date).first()
    if window is None:
        raise BillRunError(f"Cycle {cycle.code} has no bill window on {bill_date}.")
    key = f"{cycle.code}:{bill_date.isoformat()}:regular"
    accounts = bill_account_ids_in_cycle(cycle_code=cycle.code)
    conflicts = _cycle_conflicts(accounts=accounts, period_end=window.period_end_date)
    return {
        "window": window, "cycle": cycle, "accounts": len(accounts), "period_end": window.period_end_date,
        "last_day": window.period_end_date - dt.timedelta(days=1), "opens_on": window_opens(window),
        "open": window_is_open(window, today=_local_date(now)),
        "conflict": _conflict_text(conflicts) if conflicts else "",
        "existing": BillRun.objects.filter(idempotency_key=key).first(),
    }


def _user(user):
    return user if user is not None and user.is_authenticated else None


def _enqueue(run_id: int, numbers: Iterable[int]) -> None:
    from billing.tasks import bill_run_chunk  # tasks import this module

    for number in numbers:
        bill_run_chunk.delay(bill_run_id=run_id, chunk_number=number)


def bill_run_start(*, cycle: BillCycle, bill_date: dt.date, now: dt.datetime, user=None, chunk_size: int = 500,
                   enqueue: bool = True, override_reason: str = "") -> BillRun:
    """Start the regular run of `cycle` for `bill_date`, or return the run already started
    with the same key (cycle + bill date + kind). Splits the cycle's bill accounts into
    chunks and, after commit, queues one Celery task per chunk (`enqueue=False` leaves them
    for the caller, e.g. an in-process benchmark).

    Only a window whose read window has closed on the utility's local date of `now` is started;
    an earlier one needs `override_reason` (kept on the run). Live bills of the cycle's
    agreements that overlap the period or reach past the window refuse the start.

    Raises BillRunError when the cycle has no window with that bill date, BillRunWindowOpen
    for an open window without a reason, BillRunConflict for bills in the way."""
    key = f"{cycle.code}:{bill_date.isoformat()}:regular"
    existing = BillRun.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing
    window = BillWindow.objects.filter(cycle=cycle, bill_date=bill_date).first()
    if window is None:
        raise BillRunError(f"Cycle {cycle.code} has no bill window on {bill_date}.")
    if chunk_size < 1:
        raise BillRunError("The chunk size must be at least 1.")
    override_reason = (override_reason or "").strip()
    if window_is_open(window, today=_local_date(now)) and not override_reason:
        raise BillRunWindowOpen(
            f"The read window of {cycle.code}'s {bill_date} bill is still open (usage to "
            f"{window.period_end_date - dt.timedelta(days=1)}, reads until {window.read_window_end}); it can be "
            f"started from {window_opens(window)}, or now with an override reason.")
    try:
        with transaction.atomic(), Actor.of(user).audit("bill_run_start"):
            accounts = bill_account_ids_in_cycle(cycle_code=cycle.code)
            conflicts = _cycle_conflicts(accounts=accounts, period_end=window.period_end_date)
            if conflicts:
                raise BillRunConflict(_conflict_text(conflicts))
            slices = [accounts[i:i + chunk_size] for i in range(0, len(accounts), chunk_size)]
            run = BillRun.objects.create(
                cycle=cycle, bill_date=bill_date, period_end_date=window.period_end_date, idempotency_key=key,
                status=BillRun.Status.RUNNING if slices else BillRun.Status.DONE, chunk_size=chunk_size,
                started_by=_user(user), created_at=now, started_at=now, progress_at=now,
                finished_at=None if slices else now, progress_total=len(accounts), chunks_total=len(slices),
                due_date=bill_date + dt.timedelta(days=window.due_days), override_reason=override_reason,
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
                # Locked first (another run drafting them waits), then checked: a bill reaching
                # past this window (a later window's run) fails the chunk with its name.
                agreements_lock(a.id for a in agreements)
                beyond = live_segment_conflicts(agreement_ids=[a.id for a in agreements], beyond=run.period_end_date)
                if beyond:
                    raise BillOverlapError(_conflict_text(beyond))
                plans = plan_bills(agreements, billed_to=billed_to_with_opening(agreements),
                                   period_end=run.period_end_date)
            bills = bills_draft(plans=plans, bill_date=run.bill_date, due_date=run.due_date, kind=Bill.Kind.REGULAR,
                                as_of=run.bill_date, run=run, timings=timings) if plans else []
            claim.add(bills_created=len(bills), exceptions=sum(1 for b in bills if b.status == Bill.Status.HELD))
            for phase, seconds in timings.as_dict().items():
                claim.time(phase, seconds)
        done = BillRun.objects.values_list("progress_done", flat=True).get(pk=bill_run_id)
        _analyze_if_grown(before=done - chunk.size, after=done, chunk_size=run.chunk_size)
        return "done"
    except Exception as exc:  # noqa: BLE001 - recorded on the chunk for staff; resume retries it
        log.exception("bill run %s chunk %s failed", bill_run_id, chunk_number)
        with transaction.atomic():
            if run_engine.chunk_fail(BillRunChunk, run_id=bill_run_id, number=chunk_number,
                               error=f"{type(exc).__name__}: {exc}", now=now):
                BillRun.objects.filter(pk=bill_run_id).update(errors=F("errors") + 1)
        return "failed"


def _drafted_tables() -> tuple[str, ...]:
    return tuple(m._meta.db_table for m in (Bill, BillSegment, BillLine, BillException))


def _analyze_if_grown(*, before: int, after: int, chunk_size: int) -> bool:
    """ANALYZE the tables a run fills as it passes 1, 2, 4, 8 ... chunks' worth of accounts
    (core.runs.tables_analyze_if_grown): the run's billed-to, history and overlap lookups are
    planned on those tables' statistics, which autovacuum (off, or late) would leave at their
    size before the run; the planner then scanned the growing tables in full (53 ms a chunk
    instead of 6 ms at 100k)."""
    return run_engine.tables_analyze_if_grown(_drafted_tables(), before=before, after=after, step=chunk_size)


def bill_run_pending_chunks(*, bill_run_id: int) -> list[int]:
    return run_engine.pending_chunks(BillRunChunk, run_id=bill_run_id)


def bill_run_resume(*, bill_run_id: int, enqueue: bool = True, now: dt.datetime | None = None) -> list[int]:
    """Queue again every chunk not done (pending after a killed worker, or failed). Safe to
    call while workers still hold some of them: a chunk done twice is skipped the second
    time. A run approving or issuing has its approve / issue chunks not marked yet queued
    again instead (bill_run_step_resume). Returns the chunk numbers queued. Raises
    BillRunError for a run past drafting that is not approving or issuing."""
    run = BillRun.objects.get(pk=bill_run_id)
    if run.status in (BillRun.Status.APPROVING, BillRun.Status.ISSUING):
        return bill_run_step_resume(bill_run_id=bill_run_id, now=now, enqueue=enqueue)
    if run.status not in (BillRun.Status.RUNNING, BillRun.Status.QUEUED, BillRun.Status.FAILED):
        raise BillRunError(f"Run {run.pk} is {run.get_status_display().lower()}; nothing to resume.")
    numbers = run_engine.run_resume(BillRunChunk, run_id=bill_run_id, now=now,
                              enqueue=(lambda nums: _enqueue(bill_run_id, nums)) if enqueue else None)
    if numbers:
        # The failed chunks are pending again: the error count is of chunks failing now.
        BillRun.objects.filter(pk=bill_run_id).update(errors=0)
    return numbers


def bill_run_failed_chunks(*, bill_run_id: int) -> int:
    return BillRunChunk.objects.filter(run_id=bill_run_id, status=BillRunChunk.Status.FAILED).count()


def bill_run_can_approve(run: BillRun) -> bool:
    """Completed, no chunk error and no failed chunk: the only runs the hub offers to approve."""
    return (run.status == BillRun.Status.DONE and not run.errors and not run.error
            and not bill_run_failed_chunks(bill_run_id=run.pk))


def bill_run_totals(*, bill_run_id: int) -> dict:
    """Counts and totals of a run's bills for a confirm step: {status: (count, total)} plus
    `bills` (not cancelled), `held`, `to_approve` / `to_issue` (draft / approved) and their totals."""
    rows = (Bill.objects.filter(run_id=bill_run_id).order_by().values("status")
            .annotate(n=models.Count("id"), total=Sum("total")))
    by = {r["status"]: (r["n"], r["total"] or Decimal("0.00")) for r in rows}
    zero = (0, Decimal("0.00"))
    live = [v for k, v in by.items() if k != Bill.Status.CANCELLED]
    return {
        "bills": sum(n for n, _ in live), "total": sum((t for _, t in live), Decimal("0.00")),
        "held": by.get(Bill.Status.HELD, zero)[0], "held_total": by.get(Bill.Status.HELD, zero)[1],
        "to_approve": by.get(Bill.Status.DRAFT, zero)[0], "to_approve_total": by.get(Bill.Status.DRAFT, zero)[1],
        "to_issue": by.get(Bill.Status.APPROVED, zero)[0], "to_issue_total": by.get(Bill.Status.APPROVED, zero)[1],
        "issued": by.get(Bill.Status.ISSUED, zero)[0],
    }


def _chunk_numbers(bill_run_id: int, *, unmarked: str) -> list[int]:
    """The run's chunks whose `unmarked` mark ("approved_at" / "issued_at") is not set, in order."""
    return list(BillRunChunk.objects.filter(run_id=bill_run_id, **{f"{unmarked}__isnull": True})
                .order_by("number").values_list("number", flat=True))


def _actor_kwargs(actor: Actor) -> dict:
    return {"actor_id": actor.user_id, "actor_name": actor.username, "reason": actor.reason}


def _enqueue_step(task_name: str, run_id: int, numbers: list[int], actor: Actor) -> None:
    from billing import tasks  # tasks import this module

    task = getattr(tasks, task_name)
    for number in numbers:
        task.delay(bill_run_id=run_id, chunk_number=number, **_actor_kwargs(actor))


def _step_close(*, bill_run_id: int, mark: str, during: str, after: str, phase: str, seconds: float,
                now: dt.datetime, on_close=None) -> bool:
    """After a chunk's mark (inside its transaction): add its seconds to the run's timings and,
    when no chunk is left without the mark and the run is still `during`, move it to `after`.
    The run row is locked after the chunk row (the engine's order), so of two chunks finishing
    together the second sees the first's mark; `on_close()` runs under that lock before the
    run moves on. Returns whether it closed the step."""
    run = BillRun.objects.select_for_update().only("pk", "status", "timings").get(pk=bill_run_id)
    timings = dict(run.timings or {})
    timings[phase] = round(timings.get(phase, 0) + seconds, 4)
    fields = {"timings": timings, "progress_at": now}
    closed = False
    if run.status == during and not BillRunChunk.objects.filter(
            run_id=bill_run_id, **{f"{mark}__isnull": True}).exists():
        if on_close is not None:
            on_close()
        fields["status"] = after
        closed = True
    BillRun.objects.filter(pk=bill_run_id).update(**fields)
    return closed


def bill_run_approve_begin(*, bill_run_id: int, actor: Actor | None = None, now: dt.datetime | None = None
                           ) -> list[int]:
    """Staff's decision to approve a completed run: the run becomes APPROVING with who and
    when, and the chunks whose drafts are still to approve are returned (every chunk, or what
    a killed worker left when asked again). A run with no chunk is APPROVED at once.
    Raises BillRunError unless the run is completed with no chunk error, or approving."""
    actor = actor or Actor.system()
    now = now or timezone.now()
    with transaction.atomic(), actor.audit("bill_run_approve"):
        run = BillRun.objects.select_for_update().get(pk=bill_run_id)
        if run.status == BillRun.Status.APPROVING:
            return _chunk_numbers(run.pk, unmarked="approved_at")
        if run.status != BillRun.Status.DONE:
            raise BillRunError(
                f"Only a completed run can be approved; run {run.pk} is {run.get_status_display().lower()}.")
        failed = bill_run_failed_chunks(bill_run_id=run.pk)
        if failed or run.errors or run.error:
            raise BillRunError(f"Run {run.pk} has {failed or run.errors} failed chunk(s): resume it until every "
                               "chunk is done before approving.")
        numbers = _chunk_numbers(run.pk, unmarked="approved_at")
        run.status = BillRun.Status.APPROVING if numbers else BillRun.Status.APPROVED
        run.approved_by_id, run.approved_at, run.progress_at = actor.user_id, now, now
        run.save(update_fields=["status", "approved_by", "approved_at", "progress_at"])
    return numbers


def bill_run_approve_chunk(*, bill_run_id: int, chunk_number: int, now: dt.datetime,
                           actor: Actor | None = None) -> str:
    """Approve one chunk's draft bills (held bills stay held), each recording the run's
    approver and time, and set the chunk's `approved_at` in the same transaction; the last
    chunk makes the run APPROVED. A chunk already approved, or held by another worker right
    now, is skipped (a redelivered task). Returns "done" or "skipped". Raises BillRunError when
    the run is not approving."""
    actor = actor or Actor.system()
    started = time.perf_counter()
    with transaction.atomic(), actor.audit("bill_run_approve"):
        chunk = (BillRunChunk.objects.select_for_update(skip_locked=True, of=("self",))
                 .filter(run_id=bill_run_id, number=chunk_number, approved_at__isnull=True)
                 .only("pk", "account_ids").order_by().first())
        if chunk is None:
            return "skipped"
        run = BillRun.objects.only("pk", "status", "approved_by_id", "approved_at").get(pk=bill_run_id)
        if run.status != BillRun.Status.APPROVING:
            raise BillRunError(f"Run {run.pk} is {run.get_status_display().lower()}, not being approved.")
        Bill.objects.filter(run_id=bill_run_id, account_id__in=chunk.account_ids, status=Bill.Status.DRAFT).update(
            status=Bill.Status.APPROVED, approved_by_id=run.approved_by_id, approved_at=run.approved_at)
        BillRunChunk.objects.filter(pk=chunk.pk).update(approved_at=now)
        _step_close(bill_run_id=bill_run_id, mark="approved_at", during=BillRun.Status.APPROVING,
                    after=BillRun.Status.APPROVED, phase="approve", seconds=time.perf_counter() - started, now=now)
    return "done"


def bill_run_approve(*, bill_run_id: int, actor: Actor | None = None, now: dt.datetime | None = None,
                     enqueue: bool = False) -> BillRun:
    """Approve a completed run: its draft bills become approved (held bills stay held until
    worked), each recording who approved it and when. The bills are approved chunk by chunk
    (`bill_run_approve_chunk`): on the Celery workers after this commits with `enqueue=True`
    (the run is APPROVING until the last chunk), else here, one transaction per chunk (a crash
    part-way is finished by approving again). Raises BillRunError unless the run is completed
    with no chunk error (a failed chunk must be resumed to success first), or approving."""
    actor = actor or Actor.system()
    now = now or timezone.now()
    numbers = bill_run_approve_begin(bill_run_id=bill_run_id, actor=actor, now=now)
    if enqueue:
        transaction.on_commit(lambda: _enqueue_step("bill_run_approve_chunk", bill_run_id, numbers, actor))
    else:
        for number in numbers:
            bill_run_approve_chunk(bill_run_id=bill_run_id, chunk_number=number, now=now, actor=actor)
    return BillRun.objects.get(pk=bill_run_id)


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
        # A bulk insert sends no post_save, so the payments' ledger hook does not see these
        # bills: an account that had unapplied credit (a balance below zero before its bill:
        # allocation leaves no open charge beside unapplied credit) pays its new bill from it now.
        in_credit = {b.account_id for b in bills if b.total and b.balance_forward < 0}
        if in_credit:
            accounts_allocate(account_ids=in_credit, on_date=min(b.bill_date for b in bills))
    through: dict[int, dt.date] = {}
    for sp, end in BillSegment.objects.filter(bill__in=bills, live=True).values_list("service_point_id", "period_end"):
        through[sp] = max(through.get(sp, end), end)
    billed_through_set_many(dates={sp: end - dt.timedelta(days=1) for sp, end in through.items()})
    bill_issue_hooks_run(bills=bills, now=now, actor=actor)  # e.g. equal payment plans (billing/budget)
    # Their PDFs are rendered by Celery after this transaction commits (one task per batch of
    # bills); nothing is rendered here.
    bill_documents.bill_documents_after_issue(bill_ids=[b.pk for b in bills], now=now)
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


def _issue_batch(qs, *, now: dt.datetime, actor: Actor) -> list[Bill]:
    """Lock and issue the approved bills of `qs` (one transaction). Returns them."""
    with transaction.atomic(), actor.audit("bill_run_issue"):
        batch = list(qs.select_for_update().filter(status=Bill.Status.APPROVED).order_by("id")[:ISSUE_BATCH])
        bills_issue(bills=batch, now=now, actor=actor)
    return batch


def _issue_rest(*, bill_run_id: int, now: dt.datetime, actor: Actor) -> int:
    """Issue whatever approved bill of the run the chunks did not cover, by id from the last
    batch (keyset): each batch starts where the previous one ended instead of walking the
    run's bills again from the start. A run's bills all belong to its chunks' accounts, so
    this normally finds nothing, in one pass."""
    issued, last = 0, 0
    while True:
        batch = _issue_batch(Bill.objects.filter(run_id=bill_run_id, pk__gt=last), now=now, actor=actor)
        if not batch:
            return issued
        issued += len(batch)
        last = batch[-1].pk


def bill_run_issue_chunk(*, bill_run_id: int, chunk_number: int, now: dt.datetime, actor: Actor | None = None) -> int:
    """Issue the approved bills of one drafting chunk's bill accounts and set the chunk's
    `issued_at`, in ONE transaction: a worker killed part-way leaves no bill, ledger entry or
    mark behind, and a chunk already issued (or held by another worker right now) is skipped,
    so a redelivered or resumed task never issues twice. The lookup goes through the bills'
    (account, bill date) index: its cost is the chunk's, whatever the size of the run. Chunks
    share no account, so they run side by side. The last chunk of an ISSUING run issues any
    approved bill of the run outside the chunks and makes the run ISSUED. Returns how many
    bills it issued. Raises BillRunError unless the run is approved, issuing or issued."""
    actor = actor or Actor.system()
    started = time.perf_counter()
    with transaction.atomic(), actor.audit("bill_run_issue"):
        chunk = (BillRunChunk.objects.select_for_update(skip_locked=True, of=("self",))
                 .filter(run_id=bill_run_id, number=chunk_number, issued_at__isnull=True)
                 .only("pk", "account_ids").order_by().first())
        if chunk is None:
            return 0
        run = BillRun.objects.only("pk", "status").get(pk=bill_run_id)
        if run.status not in (BillRun.Status.APPROVED, BillRun.Status.ISSUING, BillRun.Status.ISSUED):
            raise BillRunError(
                f"Only an approved run can be issued; run {run.pk} is {run.get_status_display().lower()}.")
        bills = list(Bill.objects.select_for_update().filter(
            run_id=bill_run_id, account_id__in=chunk.account_ids, status=Bill.Status.APPROVED).order_by("id"))
        issued = bills_issue(bills=bills, now=now, actor=actor)
        BillRunChunk.objects.filter(pk=chunk.pk).update(issued_at=now)
        rest: list[int] = []
        # The last chunk (decided under the run's lock) also issues any approved bill of the
        # run outside every chunk (normally none: one keyset pass) in this transaction.
        _step_close(bill_run_id=bill_run_id, mark="issued_at", during=BillRun.Status.ISSUING,
                    after=BillRun.Status.ISSUED, phase="issue", seconds=time.perf_counter() - started, now=now,
                    on_close=lambda: rest.append(_issue_rest(bill_run_id=bill_run_id, now=now, actor=actor)))
    return issued + sum(rest)


def bill_run_issue_begin(*, bill_run_id: int, now: dt.datetime, actor: Actor | None = None) -> list[int]:
    """Staff's decision to issue an approved run: the run becomes ISSUING with who and when,
    and the chunks not issued yet are returned (all of them, or what a killed worker left when
    asked again; none for a run already issued). A run with no chunk left is ISSUED at once.
    Raises BillRunError unless the run is approved, issuing or issued."""
    actor = actor or Actor.system()
    with transaction.atomic(), actor.audit("bill_run_issue"):
        run = BillRun.objects.select_for_update().get(pk=bill_run_id)
        if run.status not in (BillRun.Status.APPROVED, BillRun.Status.ISSUING, BillRun.Status.ISSUED):
            raise BillRunError(
                f"Only an approved run can be issued; run {run.pk} is {run.get_status_display().lower()}.")
        if run.status == BillRun.Status.ISSUED:
            return []
        numbers = _chunk_numbers(run.pk, unmarked="issued_at")
        if run.status == BillRun.Status.APPROVED:
            run.status, run.issued_by_id, run.issued_at = BillRun.Status.ISSUING, actor.user_id, run.issued_at or now
        if not numbers:
            _issue_rest(bill_run_id=run.pk, now=now, actor=actor)
            run.status = BillRun.Status.ISSUED
        run.progress_at = now
        run.save(update_fields=["status", "issued_by", "issued_at", "progress_at"])
    return numbers


def bill_run_issue(*, bill_run_id: int, now: dt.datetime, actor: Actor | None = None,
                   chunks: bool = True, enqueue: bool = False) -> BillRun:
    """Issue every approved bill of an approved run, chunk by chunk (`bill_run_issue_chunk`,
    each chunk one transaction with its "issued" mark): on the Celery workers after this
    commits with `enqueue=True` (the run is ISSUING until the last chunk closes it), else
    here, then any approved bill left, and the run is ISSUED. Issuing again finishes what a
    crash left and issues bills approved since (a held bill released after the issue).
    `chunks=False` skips the chunk pass here (the caller had every chunk issued). Raises
    BillRunError unless approved (or issuing, or issued)."""
    actor = actor or Actor.system()
    numbers = bill_run_issue_begin(bill_run_id=bill_run_id, now=now, actor=actor)
    if enqueue:
        transaction.on_commit(lambda: _enqueue_step("bill_run_issue_chunk", bill_run_id, numbers, actor))
        return BillRun.objects.get(pk=bill_run_id)
    timings = Timings()
    with timings.phase("issue"):
        if chunks:
            for number in numbers:
                bill_run_issue_chunk(bill_run_id=bill_run_id, chunk_number=number, now=now, actor=actor)
        _issue_rest(bill_run_id=bill_run_id, now=now, actor=actor)
    with transaction.atomic(), actor.audit("bill_run_issue"):
        run = BillRun.objects.select_for_update().get(pk=bill_run_id)
        if run.status != BillRun.Status.ISSUED:
            run.status = BillRun.Status.ISSUED
            run.timings = {**(run.timings or {}),
                           "issue": round((run.timings or {}).get("issue", 0) + timings.seconds["issue"], 4)}
            run.save(update_fields=["status", "timings"])
    return run


def bill_run_step_resume(*, bill_run_id: int, actor: Actor | None = None, now: dt.datetime | None = None,
                         enqueue: bool = True) -> list[int]:
    """The approve or issue chunks of a run APPROVING or ISSUING that are not marked yet (a
    worker killed part-way), queued again on the workers unless `enqueue=False` (the caller
    does them: a chunk marked meanwhile is skipped). The run's approver / issuer stays who
    decided it; without `actor` the chunks run as that person (reason "resumed"). Returns the
    chunk numbers."""
    run = BillRun.objects.select_related("approved_by", "issued_by").get(pk=bill_run_id)
    now = now or timezone.now()
    if actor is None:
        # The bills keep naming who decided the step (their approved_by / issued_by), not the resume.
        decider = run.approved_by if run.status == BillRun.Status.APPROVING else run.issued_by
        actor = Actor.of(decider, reason="resumed") if decider is not None else Actor.system("resume")
    if run.status == BillRun.Status.APPROVING:
        step = "bill_run_approve_chunk"
        numbers = bill_run_approve_begin(bill_run_id=bill_run_id, actor=actor, now=now)
    elif run.status == BillRun.Status.ISSUING:
        step = "bill_run_issue_chunk"
        numbers = bill_run_issue_begin(bill_run_id=bill_run_id, now=now, actor=actor)
    else:
        return []
    if enqueue and numbers:
        who = actor
        transaction.on_commit(lambda: _enqueue_step(step, bill_run_id, numbers, who))
    return numbers


def bill_run_progress(*, bill_run_id: int) -> dict:
    """core.runs' progress of the run plus its bill counts (what the Billing Hub polls)."""
    run = BillRun.objects.get(pk=bill_run_id)
    marks = BillRunChunk.objects.filter(run_id=bill_run_id).aggregate(
        approved=models.Count("pk", filter=models.Q(approved_at__isnull=False)),
        issued=models.Count("pk", filter=models.Q(issued_at__isnull=False)))
    return run_engine.run_progress(run, bills=run.bills_created, exceptions=run.exceptions, errors=run.errors,
                                   chunks_approved=marks["approved"], chunks_issued=marks["issued"])
