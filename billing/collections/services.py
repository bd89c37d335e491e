"""Collections services: what the daily run does to one account (`account_collect`), the run
itself on core.runs, and what staff do in the Collections Hub (promise, arrangement,
protection, contact attempt, note, extreme weather day). Exported by billing.services.

Every step is a CollectionAction row, unique per (case, kind): the run may be done twice on a
day, or a chunk redone after its worker was killed, and each step still happens once. A chunk's
actions, fees and orders commit with its DONE mark (core.runs.chunk_claim); notice emails are
sent after the commit and marked sent, and the next run sends any that were not."""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, connection, transaction
from django.db.models import Q

from billing.collections import presets
from billing.collections.models import (
    NOTICE_KINDS,
    AccountProtection,
    ArrangementInstalment,
    CollectionAction,
    CollectionCase,
    CollectionNote,
    CollectionRun,
    CollectionRunChunk,
    CollectionSkip,
    ContactAttempt,
    DunningPlan,
    DunningStep,
    ExtremeWeatherDay,
    LateCharge,
    PaymentArrangement,
    PromiseToPay,
    ProtectionRule,
    RuleKind,
    StepKind,
)
from billing.collections.protections import (
    AccountFacts,
    account_facts,
    payments_between,
    protection_check,
    seasonal_ban_window,
)
from billing.models import Bill, LedgerEntry
from billing.payments.allocation import account_items, account_lock
from billing.payments.models import Allocation, ChargeKind, Fee
from billing.services.ledger import account_balance, ledger_post_adjustment
from core import field_work
from core.actors import Actor
from core.money import money
from core.runs import engine as run_engine

log = logging.getLogger(__name__)
ZERO = Decimal("0.00")
SYSTEM = "collections-run"


class CollectionsError(Exception):
    """A collections request that cannot be done (said to staff)."""


@dataclass(frozen=True)
class Overdue:
    amount: Decimal  # open bill and adjustment charges past due, less unapplied credit
    late_base: Decimal  # the part a late charge may be charged on (no fees)
    oldest_due: dt.date | None
    owed: Decimal  # everything open, less credit (the balance)


def overdue_for(account_ids: Iterable[int], *, as_of: dt.date) -> dict[int, Overdue]:
    """Each account's overdue amount on `as_of`: a bill is overdue after its due date, a charge
    adjustment or fee after its effective date's month (30 days); unapplied credit pays them first."""
    ids = list(account_ids)
    items = account_items(account_ids=ids)
    charge_ids = [c.entry_id for it in items.values() for c in it.charges]
    due = dict(LedgerEntry.objects.filter(pk__in=charge_ids, bill__isnull=False).values_list("id", "bill__due_date"))
    result = {}
    for account_id in ids:
        it = items.get(account_id)
        if it is None:
            result[account_id] = Overdue(ZERO, ZERO, None, ZERO)
            continue
        credit = sum((c.open for c in it.credits), ZERO)
        past, base, oldest = ZERO, ZERO, None
        for charge in it.charges:
            due_date = due.get(charge.entry_id) or (charge.effective_date + dt.timedelta(days=30))
            if due_date < as_of:
                past += charge.open
                if charge.kind != ChargeKind.FEE:
                    base += charge.open
                oldest = due_date if oldest is None or due_date < oldest else oldest
        owed = sum((c.open for c in it.charges), ZERO) - credit
        amount = max(ZERO, past - credit)
        result[account_id] = Overdue(money(amount), money(max(ZERO, base - credit)), oldest if amount > 0 else None,
                                     money(owed))
    return result


