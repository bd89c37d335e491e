"""An account's standing payment choices, read for the customer portal (and any other app,
through billing.selectors): its active autopay enrolment (bank details only masked), its
equal payment plan and the plan types on offer, its payment arrangement with the
instalments, and what is overdue (the figure an arrangement is made of)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from billing.budget.models import BudgetPlan, BudgetPlanType
from billing.budget.selectors import deferred_balance
from billing.collections.models import PaymentArrangement
from billing.collections.services import Overdue, arrangement_schedule, overdue_for  # noqa: F401 - arrangement_schedule re-exported
from billing.payments import autopay, nacha
from billing.payments.autopay_models import AutopayEnrolment


@dataclass(frozen=True)
class AutopayView:
    """An enrolment as it may leave billing: no routing or account number, only the mask."""

    enrolment: AutopayEnrolment
    masked_account: str  # "•••• 6789"
    account_type: str  # AutopayEnrolment.AccountType value
    holder_name: str
    start_date: dt.date
    max_amount: Decimal | None


def autopay_active(*, account_id: int) -> AutopayView | None:
    enrolment = autopay.active_enrolment(account_id=account_id)
    if enrolment is None:
        return None
    return AutopayView(enrolment, autopay.masked_account(enrolment), enrolment.account_type, enrolment.holder_name,
                       enrolment.start_date, enrolment.max_amount)


def routing_check_digit(first8: str) -> str:
    """The ABA check digit the ninth digit of a routing number must be (for a form's message)."""
    return nacha.aba_check_digit(first8)


@dataclass(frozen=True)
class BudgetView:
    plan: BudgetPlan
    deferred: Decimal  # actual - plan so far: + owed by the customer when the plan is settled


def budget_plan_active(*, account_id: int) -> BudgetView | None:
    plan = (BudgetPlan.objects.filter(account_id=account_id, status=BudgetPlan.Status.ACTIVE)
            .select_related("plan_type").first())
    return BudgetView(plan, deferred_balance(plan=plan)) if plan is not None else None


def budget_plan_types_offered() -> list[BudgetPlanType]:
    return list(BudgetPlanType.objects.filter(active=True).order_by("code"))


def arrangement_active(*, account_id: int) -> PaymentArrangement | None:
    """The active payment arrangement with its instalments (prefetched, in order)."""
    return (PaymentArrangement.objects.filter(account_id=account_id, status=PaymentArrangement.Status.ACTIVE)
            .prefetch_related("instalments").first())


def arrangements_broken_since(*, account_id: int, since: dt.date) -> int:
    return PaymentArrangement.objects.filter(account_id=account_id, status=PaymentArrangement.Status.BROKEN,
                                             resolved_on__gte=since).count()


def account_overdue(*, account_id: int, as_of: dt.date) -> Overdue:
    """Overdue on `as_of` as the collections run counts it (amount, oldest due date, balance)."""
    return overdue_for([account_id], as_of=as_of)[account_id]
