"""Collections reads: an account's case, steps, holds, promises and arrangements (the account
panel and the hub's account page), the hub's worklist and what the next run will do."""
from __future__ import annotations

import datetime as dt

from django.db.models import Count, QuerySet

from billing.collections.models import (
    AccountProtection,
    CollectionAction,
    CollectionCase,
    CollectionNote,
    CollectionRun,
    CollectionSkip,
    ContactAttempt,
    DunningStep,
    PaymentArrangement,
    PromiseToPay,
    StepKind,
)
from billing.collections.protections import AccountFacts, account_facts_of, protections_evaluate
from billing.collections.services import NOTICE_KINDS, step_applies, active_plan, overdue_for


def next_step(*, account: AccountFacts, case: CollectionCase | None, on: dt.date, now: dt.datetime) -> dict:
    """What the run on `on` would do for the account: the step, or why nothing (not due yet,
    held by a rule, nothing overdue)."""
    overdue = overdue_for([account.id], as_of=on)[account.id]
    if overdue.amount <= 0:
        return {"what": "close the case" if case else "nothing: nothing is overdue", "step": None, "holds": []}
    plan = active_plan(case.customer_class if case else account.customer_class)
    if plan is None:
        return {"what": "nothing: no active dunning plan for the class", "step": None, "holds": []}
    done = set(case.actions.values_list("kind", flat=True)) if case else set()
    oldest = case.oldest_due_date if case else (overdue.oldest_due or on)
    for step in plan.steps.all():
        if step.kind in done or not step_applies(step, account):
            continue
        due_on = oldest + dt.timedelta(days=step.delay_days)
        if on < due_on or overdue.amount < step.min_overdue:
            return {"what": f"{step.get_kind_display()} from {due_on} (at least {step.min_overdue} overdue)",
                    "step": step, "holds": []}
        action = "disconnect" if step.kind == StepKind.DISCONNECT else "notice" if step.kind in NOTICE_KINDS else None
        holds = protections_evaluate(account_id=account.id, on_date=on, now=now, action=action, case=case) if action else []
        if holds:
            return {"what": f"{step.get_kind_display()} held", "step": step, "holds": holds}
        return {"what": step.get_kind_display(), "step": step, "holds": []}
    return {"what": "nothing: every step was taken", "step": None, "holds": []}


def account_collections(*, account, on: dt.date, now: dt.datetime) -> dict:
    """The collections panel's context of a cis account (the account page's object)."""
    facts = account_facts_of(account)
    account_id = facts.id
    case = CollectionCase.objects.filter(account_id=account_id, status=CollectionCase.Status.OPEN).first()
    overdue = overdue_for([account_id], as_of=on)[account_id]
    holds = protections_evaluate(account_id=account_id, on_date=on, now=now, action="disconnect", case=case,
                                 customer_class=facts.customer_class)
    return {
        "case": case,
        "overdue": overdue,
        "actions": list(CollectionAction.objects.filter(account_id=account_id).order_by("-action_date", "-id")[:20]),
        "skips": list(CollectionSkip.objects.filter(case__account_id=account_id)[:10]),
        "holds": holds,
        "next": next_step(account=facts, case=case, on=on, now=now),
        "promises": list(PromiseToPay.objects.filter(account_id=account_id)[:5]),
        "arrangements": list(PaymentArrangement.objects.filter(account_id=account_id).prefetch_related("instalments")[:3]),
        "protections": list(AccountProtection.objects.filter(account_id=account_id)[:10]),
        "contacts": list(ContactAttempt.objects.filter(account_id=account_id)[:5]),
        "notes": list(CollectionNote.objects.filter(account_id=account_id)[:10]),
        "on": on,
    }


def cases_worklist(*, step: str = "", min_amount=None, min_age: int | None = None, held: str = "",
                   on: dt.date) -> QuerySet[CollectionCase]:
    """Open cases for the hub, filtered by last step, overdue amount, age (days since the
    oldest due date) and held or not; oldest first."""
    query = CollectionCase.objects.filter(status=CollectionCase.Status.OPEN).select_related("account", "account__customer")
    if step:
        query = query.filter(last_step="" if step == "none" else step)
    if min_amount is not None:
        query = query.filter(overdue_amount__gte=min_amount)
    if min_age is not None:
        query = query.filter(oldest_due_date__lte=on - dt.timedelta(days=min_age))
    if held == "yes":
        query = query.exclude(held_by="")
    elif held == "no":
        query = query.filter(held_by="")
    return query.order_by("oldest_due_date", "id")


def cases_by_step() -> list[tuple[str, str, int]]:
    """(step, label, open cases whose last step it is), the ladder's order."""
    counts = dict(CollectionCase.objects.filter(status="open").order_by().values_list("last_step")
                  .annotate(n=Count("id")).values_list("last_step", "n"))
    rows = [("none", "Not yet notified", counts.get("", 0))]
    rows += [(kind, label, counts.get(kind, 0)) for kind, label in StepKind.choices]
    return rows


def recent_runs(limit: int = 10) -> list[CollectionRun]:
    return list(CollectionRun.objects.all()[:limit])


def plan_steps() -> QuerySet[DunningStep]:
    return DunningStep.objects.select_related("plan").order_by("plan__customer_class", "sequence")