_OVERDUE_SQL = """
WITH e AS (SELECT id, account_id, kind, amount, effective_date, reverses_id, bill_id FROM {ledger}
           WHERE account_id = ANY(%(ids)s::bigint[])),
r AS (SELECT DISTINCT reverses_id AS id FROM e WHERE reverses_id IS NOT NULL),
a AS (SELECT id, credit_id, charge_id, amount, releases_id FROM {allocation} WHERE account_id = ANY(%(ids)s::bigint[])),
stale AS (SELECT a.credit_id, a.charge_id, a.amount FROM a
          WHERE a.releases_id IS NULL AND (a.credit_id IN (SELECT id FROM r) OR a.charge_id IN (SELECT id FROM r))
            AND NOT EXISTS (SELECT 1 FROM {allocation} x WHERE x.releases_id = a.id)),
u AS (SELECT id, sum(amount) AS used FROM (
        SELECT credit_id AS id, amount FROM a UNION ALL SELECT charge_id, amount FROM a
        UNION ALL SELECT credit_id, -amount FROM stale UNION ALL SELECT charge_id, -amount FROM stale) x
      GROUP BY id),
o AS (SELECT e.account_id, e.amount > 0 AS charge, abs(e.amount) - coalesce(u.used, 0) AS open,
             EXISTS (SELECT 1 FROM {fee} f WHERE f.ledger_entry_id = e.id AND f.account_id = ANY(%(ids)s::bigint[])) AS fee,
             coalesce(b.due_date, e.effective_date + 30) AS due
      FROM e LEFT JOIN u ON u.id = e.id LEFT JOIN {bill} b ON b.id = e.bill_id
      WHERE e.kind <> 'reversal' AND e.id NOT IN (SELECT id FROM r))
SELECT account_id,
       coalesce(sum(open) FILTER (WHERE NOT charge), 0),
       coalesce(sum(open) FILTER (WHERE charge AND due < %(on)s), 0),
       coalesce(sum(open) FILTER (WHERE charge AND due < %(on)s AND NOT fee), 0),
       min(due) FILTER (WHERE charge AND due < %(on)s),
       coalesce(sum(open) FILTER (WHERE charge), 0)
FROM o WHERE open > 0 GROUP BY account_id
"""


