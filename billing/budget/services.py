"""Equal payment plans: the calculator (quote), eligibility, enrolment, the bill-issue hook
(plan amount due, deferred balance), reviews, settlement and leaving. See docs/budget.md.

The mechanism, in one line per bill of an enrolled account: the bill's actual charges are
posted to the ledger as for everyone; then an adjustment of (plan - actual) is posted (a credit
when actual is above plan, a charge when below) with a `BudgetDeferral` row of (actual - plan).
The ledger, its aging and collections so see the plan amount as due; the deferred balance (the
sum of the deferral rows) is what the customer owes, or is owed, at settlement. Ledger balance
+ deferred balance = actual charges - payments, always."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum

from billing import rating
from billing.budget.models import (
    BudgetDeferral,
    BudgetPlan,
    BudgetPlanBill,
    BudgetPlanType,
    BudgetReview,
    BudgetSettlement,
)
from billing.budget.selectors import bill_plan_facts, deferred_balance, plan_summary
from billing.models import Bill, BillSegment, LedgerEntry, RateSchedule
from billing.payments.selectors import account_aging_by_allocation
from billing.services.ledger import ledger_post_adjustment, ledger_reverse
from billing.services.rates import rating_versions
from cis.selectors import account_agreement_periods, agreements_for_bill_accounts
from core.actors import Actor
from core.money import money

ZERO = Decimal("0.00")
PLAN_MONTHS = 12
BILLED_KINDS = (Bill.Kind.REGULAR, Bill.Kind.OFF_CYCLE, Bill.Kind.REBILL)


class BudgetError(Exception):
    """A plan cannot be quoted, enrolled or left as asked; `reasons` says why (one per line)."""

    def __init__(self, reasons: list[str] | str):
        self.reasons = [reasons] if isinstance(reasons, str) else list(reasons)
        super().__init__(" ".join(self.reasons))


@dataclass(frozen=True)
class Quote:
    """The monthly amount and how it was worked out (shown before enrolment, kept on the plan)."""

    plan_type: BudgetPlanType
    as_of: dt.date
    source: str  # "history" or "rate_class"
    months: list[dict]  # each bill or estimate used: {"bill", "bill_date", "amount", "consumption"}
    average: Decimal
    uplift: Decimal
    carried: Decimal  # a balance rolled in from last year, spread over 12
    monthly_amount: Decimal
    notes: list[str] = field(default_factory=list)

    def workings(self) -> dict:
        return {"as_of": self.as_of.isoformat(), "source": self.source, "basis": self.plan_type.basis,
                "months": self.months, "average": str(self.average), "uplift_percent": str(self.plan_type.uplift_percent),
                "uplift": str(self.uplift), "carried": str(self.carried), "monthly_amount": str(self.monthly_amount),
                "notes": self.notes}


def _months_between(start: dt.date, end: dt.date) -> int:
    months = (end.year - start.year) * 12 + end.month - start.month
    return months - (1 if end.day < start.day else 0)


def _current_price(*, rate_code: str, kwh: Decimal, as_of: dt.date) -> Decimal:
    """A standard month of `kwh` priced at the rates in effect on `as_of`, by billing.rating."""
    schedule = RateSchedule.objects.filter(code=rate_code).first()
    if schedule is None:
        raise BudgetError(f"Rate {rate_code} has no rate schedule to price the average consumption with.")
    start = as_of.replace(day=1)
    end = (start + dt.timedelta(days=32)).replace(day=1)
    bill_input = rating.BillInput(period_start=start, period_end=end,
                                  determinants=rating.RatingDeterminants(consumption=kwh))
    try:
        return money(rating.rate_bill(bill_input, rating_versions(schedule=schedule)).total)
    except rating.NoRateInEffect as exc:
        raise BudgetError(f"Rate {rate_code} has no version in effect on {as_of}.") from exc


def _history(account_id: int, *, as_of: dt.date, months: int) -> list[Bill]:
    return list(Bill.objects.filter(account_id=account_id, status=Bill.Status.ISSUED, kind__in=BILLED_KINDS,
                                    bill_date__lte=as_of).order_by("-bill_date", "-id")[:months])


def _bill_rates(bill_ids: list[int]) -> dict[int, tuple[str, Decimal]]:
    """{bill id: (rate code of its largest segment, consumption of its live segments)}."""
    out: dict[int, tuple[str, Decimal]] = {}
    rows = BillSegment.objects.filter(bill_id__in=bill_ids, live=True).values_list("bill_id", "rate_code", "determinants",
                                                                               "subtotal")
    best: dict[int, Decimal] = {}
    for bill_id, code, det, subtotal in rows:
        kwh = Decimal(str((det or {}).get("consumption") or "0"))
        code_now, total = out.get(bill_id, (code, Decimal("0")))
        if subtotal >= best.get(bill_id, Decimal("-1")):
            best[bill_id], code_now = subtotal, code
        out[bill_id] = (code_now, total + kwh)
    return out


def _rate_class_estimate(account_id: int, plan_type: BudgetPlanType, *, as_of: dt.date) -> Quote:
    agreements = [a for a in agreements_for_bill_accounts(bill_account_ids=[account_id], before=as_of + dt.timedelta(days=1))
                  if a.end_date is None or a.end_date > as_of]
    if not agreements:
        raise BudgetError("The account has no service in effect to estimate a plan amount from.")
    since = as_of - dt.timedelta(days=31 * plan_type.lookback_months)
    months: list[dict] = []
    total = ZERO
    for agreement in agreements:
        codes = list(RateSchedule.objects.filter(rate_class=agreement.rate_class).values_list("code", flat=True)) \
            if agreement.rate_class else [agreement.rate_code]
        segments = BillSegment.objects.filter(rate_code__in=codes or [agreement.rate_code], live=True,
                                              bill__status=Bill.Status.ISSUED, bill__bill_date__gt=since,
                                              bill__bill_date__lte=as_of)
        count = segments.count()
        if not count:
            raise BudgetError(f"No bills on rate class {agreement.rate_class or agreement.rate_code} in the last "
                              f"{plan_type.lookback_months} months to estimate from; this account cannot be quoted yet.")
        if plan_type.basis == BudgetPlanType.Basis.BILLED:
            amount = money((segments.aggregate(s=Sum("subtotal"))["s"] or ZERO) / count)
            kwh = None
        else:
            kwh_total = sum((Decimal(str((d or {}).get("consumption") or "0"))
                             for d in segments.values_list("determinants", flat=True)), Decimal("0"))
            kwh = (kwh_total / count).quantize(Decimal("0.001"))
            amount = _current_price(rate_code=agreement.rate_code, kwh=kwh, as_of=as_of)
        months.append({"bill": "", "bill_date": "", "estimate": agreement.rate_class or agreement.rate_code, "bills": count, "amount": str(amount),
                       "consumption": None if kwh is None else str(kwh), "rate_code": agreement.rate_code})
        total += amount
    return _finish(plan_type, as_of=as_of, source="rate_class", months=months, average=money(total),
                   notes=["Too little history: estimated from the average bill of the premise's rate class."])


def _finish(plan_type: BudgetPlanType, *, as_of: dt.date, source: str, months: list[dict], average: Decimal,
            notes: list[str], carried: Decimal = ZERO) -> Quote:
    uplift = money(average * plan_type.uplift_percent / 100)
    spread_carry = money(carried / PLAN_MONTHS)
    amount = money(average + uplift + spread_carry)
    if amount <= 0:
        raise BudgetError(f"The plan amount works out at {amount}: an account with no charges needs no plan.")
    return Quote(plan_type=plan_type, as_of=as_of, source=source, months=months, average=average, uplift=uplift,
                 carried=carried, monthly_amount=amount, notes=notes)


def budget_quote(*, account_id: int, plan_type: BudgetPlanType, as_of: dt.date, carried: Decimal = ZERO) -> Quote:
    """The monthly amount `plan_type` gives the account on `as_of`, with its workings. Raises
    BudgetError when there is nothing to base it on."""
    bills = _history(account_id, as_of=as_of, months=plan_type.lookback_months)
    if len(bills) < max(plan_type.min_history_months, 1):
        quote = _rate_class_estimate(account_id, plan_type, as_of=as_of)
        if carried:
            quote = _finish(plan_type, as_of=as_of, source=quote.source, months=quote.months, average=quote.average,
                            notes=quote.notes, carried=carried)
        return quote
    rates = _bill_rates([b.pk for b in bills])
    months = [{"bill": b.bill_number, "bill_date": b.bill_date.isoformat(), "estimate": "", "amount": str(b.total),
               "consumption": str(rates.get(b.pk, ("", b.consumption))[1])} for b in reversed(bills)]
    notes = []
    if len(bills) < plan_type.lookback_months:
        notes.append(f"Only {len(bills)} of {plan_type.lookback_months} months billed yet: averaged over those.")
    if plan_type.basis == BudgetPlanType.Basis.BILLED:
        average = money(sum((b.total for b in bills), ZERO) / len(bills))
    else:
        by_code: dict[str, Decimal] = {}
        for bill in bills:
            code, kwh = rates.get(bill.pk, ("", Decimal("0")))
            if code:
                by_code[code] = by_code.get(code, Decimal("0")) + kwh
        average = ZERO
        for code, kwh in sorted(by_code.items()):
            mean = (kwh / len(bills)).quantize(Decimal("0.001"))
            price = _current_price(rate_code=code, kwh=mean, as_of=as_of)
            notes.append(f"Average {mean} a month on {code} at today's rates: {price}.")
            average += price
    return _finish(plan_type, as_of=as_of, source="history", months=months, average=money(average), notes=notes,
                   carried=carried)


def budget_eligibility(*, account_id: int, plan_type: BudgetPlanType, as_of: dt.date) -> list[str]:
    """Why the account cannot join `plan_type` on `as_of` (empty: it can)."""
    reasons = []
    if not plan_type.active:
        reasons.append(f"Plan type {plan_type.code} is not offered any more.")
    if BudgetPlan.objects.filter(account_id=account_id, status=BudgetPlan.Status.ACTIVE).exists():
        reasons.append("The account is already on an equal payment plan.")
    if plan_type.require_no_arrears:
        aging = account_aging_by_allocation(account_id=account_id, as_of=as_of)
        overdue = aging.days_30 + aging.days_60 + aging.days_90_plus
        if overdue > 0:
            reasons.append(f"The account has {overdue} in arrears (30 days or more overdue); it must be paid first.")
    if plan_type.min_months_at_address:
        periods = [start for spans in account_agreement_periods(account_id=account_id).values()
                   for start, end in spans if start <= as_of and (end is None or end > as_of)]
        months = _months_between(min(periods), as_of) if periods else 0
        if months < plan_type.min_months_at_address:
            reasons.append(f"The customer has been at the address {months} months; the plan needs "
                           f"{plan_type.min_months_at_address}.")
    return reasons


def budget_enrol(*, account_id: int, plan_type: BudgetPlanType, as_of: dt.date, actor: Actor, reason: str = "") -> BudgetPlan:
    """Put the account on `plan_type` from `as_of`: bills dated from then ask the quoted amount.
    Raises BudgetError with every reason it is refused."""
    reasons = budget_eligibility(account_id=account_id, plan_type=plan_type, as_of=as_of)
    if reasons:
        raise BudgetError(reasons)
    quote = budget_quote(account_id=account_id, plan_type=plan_type, as_of=as_of)
    with transaction.atomic(), actor.with_reason(reason or f"Enrolled on {plan_type.code}").audit("budget_enrol"):
        return BudgetPlan.objects.create(account_id=account_id, plan_type=plan_type, start_date=as_of,
                                         monthly_amount=quote.monthly_amount, workings=quote.workings(),
                                         created_by_id=actor.user_id)


def active_plan(account_id: int) -> BudgetPlan | None:
    return BudgetPlan.objects.filter(account_id=account_id, status=BudgetPlan.Status.ACTIVE).select_related("plan_type").first()


def _defer(*, plan: BudgetPlan, kind: str, amount: Decimal, on: dt.date, description: str, bill: Bill | None,
           actor: Actor, post: bool = True) -> Decimal:
    """A deferral row of `amount` and, unless a roll, the ledger adjustment of -amount. Returns
    the ledger amount posted (0 for none)."""
    amount = money(amount)
    if not amount:
        return ZERO
    entry = None
    if post:
        entry = ledger_post_adjustment(
            account_id=plan.account_id, amount=-amount, effective_date=on, user=actor,
            reason=f"Equal payment plan {plan.pk}: {description}",
            idempotency_key=f"budget:{kind}:{bill.pk if bill else plan.pk}")
    BudgetDeferral.objects.create(plan=plan, account_id=plan.account_id, kind=kind, amount=amount, bill=bill,
                                  ledger_entry=entry, effective_date=on, description=description[:200])
    return -amount if post else ZERO


def _spread_instalment(plan: BudgetPlan) -> Decimal:
    if not plan.spread_months or not plan.spread_total:
        return ZERO
    done = plan.deferrals.filter(kind=BudgetDeferral.Kind.SPREAD).aggregate(s=Sum("amount"))["s"] or ZERO
    count = plan.deferrals.filter(kind=BudgetDeferral.Kind.SPREAD).count()
    if count >= plan.spread_months:
        return ZERO
    if count == plan.spread_months - 1:
        return plan.spread_total + done  # the last takes what rounding left
    return money(plan.spread_total / plan.spread_months)


def _review(plan: BudgetPlan, bill: Bill, month: int) -> None:
    lines = list(plan.plan_bills.filter(cancelled=False))
    actual = sum((x.actual for x in lines), ZERO)
    planned = sum((x.planned for x in lines), ZERO)
    variance = money((actual - planned) * 100 / planned) if planned else ZERO
    remaining = PLAN_MONTHS - month
    old = plan.monthly_amount
    new = old
    resized = abs(variance) > plan.plan_type.variance_percent and remaining > 0
    workings: dict = {"actual_to_date": str(actual), "plan_to_date": str(planned), "remaining_months": remaining}
    if resized:
        # Seasonal: last year's bills of the remaining calendar months, scaled by how this
        # year's months compare with the same months last year; the plain average otherwise.
        history = {dt.date.fromisoformat(m["bill_date"]).month: Decimal(m["amount"])
                   for m in plan.workings.get("months", []) if m.get("bill_date")}
        elapsed = [x.bill.bill_date.month for x in lines]
        upcoming = [((bill.bill_date.month - 1 + k) % 12) + 1 for k in range(1, remaining + 1)]
        base_elapsed = sum((history[m] for m in elapsed if m in history), ZERO)
        if all(m in history for m in elapsed + upcoming) and base_elapsed > 0:
            expected = money(sum((history[m] for m in upcoming), ZERO) * actual / base_elapsed)
            workings["method"] = "last year's remaining months x this year / last year to date"
        else:
            expected = money(actual / len(lines) * remaining)
            workings["method"] = "average of this year's bills x remaining months"
        deferred = deferred_balance(plan=plan)
        uplift = money(expected * plan.plan_type.uplift_percent / 100)
        new = money((expected + uplift + deferred) / remaining)
        workings.update(expected_remaining=str(expected), uplift=str(uplift), deferred=str(deferred),
                        new_amount=str(new))
        if new <= 0:
            new, workings["note"] = old, "The re-sized amount would not be positive: kept."
            resized = False
    BudgetReview.objects.create(plan=plan, bill=bill, month=month, actual_to_date=actual, plan_to_date=planned,
                                variance_percent=variance, old_amount=old, new_amount=new, resized=resized,
                                workings=workings)
    if resized:
        plan.monthly_amount = new


def _settle(plan: BudgetPlan, *, kind: str, on: dt.date, bill: Bill | None, actor: Actor, reason: str) -> tuple[Decimal, BudgetPlan | None]:
    """End the plan year. Returns (ledger amount posted on `bill`, the next plan year or None)."""
    balance = deferred_balance(plan=plan)
    posted = ZERO
    refund = ZERO
    if kind in (BudgetSettlement.Kind.TRUE_UP, BudgetSettlement.Kind.LEFT):
        posted = _defer(plan=plan, kind=BudgetDeferral.Kind.SETTLEMENT, amount=-balance, on=on, bill=bill, actor=actor,
                        description=f"settled: {balance} deferred balance")
        if balance < 0 and -balance >= plan.plan_type.min_refund:
            refund = -balance
    else:
        _defer(plan=plan, kind=BudgetDeferral.Kind.ROLL_OUT, amount=-balance, on=on, bill=bill, actor=actor, post=False,
               description="moved to the next plan year")
    BudgetSettlement.objects.create(plan=plan, kind=kind, settled_on=on, balance=balance, refund_due=refund, bill=bill,
                                    reason=reason)
    plan.status, plan.ended_on, plan.end_reason = BudgetPlan.Status.SETTLED, on, reason
    plan.save(update_fields=["status", "ended_on", "end_reason", "monthly_amount", "months_billed"])
    if kind == BudgetSettlement.Kind.LEFT:
        return posted, None
    carried = balance if kind == BudgetSettlement.Kind.ROLL else ZERO
    quote = budget_quote(account_id=plan.account_id, plan_type=plan.plan_type, as_of=on, carried=carried)
    following = BudgetPlan.objects.create(
        account_id=plan.account_id, plan_type=plan.plan_type, start_date=on + dt.timedelta(days=1),
        monthly_amount=quote.monthly_amount, workings=quote.workings(), previous=plan, created_by_id=actor.user_id,
        spread_total=balance if kind == BudgetSettlement.Kind.SPREAD else ZERO,
        spread_months=plan.plan_type.spread_months or 0 if kind == BudgetSettlement.Kind.SPREAD else 0)
    if kind != BudgetSettlement.Kind.TRUE_UP:
        _defer(plan=following, kind=BudgetDeferral.Kind.ROLL_IN, amount=balance, on=on, bill=None, actor=actor,
               post=False, description=f"from plan year {plan.pk}")
    return posted, following


def _apply(plan: BudgetPlan, bill: Bill, actor: Actor) -> Decimal:
    """The plan's part of one issued bill; returns what it changed the amount due by."""
    if bill.kind == Bill.Kind.FINAL:
        posted, _ = _settle(plan, kind=BudgetSettlement.Kind.LEFT, on=bill.bill_date, bill=bill, actor=actor,
                            reason=f"Final bill {bill.bill_number}: moved out")
        BudgetPlanBill.objects.create(plan=plan, bill=bill, month=max(plan.months_billed, 1), actual=bill.total,
                                      planned=bill.total, settled=posted)
        return posted
    month = plan.months_billed + 1
    spread = _spread_instalment(plan)
    change = ZERO
    if spread:
        change += _defer(plan=plan, kind=BudgetDeferral.Kind.SPREAD, amount=-spread, on=bill.bill_date, bill=bill,
                         actor=actor, description=f"instalment of last year's {plan.spread_total}")
    planned = plan.monthly_amount
    change += _defer(plan=plan, kind=BudgetDeferral.Kind.BILL, amount=bill.total - planned, on=bill.bill_date, bill=bill,
                     actor=actor, description=f"bill {bill.bill_number}: actual {bill.total}, plan {planned}")
    line = BudgetPlanBill.objects.create(plan=plan, bill=bill, month=month, actual=bill.total, planned=planned,
                                         spread=spread)
    plan.months_billed = month
    if month in (plan.plan_type.review_months or []):
        _review(plan, bill, month)
    if month >= PLAN_MONTHS:
        kinds: dict[str, str] = {BudgetPlanType.Settlement.TRUE_UP: BudgetSettlement.Kind.TRUE_UP,
                 BudgetPlanType.Settlement.ROLL: BudgetSettlement.Kind.ROLL,
                 BudgetPlanType.Settlement.SPREAD: BudgetSettlement.Kind.SPREAD}
        posted, _ = _settle(plan, kind=kinds[plan.plan_type.settlement], on=bill.bill_date, bill=bill, actor=actor,
                            reason=f"Anniversary: bill {bill.bill_number}")
        change += posted
        line.settled = posted
        BudgetPlanBill.objects.filter(pk=line.pk).update(settled=posted)
    else:
        plan.save(update_fields=["months_billed", "monthly_amount"])
    return change


