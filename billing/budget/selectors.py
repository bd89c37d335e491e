"""Reading equal payment plans: the deferred balance, the account panel's summary and what a
bill on a plan prints. Imports only models, so billing.pdf can use it."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Sum

from billing.budget.models import BudgetPlan, BudgetPlanBill, BudgetSettlement

ZERO = Decimal("0.00")


def deferred_balance(*, plan: BudgetPlan) -> Decimal:
    """Actual minus plan not yet due (+ owed by the customer at settlement)."""
    return plan.deferrals.aggregate(s=Sum("amount"))["s"] or ZERO


@dataclass(frozen=True)
class PlanLine:
    line: BudgetPlanBill
    difference: Decimal  # actual - plan on this bill
    running: Decimal  # actual - plan to date in the plan year


def plan_summary(*, account_id: int) -> dict | None:
    """The account's current (or last) plan year for the account panel and the bill: amount,
    months billed, each bill's actual and plan amount with the running difference, the
    reviews and the settlement. None when the account never was on a plan."""
    plan = (BudgetPlan.objects.filter(account_id=account_id).select_related("plan_type")
            .order_by("-start_date", "-id").first())
    if plan is None:
        return None
    running = ZERO
    lines = []
    for line in plan.plan_bills.filter(cancelled=False).select_related("bill").order_by("month", "id"):
        running += line.actual - line.planned
        lines.append(PlanLine(line=line, difference=line.actual - line.planned, running=running))
    return {"plan": plan, "lines": lines, "deferred": deferred_balance(plan=plan), "running": running,
            "reviews": list(plan.reviews.all()), "settlement": BudgetSettlement.objects.filter(plan=plan).first(),
            "previous_settlement": BudgetSettlement.objects.filter(plan=plan.previous_id).first() if plan.previous_id else None}


def bill_plan_facts(*, bill_id: int) -> dict | None:
    """What a bill on a plan prints: its plan amount, actual charges, the running difference to
    date, any spread instalment or settlement. None for a bill not on a plan."""
    line = BudgetPlanBill.objects.filter(bill_id=bill_id, cancelled=False).select_related("plan__plan_type").first()
    if line is None:
        return None
    earlier = line.plan.plan_bills.filter(cancelled=False, month__lte=line.month, id__lte=line.pk)
    running = sum((x.actual - x.planned for x in earlier), ZERO)
    return {"plan_name": line.plan.plan_type.name, "month": line.month, "planned": line.planned, "actual": line.actual,
            "adjustment": line.planned - line.actual, "running": running, "spread": line.spread, "settled": line.settled}