def overdue_for_many(account_ids: Iterable[int], *, as_of: dt.date) -> dict[int, Overdue]:
    """`overdue_for`'s figures for many accounts, summed by the database in one statement (the
    same open amounts as billing.payments.allocation.account_items: allocations netted, those
    touching a reversed entry taken back, reversals and reversed entries left out): what the
    run's chunks read. tests/test_collections_bulk.py checks the two agree."""
    ids = list(account_ids)
    result = {a: Overdue(ZERO, ZERO, None, ZERO) for a in ids}
    sql = _OVERDUE_SQL.format(ledger=LedgerEntry._meta.db_table, allocation=Allocation._meta.db_table,
                              fee=Fee._meta.db_table, bill=Bill._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(sql, {"ids": ids, "on": as_of})
        for account_id, credit, past, base, oldest, charges in cursor.fetchall():
            amount = max(ZERO, past - credit)
            result[account_id] = Overdue(money(amount), money(max(ZERO, base - credit)),
                                         oldest if amount > 0 else None, money(charges - credit))
    return result


def active_plan(customer_class: str) -> DunningPlan | None:
    return DunningPlan.objects.filter(customer_class=customer_class, active=True).prefetch_related("steps").first()


NOTICE_TEXT: dict[str, tuple[str, str]] = {
    StepKind.REMINDER: ("Payment reminder", "Your account {number} has {amount} overdue since {due}. Please pay "
                                            "it at your earliest convenience."),
    StepKind.FINAL_NOTICE: ("Final notice", "Your account {number} still has {amount} overdue since {due}. Pay it "
                                            "now, or call us to arrange payments."),
    StepKind.DISCONNECT_NOTICE: ("Disconnection notice", "Your account {number} has {amount} overdue since {due}. "
                                                         "Unless it is paid or arranged, service may be disconnected "
                                                         "from {date} on. Call us about protections you may qualify for."),
}


def notices_send_pending(*, action_ids: Iterable[int] | None = None, now: dt.datetime) -> int:
    """Send the notice emails not sent yet (all, or those of `action_ids`); each is marked sent
    the moment it was handed to the email backend. Returns how many were sent."""
    from billing.collections.letters import letters_request  # the letters (PDF) of the same notices

    letters_request(action_ids=action_ids, now=now)
    query = CollectionAction.objects.filter(kind__in=NOTICE_KINDS, email_sent_at__isnull=True).exclude(email_to="")
    if action_ids is not None:
        query = query.filter(pk__in=list(action_ids))
    sent = 0
    for action in query.select_related("account", "case"):
        subject, body = NOTICE_TEXT[action.kind]
        text = body.format(number=action.account.account_number, amount=action.overdue_amount,
                           due=action.case.oldest_due_date, date=action.detail.rsplit(" ", 1)[-1])
        try:
            with transaction.atomic():
                claimed = CollectionAction.objects.filter(pk=action.pk, email_sent_at__isnull=True).update(email_sent_at=now)
                if not claimed:
                    continue
                send_mail(f"{subject}: account {action.account.account_number}", text,
                          settings.DEFAULT_FROM_EMAIL, [action.email_to])
        except Exception:  # noqa: BLE001 - the mail server is down: left unsent, the next run sends it
            log.exception("collections notice %s (account %s) not sent", action.pk, action.account_id)
            continue
        sent += 1
    return sent


@dataclass
class Outcome:
    actions: list[CollectionAction]
    held: CollectionSkip | None = None
    closed: bool = False


@dataclass
class ChunkOutcome:
    """What a chunk's accounts got: the actions taken, how many were held, cases closed."""

    actions: list[CollectionAction] = field(default_factory=list)
    holds: int = 0
    closed: int = 0
    evaluated: int = 0  # accounts looked at closely (the set-based chunk leaves out those with nothing open)


def _record(case: CollectionCase, kind: str, *, on: dt.date, overdue: Decimal, run_id: int | None,
            detail: str = "", order_number: str = "", email_to: str = "") -> CollectionAction | None:
    """The step's row; None when the case reached it already (the DB unique decides)."""
    try:
        with transaction.atomic():
            return CollectionAction.objects.create(
                case=case, account_id=case.account_id, kind=kind, action_date=on, overdue_amount=overdue,
                detail=detail[:300], order_number=order_number or "", email_to=email_to, run_id=run_id)
    except IntegrityError:
        return None


def _late_charge(case: CollectionCase, plan: DunningPlan, *, base: Decimal, on: dt.date, actor: Actor) -> LateCharge | None:
    """This month's late payment charge (at most one per account and month)."""
    month = on.replace(day=1)
    amount = money(base * plan.late_charge_percent / Decimal(100))
    if amount <= 0 or LateCharge.objects.filter(account_id=case.account_id, month=month).exists():
        return None
    entry = ledger_post_adjustment(
        account_id=case.account_id, amount=amount, effective_date=on, user=actor,
        reason=f"Late payment charge {plan.late_charge_percent}% of {base} overdue ({month:%Y-%m})",
        idempotency_key=f"late-charge:{case.account_id}:{month.isoformat()}")
    fee = Fee.objects.create(account_id=case.account_id, kind=Fee.Kind.LATE_PAYMENT, amount=amount, ledger_entry=entry)
    return LateCharge.objects.create(account_id=case.account_id, case=case, month=month, base=base,
                                     percent=plan.late_charge_percent, amount=amount, fee=fee)


def _promises_and_arrangements(account_id: int, *, overdue: Overdue, on: dt.date) -> None:
    """A promise is kept once paid in full by its date, broken the day after; an arrangement is
    broken when more is overdue than its instalments not yet due (a missed instalment, or a
    current bill unpaid), completed when nothing is overdue after its last instalment."""
    for promise in PromiseToPay.objects.filter(account_id=account_id, status=PromiseToPay.Status.OPEN):
        paid = payments_between(account_id=account_id, start=promise.made_on, end=min(on, promise.promised_date))
        if paid >= promise.amount or overdue.amount <= 0:
            promise.status, promise.resolved_on = PromiseToPay.Status.KEPT, on
        elif on > promise.promised_date:
            promise.status, promise.resolved_on = PromiseToPay.Status.BROKEN, on
        else:
            continue
        promise.save(update_fields=["status", "resolved_on"])
    for arrangement in PaymentArrangement.objects.filter(account_id=account_id, status=PaymentArrangement.Status.ACTIVE):
        instalments = list(arrangement.instalments.all())
        not_due = sum((i.amount for i in instalments if i.due_date >= on), ZERO)
        last = max((i.due_date for i in instalments), default=on)
        if overdue.amount > not_due:
            arrangement.status, arrangement.resolved_on = PaymentArrangement.Status.BROKEN, on
        elif overdue.amount <= 0 and on > last:
            arrangement.status, arrangement.resolved_on = PaymentArrangement.Status.COMPLETED, on
        else:
            continue
        arrangement.save(update_fields=["status", "resolved_on"])


def _reconnect(case: CollectionCase, *, on: dt.date, overdue: Decimal, run_id: int | None, why: str,
               service_point_id: int | None, due: dt.date | None = None) -> CollectionAction | None:
    if not case.disconnected or CollectionAction.objects.filter(case=case, kind=CollectionAction.Kind.RECONNECT).exists():
        return None
    ticket = field_work.field_work_request(
        kind=field_work.FieldWorkKind.CONNECT, due_date=due or on, source=f"collections:{case.pk}:reconnect",
        account_id=case.account_id, service_point_id=service_point_id, reason=f"Reconnect: {why}"[:200])
    action = _record(case, CollectionAction.Kind.RECONNECT, on=on, overdue=overdue, run_id=run_id, detail=why,
                     order_number=ticket.order_number or str(ticket.id))
    CollectionCase.objects.filter(pk=case.pk).update(disconnected=False)
    case.disconnected = False
    return action


def step_applies(step: DunningStep, account: AccountFacts) -> bool:
    closed = account.closed
    if step.kind == StepKind.WRITE_OFF:
        return closed  # a final bill unpaid: the account is closed
    if step.kind in (StepKind.DISCONNECT_NOTICE, StepKind.DISCONNECT):
        return not closed  # no service left to disconnect
    return True


def account_collect(*, account: AccountFacts, overdue: Overdue, on: dt.date, now: dt.datetime,
                    run_id: int | None = None) -> Outcome:
    """Evaluate one account on `on` and act: open or close its case, keep or break promises
    and arrangements, reconnect when paid, and take the next step that is due unless a
    protection holds it (the skip is recorded with the rule and until when). At most one
    ladder step a day per account. Call inside a transaction."""
    actor = Actor.system(SYSTEM, reason=f"Collections run of {on}")
    account_lock(account_id=account.id)
    outcome = Outcome(actions=[])
    case = CollectionCase.objects.select_for_update().filter(account_id=account.id, status=CollectionCase.Status.OPEN).first()
    _promises_and_arrangements(account.id, overdue=overdue, on=on)
    if overdue.amount <= 0:
        if case is not None:
            action = _reconnect(case, on=on, overdue=ZERO, run_id=run_id, why="overdue amount paid",
                                service_point_id=account.service_point_id)
            outcome.actions += [action] if action else []
            case.status, case.closed_on, case.overdue_amount = CollectionCase.Status.PAID, on, ZERO
            case.held_by, case.held_until, case.evaluated_on = "", None, on
            case.save(update_fields=["status", "closed_on", "overdue_amount", "held_by", "held_until", "evaluated_on"])
            outcome.closed = True
        return outcome
    customer_class = account.customer_class
    if case is None:
        case = CollectionCase.objects.create(account_id=account.id, customer_class=customer_class, opened_on=on,
                                             oldest_due_date=overdue.oldest_due or on, overdue_amount=overdue.amount)
    case.overdue_amount, case.evaluated_on, case.held_by, case.held_until = overdue.amount, on, "", None
    plan = active_plan(case.customer_class)
    if plan is None:
        case.save(update_fields=["overdue_amount", "evaluated_on", "held_by", "held_until"])
        return outcome
    # A payment arrangement reconnects a disconnected home; the seasonal ban reconnects it by its start.
    if case.disconnected and PaymentArrangement.objects.filter(account_id=account.id, status="active").exists():
        action = _reconnect(case, on=on, overdue=overdue.amount, run_id=run_id, why="payment arrangement made",
                                service_point_id=account.service_point_id)
        outcome.actions += [action] if action else []
    if case.disconnected:
        for rule in ProtectionRule.objects.filter(kind=RuleKind.SEASONAL_BAN, active=True).filter(
                Q(customer_class="") | Q(customer_class=case.customer_class)):
            lead = dt.timedelta(days=int(rule.params.get("reconnect_lead_days", 14)))
            window = seasonal_ban_window(rule.params, on + lead)
            if window is not None:
                action = _reconnect(case, on=on, overdue=overdue.amount, run_id=run_id, due=max(on, window[0]),
                                    why=f"seasonal ban ({rule.code}) from {window[0]}",
                                    service_point_id=account.service_point_id)
                outcome.actions += [action] if action else []
    done = set(case.actions.values_list("kind", flat=True))
    if StepKind.LATE_CHARGE in done and overdue.late_base > 0:
        _late_charge(case, plan, base=overdue.late_base, on=on, actor=actor)
    for step in plan.steps.all():
        if step.kind in done or not step_applies(step, account):
            continue
        if on < case.oldest_due_date + dt.timedelta(days=step.delay_days) or overdue.amount < step.min_overdue:
            break  # not due yet: later steps wait for it
        action_kind = "disconnect" if step.kind == StepKind.DISCONNECT else (
            "notice" if step.kind in NOTICE_KINDS else None)
        if action_kind is not None:
            decision = protection_check(account_id=account.id, on_date=on, now=now, action=action_kind, case=case,
                                        customer_class=case.customer_class)
            if decision.hold:
                skip, _ = CollectionSkip.objects.get_or_create(
                    case=case, on_date=on, step=step.kind,
                    defaults={"rule": decision.rule, "reason": decision.reason[:300], "until": decision.until})
                case.held_by, case.held_until = f"{decision.rule}: {decision.reason}"[:200], decision.until
                outcome.held = skip
                break
        with actor.audit(f"collections_{step.kind}"):
            action = _take(step, case, plan, account, overdue=overdue, on=on, run_id=run_id, actor=actor)
        if action is not None:
            outcome.actions.append(action)
            case.last_step = step.kind
        break
    case.save(update_fields=["overdue_amount", "evaluated_on", "held_by", "held_until", "last_step",
                             "status", "closed_on", "disconnected"])
    return outcome


def _take(step: DunningStep, case: CollectionCase, plan: DunningPlan, account: AccountFacts, *, overdue: Overdue,
          on: dt.date, run_id: int | None, actor: Actor) -> CollectionAction | None:
    if step.kind in NOTICE_KINDS:
        detail = ""
        if step.kind == StepKind.DISCONNECT_NOTICE:
            detail = f"Disconnection possible from {on + dt.timedelta(days=step.notice_days)}"
        return _record(case, step.kind, on=on, overdue=overdue.amount, run_id=run_id, detail=detail,
                       email_to=account.email)
    if step.kind == StepKind.LATE_CHARGE:
        action = _record(case, step.kind, on=on, overdue=overdue.amount, run_id=run_id,
                         detail=f"{plan.late_charge_percent}% a month of {overdue.late_base}")
        if action is not None:
            _late_charge(case, plan, base=overdue.late_base, on=on, actor=actor)
        return action
    if step.kind == StepKind.DISCONNECT:
        ticket = field_work.field_work_request(
            kind=field_work.FieldWorkKind.DISCONNECT, due_date=on, source=f"collections:{case.pk}:disconnect",
            account_id=account.id, service_point_id=account.service_point_id,
            reason=f"Non-payment: {overdue.amount} overdue since {case.oldest_due_date}")
        action = _record(case, step.kind, on=on, overdue=overdue.amount, run_id=run_id,
                         order_number=ticket.order_number or str(ticket.id), detail="Disconnect order requested")
        case.disconnected = True
        return action
    # write-off: credit what is owed, close the case
    owed = account_balance(account_id=account.id)  # this run's late charge included
    action = _record(case, step.kind, on=on, overdue=overdue.amount, run_id=run_id, detail=f"Written off {owed}")
    if action is not None and owed > 0:
        ledger_post_adjustment(account_id=account.id, amount=-owed, effective_date=on, user=actor,
                               reason=f"Write-off: final bill unpaid {step.delay_days} days",
                               idempotency_key=f"write-off:{case.pk}")
    case.status, case.closed_on = CollectionCase.Status.WRITTEN_OFF, on
    return action


# ---- The daily run on core.runs -----------------------------------------------------------


def collection_account_ids(*, as_of: dt.date) -> list[int]:
    """Accounts the run evaluates: those with an open case, and those with a bill past due
    that is still (partly) open by the ledger's balance."""
    open_cases = set(CollectionCase.objects.filter(status=CollectionCase.Status.OPEN).values_list("account_id", flat=True))
    past_due = set(Bill.objects.filter(status=Bill.Status.ISSUED, due_date__lt=as_of).order_by()
                   .values_list("account_id", flat=True).distinct())
    return sorted(open_cases | past_due)


def _enqueue(run_id: int, numbers: Iterable[int]) -> None:
    from billing.tasks import collections_run_chunk  # the tasks module imports this one

    for number in numbers:
        collections_run_chunk.delay(run_id=run_id, chunk_number=number)


def collections_run_start(*, run_date: dt.date, now: dt.datetime, user=None, chunk_size: int = 500,
                          enqueue: bool = True) -> CollectionRun:
    """Start the collections run of `run_date`, or return the one already started (one per
    date). Splits the accounts into chunks and queues one task per chunk after commit."""
    if chunk_size < 1:
        raise CollectionsError("The chunk size must be at least 1.")
    key = f"collections:{run_date.isoformat()}"
    existing = CollectionRun.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing
    notices_send_pending(now=now)  # any notice a killed worker recorded but did not send
    try:
        with transaction.atomic(), Actor.of(user).audit("collections_run_start"):
            ids = collection_account_ids(as_of=run_date)
            slices = [ids[i:i + chunk_size] for i in range(0, len(ids), chunk_size)]
            run = CollectionRun.objects.create(
                run_date=run_date, idempotency_key=key, status=CollectionRun.Status.RUNNING if slices else CollectionRun.Status.DONE,
                started_by=user if user is not None and getattr(user, "is_authenticated", False) else None,
                created_at=now, started_at=now, progress_at=now, finished_at=None if slices else now,
                progress_total=len(ids), chunks_total=len(slices), accounts_total=len(ids))
            CollectionRunChunk.objects.bulk_create(
                CollectionRunChunk(run=run, number=n, size=len(part), account_ids=part) for n, part in enumerate(slices))
            if enqueue and slices:
                numbers = list(range(len(slices)))
                transaction.on_commit(lambda: _enqueue(run.pk, numbers))
    except IntegrityError:
        return CollectionRun.objects.get(idempotency_key=key)
    return run


def accounts_collect_each(*, account_ids: Iterable[int], on: dt.date, now: dt.datetime,
                          run_id: int | None = None) -> ChunkOutcome:
    """`account_collect` for each account, one after the other: the reference the set-based
    chunk (billing.collections.bulk.accounts_collect) is tested against, and the per-account
    figure of bench/collections_run.py. Call inside a transaction."""
    ids = sorted(set(account_ids))
    overdue = overdue_for(ids, as_of=on)
    accounts = account_facts(ids)
    result = ChunkOutcome(evaluated=len(accounts))
    for account_id in ids:
        if account_id not in accounts:
            continue
        outcome = account_collect(account=accounts[account_id], overdue=overdue[account_id], on=on, now=now,
                                  run_id=run_id)
        result.actions += outcome.actions
        result.holds += int(outcome.held is not None)
        result.closed += int(outcome.closed)
    return result


def collections_run_chunk_process(*, run_id: int, chunk_number: int, now: dt.datetime, per_account: bool = False) -> str:
    """Do one chunk: every account's evaluation and actions commit with the chunk's DONE mark;
    set-based (billing.collections.bulk), or with `per_account` one account at a time
    (`accounts_collect_each`, the reference). Returns "done", "skipped" (done already or held
    by another worker) or "failed"."""
    from billing.collections import bulk  # it builds on this module's helpers

    sent: list[int] = []
    try:
        with run_engine.chunk_claim(CollectionRunChunk, run_id=run_id, number=chunk_number, now=now) as claim:
            if claim is None:
                return "skipped"
            run = CollectionRun.objects.get(pk=run_id)
            ids = [int(i) for i in claim.chunk.account_ids]
            outcome = (accounts_collect_each if per_account else bulk.accounts_collect)(
                account_ids=ids, on=run.run_date, now=now, run_id=run_id)
            actions, holds, closed = len(outcome.actions), outcome.holds, outcome.closed
            sent += [a.pk for a in outcome.actions if a.kind in NOTICE_KINDS]
            claim.add(actions_taken=actions, holds=holds, cases_closed=closed)
        if sent:
            notices_send_pending(action_ids=sent, now=now)
        return "done"
    except Exception as exc:  # noqa: BLE001 - kept on the chunk for staff; resume retries it
        log.exception("collections run %s chunk %s failed", run_id, chunk_number)
        run_engine.chunk_fail(CollectionRunChunk, run_id=run_id, number=chunk_number,
                              error=f"{type(exc).__name__}: {exc}", now=now)
        return "failed"


def collections_run_resume(*, run_id: int, now: dt.datetime | None = None, enqueue: bool = True) -> list[int]:
    return run_engine.run_resume(CollectionRunChunk, run_id=run_id, now=now,
                                 enqueue=(lambda nums: _enqueue(run_id, nums)) if enqueue else None)


def collections_run_inline(*, run_date: dt.date, now: dt.datetime, chunk_size: int = 500,
                           per_account: bool = False) -> CollectionRun:
    """Start the run and do its chunks here (the management command, tests, the benchmark)."""
    run = collections_run_start(run_date=run_date, now=now, chunk_size=chunk_size, enqueue=False)
    for number in run_engine.pending_chunks(CollectionRunChunk, run_id=run.pk):
        collections_run_chunk_process(run_id=run.pk, chunk_number=number, now=now, per_account=per_account)
    run.refresh_from_db()
    return run


def enqueue_chunks(run_id: int, numbers: list[int]) -> None:
    """core.runs' sweeper: queue these chunks again."""
    _enqueue(run_id, numbers)


# ---- What staff do ------------------------------------------------------------------------


def _positive(value, field: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except Exception:  # noqa: BLE001 - any unreadable amount is the same form error
        raise ValidationError({field: "Enter an amount such as 125.00."}) from None
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise ValidationError({field: "A positive amount with at most 2 decimals."})
    return amount


def promise_to_pay_create(*, account_id: int, promised_date: dt.date, amount, on: dt.date, actor: Actor,
                          note: str = "") -> PromiseToPay:
    value = _positive(amount, "amount")
    if promised_date < on:
        raise ValidationError({"promised_date": "A promise is for today or a later date."})
    if promised_date > on + dt.timedelta(days=60):
        raise ValidationError({"promised_date": "A promise is at most 60 days away: make an arrangement instead."})
    try:
        with transaction.atomic(), actor.audit("promise_to_pay"):
            return PromiseToPay.objects.create(account_id=account_id, promised_date=promised_date, amount=value, made_on=on,
                                               note=(note or "")[:200], created_by_id=actor.user_id)
    except IntegrityError:
        raise ValidationError({"promised_date": "The account has an open promise to pay already."}) from None


def arrangement_schedule(*, arrears: Decimal, instalments: int, first_due: dt.date,
                         every_days: int = 30) -> list[tuple[dt.date, Decimal]]:
    """(due date, amount) of each instalment: equal parts in cents, the last takes the cents
    left; due every `every_days` from `first_due` (pure: what a payment arrangement will ask)."""
    n = int(instalments)
    each = money(arrears / n)
    amounts = [each] * (n - 1) + [arrears - each * (n - 1)]
    return [(first_due + dt.timedelta(days=every_days * i), amount) for i, amount in enumerate(amounts)]


def payment_arrangement_create(*, account_id: int, arrears, instalments: int, first_due: dt.date, on: dt.date,
                               actor: Actor, every_days: int = 30, note: str = "") -> PaymentArrangement:
    """Split `arrears` into `instalments` (arrangement_schedule), due every `every_days`."""
    value = _positive(arrears, "arrears")
    if not 1 <= int(instalments) <= 24:
        raise ValidationError({"instalments": "Between 1 and 24 instalments."})
    if first_due < on:
        raise ValidationError({"first_due": "The first instalment is due today or later."})
    schedule = arrangement_schedule(arrears=value, instalments=int(instalments), first_due=first_due,
                                    every_days=every_days)
    if schedule[-1][1] <= 0:
        raise ValidationError({"instalments": "Too many instalments for these arrears."})
    try:
        with transaction.atomic(), actor.audit("payment_arrangement"):
            arrangement = PaymentArrangement.objects.create(account_id=account_id, arrears=value, made_on=on,
                                                            note=(note or "")[:200], created_by_id=actor.user_id)
            ArrangementInstalment.objects.bulk_create(
                ArrangementInstalment(arrangement=arrangement, number=i + 1, amount=amount, due_date=due)
                for i, (due, amount) in enumerate(schedule))
    except IntegrityError:
        raise ValidationError({"arrears": "The account has an active payment arrangement already."}) from None
    return arrangement


def _rule_params(kind: str) -> dict:
    rule = ProtectionRule.objects.filter(kind=kind, active=True).first()
    return rule.params if rule else {}


def account_protection_add(*, account_id: int, kind: str, start_date: dt.date, reason: str, actor: Actor,
                           end_date: dt.date | None = None, reference: str = "") -> AccountProtection:
    """Record a protection. Medical certificates and emergency assistance last the rule's days
    when no end date is given; a medical certificate renews the one in force, at most the
    rule's `max_renewals` times."""
    if kind not in AccountProtection.Kind.values:
        raise ValidationError({"kind": "Unknown protection."})
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why."})
    params = _rule_params(kind)
    if end_date is None:
        end_date = start_date + dt.timedelta(days=int(params.get("days", 30)) - 1)
    if end_date < start_date:
        raise ValidationError({"end_date": "The end date is before the start date."})
    renews, number = None, 0
    if kind == AccountProtection.Kind.MEDICAL:
        renews = (AccountProtection.objects.filter(account_id=account_id, kind=kind, end_date__gte=start_date - dt.timedelta(days=1))
                  .filter(renewed_by__isnull=True).order_by("-end_date").first())
        if renews is not None:
            number = renews.renewal_number + 1
            if number > int(params.get("max_renewals", 2)):
                raise ValidationError({"kind": f"This certificate was renewed {renews.renewal_number} times, the most "
                                               f"the rule allows."})
    with transaction.atomic(), actor.audit("account_protection_add"):
        return AccountProtection.objects.create(account_id=account_id, kind=kind, start_date=start_date, end_date=end_date,
                                                renews=renews, renewal_number=number, reason=reason.strip()[:200],
                                                reference=(reference or "")[:100], created_by_id=actor.user_id)


def account_protection_end(*, protection: AccountProtection, on: dt.date, actor: Actor) -> AccountProtection:
    with transaction.atomic(), actor.audit("account_protection_end"):
        protection.ended_on = on
        protection.save(update_fields=["ended_on"])
    return protection


def contact_attempt_record(*, account_id: int, method: str, at: dt.datetime, actor: Actor, note: str = "") -> ContactAttempt:
    if method not in ContactAttempt.Method.values:
        raise ValidationError({"method": "Unknown contact method."})
    with transaction.atomic(), actor.audit("contact_attempt"):
        return ContactAttempt.objects.create(account_id=account_id, method=method, attempted_at=at, note=(note or "")[:200],
                                             created_by_id=actor.user_id)


def collection_note_add(*, account_id: int, text: str, actor: Actor) -> CollectionNote:
    if not (text or "").strip():
        raise ValidationError({"text": "Write the note."})
    with transaction.atomic(), actor.audit("collection_note"):
        return CollectionNote.objects.create(account_id=account_id, text=text.strip(), created_by_id=actor.user_id)


def extreme_weather_declare(*, date: dt.date, area: str, reason: str, actor: Actor) -> ExtremeWeatherDay:
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say what weather."})
    try:
        with transaction.atomic(), actor.audit("extreme_weather_declare"):
            return ExtremeWeatherDay.objects.create(date=date, area=(area or "").strip(), reason=reason.strip()[:200],
                                                    declared_by_id=actor.user_id)
    except IntegrityError:
        raise ValidationError({"date": "That day is declared for that area already."}) from None


def dunning_step_update(*, step: DunningStep, delay_days: int, min_overdue, notice_days: int, actor: Actor,
                        late_charge_percent=None) -> DunningStep:
    """Billing staff change a step (and its plan's late charge %) in the hub; audited with the reason."""
    minimum = _positive(min_overdue, "min_overdue")
    if not 0 <= int(delay_days) <= 3650 or not 0 <= int(notice_days) <= 365:
        raise ValidationError({"delay_days": "Days between 0 and 3650 (notice days 0 to 365)."})
    previous = step.plan.steps.filter(sequence__lt=step.sequence).order_by("-sequence").first()
    following = step.plan.steps.filter(sequence__gt=step.sequence).order_by("sequence").first()
    if (previous and int(delay_days) < previous.delay_days) or (following and int(delay_days) > following.delay_days):
        raise ValidationError({"delay_days": "A step's delay is between the delays of the steps before and after it."})
    with transaction.atomic(), actor.audit("dunning_step_update"):
        step.delay_days, step.min_overdue, step.notice_days = int(delay_days), minimum, int(notice_days)
        step.save(update_fields=["delay_days", "min_overdue", "notice_days"])
        if late_charge_percent is not None:
            percent = Decimal(str(late_charge_percent))
            if not Decimal(0) <= percent <= Decimal(10):
                raise ValidationError({"late_charge_percent": "Between 0 and 10 % a month."})
            step.plan.late_charge_percent = percent
            step.plan.save(update_fields=["late_charge_percent"])
    return step


def collections_preset_load() -> dict[str, int]:
    """Load the default dunning plans and Ontario's rules that do not exist (by code)."""
    return presets.load(DunningPlan, DunningStep, ProtectionRule)