def budget_bills_issued(*, bills: list[Bill], now: dt.datetime, actor: Actor | None = None) -> None:
    """The bill-issue hook (billing.services.runs.lifecycle.bills_issue): for each bill of an
    account on a plan, post the plan's adjustments and set its amount due to the plan amount
    (+ any spread instalment or settlement). Runs inside the issue transaction; a bill already
    seen is skipped."""
    actor = actor or Actor.system()
    accounts = {b.account_id for b in bills}
    plans = {p.account_id: p for p in BudgetPlan.objects.filter(account_id__in=accounts, status=BudgetPlan.Status.ACTIVE)
             .select_related("plan_type").select_for_update(of=("self",))}
    if not plans:
        return
    seen = set(BudgetPlanBill.objects.filter(bill__in=bills).values_list("bill_id", flat=True))
    offsets: dict[int, Decimal] = {}
    for bill in sorted(bills, key=lambda b: (b.bill_date, b.pk)):
        plan = plans.get(bill.account_id)
        offset = offsets.get(bill.account_id, ZERO)
        if plan is None or bill.pk in seen or bill.bill_date < plan.start_date or (
                bill.kind not in BILLED_KINDS and bill.kind != Bill.Kind.FINAL):
            if offset:
                bill.balance_forward += offset
                bill.amount_due += offset
                Bill.objects.filter(pk=bill.pk).update(balance_forward=bill.balance_forward, amount_due=bill.amount_due)
            continue
        change = _apply(plan, bill, actor)
        bill.balance_forward += offset
        bill.amount_due += offset + change
        offsets[bill.account_id] = offset + change
        Bill.objects.filter(pk=bill.pk).update(balance_forward=bill.balance_forward, amount_due=bill.amount_due)
        if plan.status != BudgetPlan.Status.ACTIVE:
            following = BudgetPlan.objects.filter(previous=plan).select_related("plan_type").first()
            if following is None:
                plans.pop(bill.account_id)
            else:
                plans[bill.account_id] = following


