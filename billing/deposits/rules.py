"""The deposit rules, read-only: which class an account falls in, its payment history (good or
not, and the incidents that broke it), the events that require a deposit, the amount a class
asks (average monthly bill x multiple, the minimum, the cap) and the interest a deposit has
earned (each span of one held amount and one rate). See docs/deposits.md."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.db.models import Sum

from billing.collections.models import CollectionAction
from billing.deposits.models import Deposit, DepositClass, DepositEntry, DepositInterestRate, Trigger
from billing.models import Bill, BillSegment, RateSchedule
from billing.payments.models import PaymentReturn
from cis.selectors import account_premises, customer_account_openings, account_service_point_ids, agreements_for_bill_accounts, service_point_rate_classes
from core.money import money, rate

ZERO = Decimal("0.00")
BILLED_KINDS = (Bill.Kind.REGULAR, Bill.Kind.OFF_CYCLE, Bill.Kind.REBILL, Bill.Kind.FINAL)
DAYS_A_YEAR = Decimal(365)


def months_between(start: dt.date, end: dt.date) -> int:
    """Whole months from `start` to `end` (0 when end is before start)."""
    months = (end.year - start.year) * 12 + end.month - start.month - (1 if end.day < start.day else 0)
    return max(months, 0)


def deposit_class_for(account) -> DepositClass | None:
    """The first active class (by priority) whose customer kind and rate class match the account."""
    kind = account.customer.kind
    rate_classes = set(service_point_rate_classes(service_point_ids=account_service_point_ids(account_id=account.pk)).values())
    for candidate in DepositClass.objects.filter(active=True):
        if candidate.customer_kind and candidate.customer_kind != kind:
            continue
        if candidate.rate_class and candidate.rate_class not in rate_classes:
            continue
        return candidate
    return None


@dataclass(frozen=True)
class Incident:
    on: dt.date
    what: str


@dataclass(frozen=True)
class History:
    """Payment history over the last `needed_months` up to `as_of`: `months` of it exist, and
    the incidents (disconnection notices, returned payments) in the window."""

    since: dt.date
    months: int
    needed_months: int
    max_incidents: int
    incidents: list[Incident] = field(default_factory=list)

    @property
    def good(self) -> bool:
        return self.months >= self.needed_months and len(self.incidents) <= self.max_incidents

    def explain(self) -> str:
        if self.months < self.needed_months:
            return f"{self.months} of {self.needed_months} months of payment history"
        if len(self.incidents) > self.max_incidents:
            listed = ", ".join(f"{i.what} {i.on:%Y-%m-%d}" for i in self.incidents)
            return f"{len(self.incidents)} incidents in {self.needed_months} months (more than {self.max_incidents}): {listed}"
        return f"good payment history: {self.months} months, {len(self.incidents)} incident(s)"


def incidents_of(account_ids: list[int], *, start: dt.date, end: dt.date) -> list[Incident]:
    """Disconnection notices (billing.collections) and returned payments that count for the
    credit rating (billing.payments) on [start, end]."""
    notices = CollectionAction.objects.filter(account_id__in=account_ids, kind=CollectionAction.Kind.DISCONNECT_NOTICE,
                                              action_date__gte=start, action_date__lte=end).values_list("action_date", flat=True)
    returns = PaymentReturn.objects.filter(account_id__in=account_ids, counts_for_credit=True, return_date__gte=start,
                                           return_date__lte=end).values_list("return_date", flat=True)
    found = [Incident(d, "disconnection notice") for d in notices] + [Incident(d, "returned payment") for d in returns]
    return sorted(found, key=lambda i: i.on)


def payment_history(*, account_ids: list[int], since: dt.date, as_of: dt.date, deposit_class: DepositClass) -> History:
    """The history of `account_ids` from `since` (an account's opening, a deposit's start) to `as_of`."""
    needed = deposit_class.good_history_months
    window_start = max(since, as_of - relativedelta(months=needed))
    return History(since=since, months=months_between(since, as_of), needed_months=needed,
                   max_incidents=deposit_class.max_incidents,
                   incidents=incidents_of(account_ids, start=window_start, end=as_of))


def customer_history(account, *, as_of: dt.date, deposit_class: DepositClass) -> History:
    """The customer's history over all their accounts, from the first one opened."""
    accounts = customer_account_openings(customer_id=account.customer_id, as_of=as_of)
    since = min((opened for _, opened in accounts), default=account.opened_date)
    return payment_history(account_ids=[pk for pk, _ in accounts] or [account.pk], since=since, as_of=as_of,
                           deposit_class=deposit_class)


