"""Billing history brought over from a legacy system (and the demo, which loads itself as a
conversion would): a bill issued by the old CIS, carried into Utilis as an issued bill of the
same total and dates (no segments: the old system rated it), and a plan type set up by code.

`bill_legacy_issue` goes through the one issue service (numbering, balance forward, the ledger
entry "bill:<id>"), so allocation, aging, autopay and collections see it as any other bill."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError

from billing.budget.models import BudgetPlanType
from billing.budget.services import plan_type_save
from billing.models import Bill
from billing.services.runs import bill_issue
from core.actors import Actor
from core.money import money


def bill_legacy_issue(*, account_id: int, total, bill_date: dt.date, due_date: dt.date, actor: Actor,
                      now: dt.datetime, period_days: int = 30) -> Bill:
    """Issue a bill of `total` the legacy system rated (period: the `period_days` before the
    bill date). Raises ValidationError (a total that is not positive money, a due date before
    the bill date)."""
    amount = money(Decimal(str(total)))
    if amount <= 0 or amount != Decimal(str(total)):
        raise ValidationError({"total": "A legacy bill's total is a positive amount with at most 2 decimals."})
    if due_date < bill_date:
        raise ValidationError({"due_date": "The due date is on or after the bill date."})
    bill = Bill.objects.create(account_id=account_id, status=Bill.Status.APPROVED, kind=Bill.Kind.REGULAR,
                               period_start=bill_date - dt.timedelta(days=period_days), period_end=bill_date,
                               bill_date=bill_date, due_date=due_date, total=amount)
    return bill_issue(bill=bill, now=now, actor=actor.with_reason(actor.reason or "Legacy bill carried over"))


def budget_plan_type_ensure(*, code: str, name: str, actor: Actor, **fields) -> BudgetPlanType:
    """The plan type of `code`, created with `fields` (validated) when there is none."""
    existing = BudgetPlanType.objects.filter(code=code).first()
    if existing is not None:
        return existing
    return plan_type_save(plan_type=BudgetPlanType(code=code, name=name, **fields), actor=actor,
                          reason=f"Plan type {code} set up")