def budget_leave(*, plan: BudgetPlan, on: dt.date, reason: str, actor: Actor) -> BudgetSettlement:
    """Take the account off the plan on `on`: the deferred balance is posted to the account (a
    charge, or a credit refunded when at least the plan type's smallest refund). Raises
    BudgetError for a plan already settled or without a reason."""
    if not (reason or "").strip():
        raise BudgetError("Say why the account leaves the plan.")
    with transaction.atomic(), actor.with_reason(reason).audit("budget_leave"):
        plan = BudgetPlan.objects.select_for_update().select_related("plan_type").get(pk=plan.pk)
        if plan.status != BudgetPlan.Status.ACTIVE:
            raise BudgetError(f"Plan {plan.pk} was already settled on {plan.ended_on}.")
        _settle(plan, kind=BudgetSettlement.Kind.LEFT, on=on, bill=None, actor=actor, reason=reason.strip())
        return plan.settlement


def budget_bill_reversed(*, entry: LedgerEntry) -> None:
    """A bill's ledger entry was reversed (the bill cancelled): reverse the plan's adjustments
    of that bill too and record them as cancelled deferrals, so the deferred balance and the
    plan months are as if the bill had not been issued (the rebill is billed on the plan again)."""
    target = entry.reverses
    if target is None or target.kind != LedgerEntry.Kind.BILL or target.bill_id is None:
        return
    line = BudgetPlanBill.objects.filter(bill_id=target.bill_id, cancelled=False).select_related("plan").first()
    if line is None:
        return
    for deferral in BudgetDeferral.objects.filter(bill_id=target.bill_id).exclude(kind=BudgetDeferral.Kind.CANCELLED) \
            .exclude(ledger_entry=None).select_related("ledger_entry"):
        if deferral.ledger_entry is None:
            continue
        reversal = ledger_reverse(entry=deferral.ledger_entry, effective_date=entry.effective_date,
                                  reason=f"Bill {target.bill_id} cancelled: its plan adjustment too")
        BudgetDeferral.objects.create(plan=deferral.plan, account_id=deferral.account_id, kind=BudgetDeferral.Kind.CANCELLED,
                                      amount=-deferral.amount, bill_id=target.bill_id, ledger_entry=reversal,
                                      effective_date=entry.effective_date, description=f"cancelled: {deferral.description}"[:200])
    BudgetPlanBill.objects.filter(pk=line.pk).update(cancelled=True)
    plan = line.plan
    if plan.status == BudgetPlan.Status.ACTIVE and plan.months_billed:
        BudgetPlan.objects.filter(pk=plan.pk).update(months_billed=plan.months_billed - 1)


def plan_type_save(*, plan_type: BudgetPlanType, actor: Actor, reason: str = "") -> BudgetPlanType:
    """Validate (precise messages per field) and save a plan type, audited."""
    plan_type.full_clean()
    with transaction.atomic(), actor.with_reason(reason or f"Plan type {plan_type.code}").audit("budget_plan_type_save"):
        plan_type.save()
    return plan_type


__all__ = ["BudgetError", "Quote", "ValidationError", "active_plan", "budget_bill_reversed", "budget_bills_issued",
           "budget_eligibility", "budget_enrol", "budget_leave", "budget_quote", "bill_plan_facts", "deferred_balance",
           "plan_summary", "plan_type_save"]