@dataclass(frozen=True)
class Requirement:
    trigger: str
    key: str
    reason: str


def deposit_triggers(account, *, as_of: dt.date, deposit_class: DepositClass) -> list[Requirement]:
    """Every event that requires the account to give a deposit of `deposit_class` on `as_of`."""
    found: list[Requirement] = []
    if deposit_class.require_new_customer:
        # A new account (opened within the good-history period) of a customer whose history,
        # over all their accounts, is not good: too short, or broken by incidents.
        history = customer_history(account, as_of=as_of, deposit_class=deposit_class)
        is_new = account.opened_date > as_of - relativedelta(months=deposit_class.good_history_months)
        if is_new and not history.good:
            found.append(Requirement(Trigger.NEW_CUSTOMER, "new_customer",
                                     f"New customer without good payment history ({history.explain()})."))
    if deposit_class.require_after_disconnection:
        since = as_of - relativedelta(months=deposit_class.good_history_months)
        for pk, day in CollectionAction.objects.filter(account_id=account.pk, kind=CollectionAction.Kind.DISCONNECT,
                                                       action_date__gte=since, action_date__lte=as_of).values_list("pk", "action_date"):
            found.append(Requirement(Trigger.DISCONNECTION, f"disconnection:{pk}",
                                     f"Disconnect order for non-payment on {day:%Y-%m-%d}."))
    if deposit_class.returned_payments_trigger:
        since = as_of - relativedelta(months=deposit_class.returned_payments_months)
        returns = list(PaymentReturn.objects.filter(account_id=account.pk, counts_for_credit=True, return_date__gte=since,
                                                    return_date__lte=as_of).order_by("return_date", "pk")
                       .values_list("pk", "return_date"))
        if len(returns) >= deposit_class.returned_payments_trigger:
            # The return that reached the count names the event: a later one does not ask again.
            pk, day = returns[deposit_class.returned_payments_trigger - 1]
            found.append(Requirement(Trigger.RETURNED_PAYMENTS, f"returned_payments:{pk}",
                                     f"{len(returns)} returned payments in {deposit_class.returned_payments_months} months "
                                     f"(the rule: {deposit_class.returned_payments_trigger}); the last on {returns[-1][1]:%Y-%m-%d}."))
    return found


@dataclass(frozen=True)
class Amount:
    amount: Decimal
    workings: dict


def _monthly_average(segments) -> tuple[Decimal, int]:
    """Average of the bills' monthly totals: live segments summed per calendar month of the bill."""
    by_month: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    for day, subtotal in segments.values_list("bill__bill_date", "subtotal"):
        by_month[(day.year, day.month)] += subtotal
    if not by_month:
        return ZERO, 0
    return rate(sum(by_month.values(), Decimal(0)) / len(by_month)), len(by_month)


def _segments(since: dt.date, as_of: dt.date):
    return BillSegment.objects.filter(live=True, bill__status=Bill.Status.ISSUED, bill__kind__in=BILLED_KINDS,
                                      bill__bill_date__gt=since, bill__bill_date__lte=as_of)


