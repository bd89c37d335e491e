"""The daily run's chunk, set-based: what `account_collect` does to one account, done for every
account of a chunk with a few queries per chunk instead of a dozen per account.

fetch: the chunk's overdue amounts, account facts, open cases (locked), promises and their
payments, arrangements and their instalments, the steps each case reached, this month's late
charges, the plans, the protection rules and the protection facts, each one query for the
chunk. plan: per account, in memory, exactly `account_collect`'s decisions (tests/
test_collections_bulk.py checks the two give the same actions). write: cases, notices and
skips in bulk; the steps that post money or ask for field work (late charges, write-offs,
disconnect and reconnect orders) through the same helpers as the per-account path, so their
audit and idempotency keys are the same. Accounts with nothing overdue and no case, promise or
arrangement (most of them, every day) are read and left alone: they are not even locked."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from decimal import Decimal

from django.db import IntegrityError, connection, transaction

from billing.collections.models import (
    NOTICE_KINDS,
    CollectionAction,
    CollectionCase,
    CollectionSkip,
    DunningPlan,
    LateCharge,
    PaymentArrangement,
    PromiseToPay,
    ProtectionRule,
    RuleKind,
    StepKind,
)
from billing.collections.protections import (
    Context,
    ProtectionFacts,
    account_facts,
    day_facts,
    protection_facts,
    protections_decide,
    rules_for,
    seasonal_ban_window,
)
from billing.collections.services import (
    SYSTEM,
    ZERO,
    ChunkOutcome,
    Overdue,
    _late_charge,
    _reconnect,
    _record,
    _take,
    overdue_for_many,
    step_applies,
)
from billing.payments.allocation import _LOCK_NAMESPACE
from billing.payments.models import Payment
from core.actors import Actor

def accounts_lock(account_ids: Iterable[int]) -> None:
    """Take the allocation lock (billing.payments.allocation.account_lock's) of these accounts,
    in id order, in one statement: a payment posted meanwhile waits, as it waits for one account."""
    ids = sorted(set(account_ids))
    if ids:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s::int, (a %% 2147483647)::int) "
                           "FROM unnest(%s::bigint[]) AS a ORDER BY a", [_LOCK_NAMESPACE, ids])


def cases_save(cases: list[CollectionCase]) -> None:
    """`case.save()` of the fields the run sets for many cases in one UPDATE (its history
    triggers fire per row as they do for a save; Django's bulk_update builds a CASE per field
    and row, which cost more than the whole evaluation)."""
    if not cases:
        return
    table = CollectionCase._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS c SET overdue_amount = v.overdue_amount, evaluated_on = v.evaluated_on, "
            "held_by = v.held_by, held_until = v.held_until, last_step = v.last_step, status = v.status, "
            "closed_on = v.closed_on, disconnected = v.disconnected "
            "FROM unnest(%s::bigint[], %s::numeric[], %s::date[], %s::text[], %s::date[], %s::text[], %s::text[], "
            "%s::date[], %s::boolean[]) AS v(id, overdue_amount, evaluated_on, held_by, held_until, last_step, status, "
            "closed_on, disconnected) WHERE c.id = v.id",
            [[c.pk for c in cases], [c.overdue_amount for c in cases], [c.evaluated_on for c in cases],
             [c.held_by for c in cases], [c.held_until for c in cases], [c.last_step for c in cases],
             [c.status for c in cases], [c.closed_on for c in cases], [c.disconnected for c in cases]])


def _paid_since(promises: list[PromiseToPay], *, on: dt.date) -> dict[int, Decimal]:
    """What each promise's account paid from the promise's date to min(on, promised date)
    (payments_between for every promise, one query)."""
    if not promises:
        return {}
    earliest = min(p.made_on for p in promises)
    rows = (Payment.objects.filter(account_id__in=[p.account_id for p in promises], received_date__gte=earliest,
                                   received_date__lte=on, payment_return__isnull=True)
            .values_list("account_id", "received_date", "amount"))
    by_account: dict[int, list[tuple[dt.date, Decimal]]] = defaultdict(list)
    for account_id, day, amount in rows:
        by_account[account_id].append((day, amount))
    return {p.pk: sum((a for d, a in by_account[p.account_id] if p.made_on <= d <= min(on, p.promised_date)),
                      Decimal("0.00")) for p in promises}


def _resolve_promises_and_arrangements(live: list[int], overdue: dict[int, Overdue], *, on: dt.date
                                       ) -> tuple[set[int], dict[int, PaymentArrangement]]:
    """services._promises_and_arrangements for every live account: the same rules, written in
    bulk. Returns the accounts whose promise is still open and their arrangements still active."""
    promises = list(PromiseToPay.objects.filter(account_id__in=live, status=PromiseToPay.Status.OPEN))
    paid = _paid_since(promises, on=on)
    changed = []
    still_promised = set()
    for promise in promises:
        if paid[promise.pk] >= promise.amount or overdue[promise.account_id].amount <= 0:
            promise.status, promise.resolved_on = PromiseToPay.Status.KEPT, on
        elif on > promise.promised_date:
            promise.status, promise.resolved_on = PromiseToPay.Status.BROKEN, on
        else:
            still_promised.add(promise.account_id)
            continue
        changed.append(promise)
    PromiseToPay.objects.bulk_update(changed, ["status", "resolved_on"])
    ended, active = [], {}
    for arrangement in (PaymentArrangement.objects.filter(account_id__in=live, status=PaymentArrangement.Status.ACTIVE)
                        .prefetch_related("instalments")):
        instalments = list(arrangement.instalments.all())
        not_due = sum((i.amount for i in instalments if i.due_date >= on), ZERO)
        last = max((i.due_date for i in instalments), default=on)
        amount = overdue[arrangement.account_id].amount
        if amount > not_due:
            arrangement.status, arrangement.resolved_on = PaymentArrangement.Status.BROKEN, on
        elif amount <= 0 and on > last:
            arrangement.status, arrangement.resolved_on = PaymentArrangement.Status.COMPLETED, on
        else:
            active[arrangement.account_id] = arrangement
            continue
        ended.append(arrangement)
    PaymentArrangement.objects.bulk_update(ended, ["status", "resolved_on"])
    return still_promised, active


def _with_open_items(account_ids: list[int]) -> set[int]:
    """Which of these accounts have an open case, an open promise or an active arrangement
    (one statement over the chunk's ids as an array: an IN list of a whole chunk costs more to
    build than to run)."""
    sql = " UNION ".join(
        f"SELECT account_id FROM {model._meta.db_table} WHERE account_id = ANY(%(ids)s::bigint[]) AND status = '{status}'"
        for model, status in ((CollectionCase, CollectionCase.Status.OPEN), (PromiseToPay, PromiseToPay.Status.OPEN),
                              (PaymentArrangement, PaymentArrangement.Status.ACTIVE)))
    with connection.cursor() as cursor:
        cursor.execute(sql, {"ids": account_ids})
        return {row[0] for row in cursor.fetchall()}


def accounts_collect(*, account_ids: Iterable[int], on: dt.date, now: dt.datetime,
                     run_id: int | None = None) -> ChunkOutcome:
    """Evaluate these accounts on `on` and act, as `account_collect` does for each (see the
    module docstring). Call inside a transaction."""
    actor = Actor.system(SYSTEM, reason=f"Collections run of {on}")
    outcome = ChunkOutcome()
    ids = sorted(set(account_ids))
    overdue = overdue_for_many(ids, as_of=on)
    # Nothing overdue and nothing open: account_collect would only lock it and find nothing to do.
    opened = _with_open_items(ids)
    live = [a for a in ids if overdue[a].amount > 0 or a in opened]
    accounts = account_facts(live)
    live = [a for a in live if a in accounts]
    outcome.evaluated = len(live)
    if not live:
        return outcome
    accounts_lock(live)
    cases = {c.account_id: c for c in CollectionCase.objects.select_for_update(of=("self",)).order_by()
             .filter(account_id__in=live, status=CollectionCase.Status.OPEN)}
    still_promised, active_arrangements = _resolve_promises_and_arrangements(live, overdue, on=on)

    # Paid: close the case (and reconnect). Overdue without a case: open one (in bulk).
    evaluated: list[CollectionCase] = []
    new_cases = []
    for account_id in live:
        case, due = cases.get(account_id), overdue[account_id]
        if due.amount <= 0:
            if case is not None:
                action = _reconnect(case, on=on, overdue=ZERO, run_id=run_id, why="overdue amount paid",
                                    service_point_id=accounts[account_id].service_point_id)
                outcome.actions += [action] if action else []
                case.status, case.closed_on, case.overdue_amount = CollectionCase.Status.PAID, on, ZERO
                case.held_by, case.held_until, case.evaluated_on = "", None, on
                evaluated.append(case)
                outcome.closed += 1
        elif case is None:
            new_cases.append(CollectionCase(account_id=account_id, customer_class=accounts[account_id].customer_class,
                                            opened_on=on, oldest_due_date=due.oldest_due or on,
                                            overdue_amount=due.amount))
    for case in CollectionCase.objects.bulk_create(new_cases):
        cases[case.account_id] = case
    acting = [a for a in live if overdue[a].amount > 0]
    if not acting:
        cases_save(evaluated)
        return outcome

    plans = {p.customer_class: p for p in DunningPlan.objects.filter(active=True).prefetch_related("steps")}
    rules = list(ProtectionRule.objects.filter(active=True))
    bans = [r for r in rules if r.kind == RuleKind.SEASONAL_BAN]
    case_ids = [cases[a].pk for a in acting]
    done: dict[int, set[str]] = defaultdict(set)
    for case_id, kind in CollectionAction.objects.filter(case_id__in=case_ids).values_list("case_id", "kind"):
        done[case_id].add(kind)
    month = on.replace(day=1)
    charged = set(LateCharge.objects.filter(account_id__in=acting, month=month).values_list("account_id", flat=True))
    facts = protection_facts(acting, on_date=on, cases={a: cases[a] for a in acting},
                             areas={a: accounts[a].areas for a in acting})
    day = day_facts(on)
    rule_lists: dict[tuple[str, str], list[ProtectionRule]] = {}
    notices: dict[str, list[tuple[CollectionCase, CollectionAction]]] = defaultdict(list)
    skips = []

    for account_id in acting:
        account, due, case = accounts[account_id], overdue[account_id], cases[account_id]
        case.overdue_amount, case.evaluated_on, case.held_by, case.held_until = due.amount, on, "", None
        evaluated.append(case)
        plan = plans.get(case.customer_class)
        if plan is None:
            continue
        if case.disconnected and account_id in active_arrangements:
            action = _reconnect(case, on=on, overdue=due.amount, run_id=run_id, why="payment arrangement made",
                                service_point_id=account.service_point_id)
            outcome.actions += [action] if action else []
        if case.disconnected:
            for rule in bans:
                if rule.customer_class not in ("", case.customer_class):
                    continue
                lead = dt.timedelta(days=int(rule.params.get("reconnect_lead_days", 14)))
                window = seasonal_ban_window(rule.params, on + lead)
                if window is not None:
                    action = _reconnect(case, on=on, overdue=due.amount, run_id=run_id, due=max(on, window[0]),
                                        why=f"seasonal ban ({rule.code}) from {window[0]}",
                                        service_point_id=account.service_point_id)
                    outcome.actions += [action] if action else []
        reached = done[case.pk]
        if StepKind.LATE_CHARGE in reached and due.late_base > 0 and account_id not in charged:
            _late_charge(case, plan, base=due.late_base, on=on, actor=actor)
        for step in plan.steps.all():
            if step.kind in reached or not step_applies(step, account):
                continue
            if on < case.oldest_due_date + dt.timedelta(days=step.delay_days) or due.amount < step.min_overdue:
                break  # not due yet: later steps wait for it
            action_kind = "disconnect" if step.kind == StepKind.DISCONNECT else (
                "notice" if step.kind in NOTICE_KINDS else None)
            if action_kind is not None:
                mine: ProtectionFacts = facts[account_id]
                if account_id not in still_promised:
                    mine = replace(mine, promise=None)
                if account_id not in active_arrangements:
                    mine = replace(mine, arrangement=None)
                key = (action_kind, case.customer_class)
                if key not in rule_lists:
                    rule_lists[key] = rules_for(rules, action=action_kind, customer_class=case.customer_class)
                ctx = Context(account_id, case.customer_class, on, now, action_kind, case, mine, day)
                holds = protections_decide(rules=rule_lists[key], ctx=ctx, first_only=True)
                if holds:
                    decision = holds[0]
                    skips.append(CollectionSkip(case=case, on_date=on, step=step.kind, rule=decision.rule,
                                                reason=decision.reason[:300], until=decision.until))
                    case.held_by, case.held_until = f"{decision.rule}: {decision.reason}"[:200], decision.until
                    outcome.holds += 1
                    break
            if step.kind in NOTICE_KINDS:
                detail = ""
                if step.kind == StepKind.DISCONNECT_NOTICE:
                    detail = f"Disconnection possible from {on + dt.timedelta(days=step.notice_days)}"
                notices[step.kind].append((case, CollectionAction(
                    case=case, account_id=account_id, kind=step.kind, action_date=on, overdue_amount=due.amount,
                    detail=detail[:300], email_to=account.email, run_id=run_id)))
                break
            with actor.audit(f"collections_{step.kind}"):
                action = _take(step, case, plan, account, overdue=due, on=on, run_id=run_id, actor=actor)
            if action is not None:
                outcome.actions.append(action)
                case.last_step = step.kind
            break

    for kind, pairs in notices.items():
        outcome.actions += _notices_record(kind, pairs, on=on, run_id=run_id, actor=actor)
    CollectionSkip.objects.bulk_create(skips, ignore_conflicts=True)
    cases_save(evaluated)
    return outcome


def _notices_record(kind: str, pairs: list[tuple[CollectionCase, CollectionAction]], *, on: dt.date,
                    run_id: int | None, actor: Actor) -> list[CollectionAction]:
    """The notice steps of one kind, one insert (audited as the per-account step is). A case
    that reached the step meanwhile (the unique on case and kind) falls back to one row at a
    time, where the database decides each."""
    with actor.audit(f"collections_{kind}"):
        try:
            with transaction.atomic():
                rows = CollectionAction.objects.bulk_create([row for _, row in pairs])
        except IntegrityError:
            rows = []
            for case, row in pairs:
                made = _record(case, kind, on=on, overdue=row.overdue_amount, run_id=run_id, detail=row.detail,
                               email_to=row.email_to)
                if made is not None:
                    rows.append(made)
    taken = {row.case_id for row in rows}
    for case, _ in pairs:
        if case.pk in taken:
            case.last_step = kind
    return rows