def deposit_amount(account, *, deposit_class: DepositClass, as_of: dt.date) -> Amount:
    """The deposit `deposit_class` asks of the account on `as_of`: the average monthly bill (of
    the premise, or of the rate class when the premise has no bills or the class says so) x
    the multiple, at least the minimum, never above the cap x the average."""
    since = as_of - relativedelta(months=deposit_class.lookback_months)
    average, months, source = ZERO, 0, ""
    if deposit_class.amount_basis == DepositClass.Basis.PREMISE:
        points = [sp.pk for premise in account_premises(account=account) for sp in premise.service_points.all()]
        if points:
            average, months = _monthly_average(_segments(since, as_of).filter(service_point_id__in=points))
            source = f"premise: {months} month(s) of bills" if months else ""
    if not months:
        agreements = [a for a in agreements_for_bill_accounts(bill_account_ids=[account.pk], before=as_of + dt.timedelta(days=1))
                      if a.account_id == account.pk]
        parts = []
        for agreement in agreements:
            codes = (list(RateSchedule.objects.filter(rate_class=agreement.rate_class).values_list("code", flat=True))
                     if agreement.rate_class else []) or [agreement.rate_code]
            segments = _segments(since, as_of).filter(rate_code__in=codes)
            count = segments.count()
            if count:
                parts.append(rate((segments.aggregate(s=Sum("subtotal"))["s"] or ZERO) / count))
        if parts:
            average, months = rate(sum(parts, Decimal(0))), 1
            source = f"rate class average of {len(parts)} agreement(s)"
    average = money(average)
    raw = money(average * deposit_class.amount_multiple)
    workings: dict[str, object] = {"as_of": as_of.isoformat(), "source": source or "no bills: the minimum", "average_monthly_bill": str(average),
                "multiple": str(deposit_class.amount_multiple), "by_multiple": str(raw),
                "minimum": str(deposit_class.minimum_amount), "cap_multiple": str(deposit_class.cap_multiple)}
    amount = max(raw, deposit_class.minimum_amount)
    notes = []
    if amount > raw:
        notes.append(f"raised to the minimum {deposit_class.minimum_amount}")
    if average > 0:
        cap = money(average * deposit_class.cap_multiple)
        workings["cap"] = str(cap)
        if amount > cap:
            amount = cap
            notes.append(f"capped at {deposit_class.cap_multiple} x {average} = {cap}")
    workings["notes"] = notes
    workings["amount"] = str(amount)
    return Amount(money(amount), workings)


def instalment_amounts(amount: Decimal, count: int) -> list[Decimal]:
    """`count` equal instalments to the cent; the last takes what rounding left."""
    each = money(amount / count)
    return [each] * (count - 1) + [amount - each * (count - 1)]


# ---- Interest -----------------------------------------------------------------------------


@dataclass(frozen=True)
class InterestSpan:
    start: dt.date
    end: dt.date  # exclusive
    held: Decimal
    annual_percent: Decimal
    amount: Decimal  # 6 places: rounded once, on the total

    def as_dict(self) -> dict:
        return {"from": self.start.isoformat(), "to": self.end.isoformat(), "days": (self.end - self.start).days,
                "held": str(self.held), "annual_percent": str(self.annual_percent), "interest": str(self.amount)}


def interest_spans(*, entries: list[tuple[dt.date, Decimal]], rates: list[tuple[dt.date, Decimal]],
                   start: dt.date, end: dt.date) -> list[InterestSpan]:
    """Pure: simple interest on each day's held amount over [start, end), actual/365. The held
    amount on a day includes that day's entries; the rate is the latest starting on or before."""
    cuts = {start, end} | {d for d, _ in entries if start < d < end} | {d for d, _ in rates if start < d < end}
    days = sorted(cuts)
    spans = []
    for a, b in zip(days, days[1:]):
        held = sum((amt for d, amt in entries if d <= a), Decimal(0))
        percent = next((p for d, p in sorted(rates, reverse=True) if d <= a), Decimal(0))
        if held <= 0 or percent <= 0:
            continue
        spans.append(InterestSpan(a, b, held, percent, rate(held * percent / 100 * (b - a).days / DAYS_A_YEAR)))
    return spans


def deposit_interest(deposit: Deposit, *, until: dt.date) -> tuple[Decimal, list[InterestSpan]]:
    """The interest `deposit` earned from its `interest_from` to `until` (exclusive), rounded
    half-up to the cent once on the total, and its spans."""
    if deposit.interest_from is None or until <= deposit.interest_from:
        return ZERO, []
    entries = list(DepositEntry.objects.filter(deposit=deposit).values_list("effective_date", "amount"))
    rates = list(DepositInterestRate.objects.values_list("start_date", "annual_percent"))
    spans = interest_spans(entries=entries, rates=rates, start=deposit.interest_from, end=until)
    return money(sum((s.amount for s in spans), Decimal(0))), spans
