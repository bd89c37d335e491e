"""The protection rule engine: before every notice and every disconnect order (and, through
core.protections, when a crew is dispatched), each active ProtectionRule that applies to the
action and the account's customer class is evaluated; the first that holds gives the reason
and until when. Rules are rows (billing.ProtectionRule); their `params` are read here."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, Sum

from billing.collections.models import (
    AccountProtection,
    AppliesTo,
    CollectionAction,
    CollectionCase,
    ContactAttempt,
    CustomerClass,
    ExtremeWeatherDay,
    PaymentArrangement,
    PromiseToPay,
    ProtectionRule,
    RuleKind,
)
from billing.models import LedgerEntry
from billing.payments.models import Payment
from core.clock import utility_holidays
from core.protections import ALLOW, ProtectionDecision

DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Context:
    account_id: int
    customer_class: str
    on_date: dt.date
    now: dt.datetime
    action: str  # "notice" or "disconnect"
    case: CollectionCase | None


@dataclass(frozen=True)
class AccountFacts:
    """What collections needs of a cis account, read through billing's own foreign keys."""

    id: int
    account_number: str
    status: str
    customer_kind: str
    email: str
    service_point_id: int | None
    areas: frozenset[str]

    @property
    def customer_class(self) -> str:
        """Residential for a person, commercial for an organisation (the customer's kind)."""
        return CustomerClass.COMMERCIAL if self.customer_kind == "organisation" else CustomerClass.RESIDENTIAL

    @property
    def closed(self) -> bool:
        return self.status == "closed"


def account_facts(account_ids: Iterable[int]) -> dict[int, AccountFacts]:
    """The facts of accounts that have ledger entries (every account with something overdue)."""
    ids = list(account_ids)
    entries = LedgerEntry.objects.filter(account_id__in=ids).order_by()
    rows = entries.values_list("account_id", "account__account_number", "account__status", "account__customer__kind",
                               "account__customer__email").distinct()
    points: dict[int, list[tuple[dt.date, int, str]]] = {}
    for account_id, start, sp_id, city in (entries.filter(account__agreements__isnull=False).values_list(
            "account_id", "account__agreements__start_date", "account__agreements__service_point_id",
            "account__agreements__service_point__premise__city").distinct()):
        points.setdefault(account_id, []).append((start, sp_id, city or ""))
    facts = {}
    for account_id, number, status, kind, email in rows:
        mine = sorted(points.get(account_id, []), reverse=True)
        facts[account_id] = AccountFacts(account_id, number, status, kind, email or "", mine[0][1] if mine else None,
                                         frozenset(c.strip().lower() for _, _, c in mine if c.strip()))
    return facts


def account_facts_of(account) -> AccountFacts:
    """The facts of one cis account object (the account page's), also one without entries."""
    found = account_facts([account.pk]).get(account.pk)
    return found or AccountFacts(account.pk, account.account_number, account.status, account.customer.kind,
                                 account.customer.email or "", None, frozenset())


def _md(text: str, year: int) -> dt.date:
    month, day = (int(p) for p in str(text).split("-"))
    return dt.date(year, month, day)


def seasonal_ban_window(params: dict, on_date: dt.date) -> tuple[dt.date, dt.date] | None:
    """The ban window (start, end inclusive) that contains on_date, or None."""
    for start_year in (on_date.year - 1, on_date.year):
        start = _md(params.get("start", "11-15"), start_year)
        end = _md(params.get("end", "04-30"), start_year + (1 if _md(params.get("end", "04-30"), start_year) < start else 0))
        if start <= on_date <= end:
            return start, end
    return None


def _seasonal_ban(rule: ProtectionRule, ctx: Context) -> ProtectionDecision:
    window = seasonal_ban_window(rule.params, ctx.on_date)
    if window is None:
        return ALLOW
    return ProtectionDecision(True, rule.code, f"Seasonal ban {window[0]:%b %d} to {window[1]:%b %d}", window[1] + DAY)


def _blocked_day(params: dict, day: dt.date, holidays: frozenset[dt.date]) -> str:
    if day.weekday() in set(params.get("weekdays", [4, 5, 6])):
        return f"no disconnection on a {day:%A}"
    if params.get("holidays", True) and day in holidays:
        return "no disconnection on a holiday"
    if params.get("day_before_holiday", True) and day + DAY in holidays:
        return "no disconnection the day before a holiday"
    return ""


def _no_disconnect_days(rule: ProtectionRule, ctx: Context) -> ProtectionDecision:
    holidays = utility_holidays(ctx.on_date, ctx.on_date + dt.timedelta(days=30))
    why = _blocked_day(rule.params, ctx.on_date, holidays)
    if not why:
        return ALLOW
    day = ctx.on_date + DAY
    while _blocked_day(rule.params, day, holidays) and day < ctx.on_date + dt.timedelta(days=30):
        day += DAY
    return ProtectionDecision(True, rule.code, why.capitalize(), day)


def _extreme_weather(rule: ProtectionRule, ctx: Context) -> ProtectionDecision:
    facts = account_facts([ctx.account_id]).get(ctx.account_id)
    areas = facts.areas if facts else frozenset()
    days = [d for d in ExtremeWeatherDay.objects.filter(date__gte=ctx.on_date).order_by("date")
            if not d.area or d.area.strip().lower() in areas]
    if not days or days[0].date != ctx.on_date:
        return ALLOW
    until = ctx.on_date
    dates = {d.date for d in days}
    while until in dates:
        until += DAY
    return ProtectionDecision(True, rule.code, f"Extreme weather day: {days[0].reason}", until)


def _notice_period(rule: ProtectionRule, ctx: Context) -> ProtectionDecision:
    days = int(rule.params.get("days", 14))
    notice = (CollectionAction.objects.filter(case=ctx.case, kind=CollectionAction.Kind.DISCONNECT_NOTICE).first()
              if ctx.case else None)
    if notice is None:
        return ProtectionDecision(True, rule.code, "No disconnection notice was given in this case", None)
    ends = notice.action_date + dt.timedelta(days=days)
    if ctx.on_date < ends:
        return ProtectionDecision(True, rule.code, f"Notice period of {days} days from {notice.action_date}", ends)
    return ALLOW


def _contact_attempt(rule: ProtectionRule, ctx: Context) -> ProtectionDecision:
    hours = int(rule.params.get("hours", 48))
    since = ctx.case.opened_on if ctx.case else ctx.on_date
    latest = (ContactAttempt.objects.filter(account_id=ctx.account_id, attempted_at__date__gte=since)
              .order_by("attempted_at").first())
    if latest is None:
        return ProtectionDecision(True, rule.code, f"No contact attempt yet ({hours} h before disconnection)", None)
    ready = latest.attempted_at + dt.timedelta(hours=hours)
    if ctx.now < ready:
        return ProtectionDecision(True, rule.code, f"Contact attempted {latest.attempted_at:%Y-%m-%d %H:%M}; "
                                                   f"{hours} h must pass", ready.date())
    return ALLOW


def _account_protection(kind: str) -> Callable[[ProtectionRule, Context], ProtectionDecision]:
    def check(rule: ProtectionRule, ctx: Context) -> ProtectionDecision:
        row = (AccountProtection.objects.filter(account_id=ctx.account_id, kind=kind, start_date__lte=ctx.on_date,
                                                end_date__gte=ctx.on_date)
               .filter(Q(ended_on__isnull=True) | Q(ended_on__gt=ctx.on_date)).order_by("-end_date").first())
        if row is None:
            return ALLOW
        until = None if kind == AccountProtection.Kind.DISPUTE else row.end_date + DAY
        return ProtectionDecision(True, rule.code, f"{row.get_kind_display()}: {row.reason}", until)
    return check


def _arrangement(rule: ProtectionRule, ctx: Context) -> ProtectionDecision:
    row = PaymentArrangement.objects.filter(account_id=ctx.account_id, status=PaymentArrangement.Status.ACTIVE).first()
    if row is None:
        return ALLOW
    last = row.instalments.order_by("-due_date").values_list("due_date", flat=True).first()
    return ProtectionDecision(True, rule.code, f"Payment arrangement of {row.arrears} made {row.made_on}",
                              (last + DAY) if last else None)


def _promise(rule: ProtectionRule, ctx: Context) -> ProtectionDecision:
    row = PromiseToPay.objects.filter(account_id=ctx.account_id, status=PromiseToPay.Status.OPEN,
                                      promised_date__gte=ctx.on_date).first()
    if row is None:
        return ALLOW
    return ProtectionDecision(True, rule.code, f"Promise to pay {row.amount} by {row.promised_date}", row.promised_date + DAY)


CHECKS: dict[str, Callable[[ProtectionRule, Context], ProtectionDecision]] = {
    RuleKind.SEASONAL_BAN: _seasonal_ban,
    RuleKind.NO_DISCONNECT_DAYS: _no_disconnect_days,
    RuleKind.EXTREME_WEATHER: _extreme_weather,
    RuleKind.NOTICE_PERIOD: _notice_period,
    RuleKind.CONTACT_ATTEMPT: _contact_attempt,
    RuleKind.MEDICAL: _account_protection(AccountProtection.Kind.MEDICAL),
    RuleKind.EMERGENCY_ASSISTANCE: _account_protection(AccountProtection.Kind.EMERGENCY_ASSISTANCE),
    RuleKind.DISPUTE: _account_protection(AccountProtection.Kind.DISPUTE),
    RuleKind.PENDING_PAYMENT: _account_protection(AccountProtection.Kind.PENDING_PAYMENT),
    RuleKind.STAFF_HOLD: _account_protection(AccountProtection.Kind.STAFF_HOLD),
    RuleKind.ARRANGEMENT: _arrangement,
    RuleKind.PROMISE: _promise,
}


# The order rules are asked in (the first that holds is the one named): the season and the
# calendar, then the customer's own protections, then the steps staff still owe (notice, contact).
PRIORITY: list[str] = [RuleKind.SEASONAL_BAN, RuleKind.EXTREME_WEATHER, RuleKind.MEDICAL, RuleKind.EMERGENCY_ASSISTANCE,
            RuleKind.DISPUTE, RuleKind.ARRANGEMENT, RuleKind.PROMISE, RuleKind.PENDING_PAYMENT, RuleKind.STAFF_HOLD,
            RuleKind.NO_DISCONNECT_DAYS, RuleKind.NOTICE_PERIOD, RuleKind.CONTACT_ATTEMPT]


def active_rules(*, action: str, customer_class: str) -> list[ProtectionRule]:
    applies = [AppliesTo.ALL, AppliesTo.NOTICES if action == "notice" else AppliesTo.DISCONNECT]
    rules = (ProtectionRule.objects.filter(active=True, applies_to__in=applies)
             .filter(Q(customer_class="") | Q(customer_class=customer_class)))
    return sorted(rules, key=lambda r: (PRIORITY.index(r.kind), r.code))


def protections_evaluate(*, account_id: int, on_date: dt.date, now: dt.datetime, action: str,
                         case: CollectionCase | None = None, customer_class: str | None = None,
                         first_only: bool = False) -> list[ProtectionDecision]:
    """Every rule that holds the account for `action` ("notice" or "disconnect") on `on_date`
    (with `first_only`, the first that holds: what the run needs)."""
    if customer_class is None:
        facts = account_facts([account_id]).get(account_id)
        customer_class = facts.customer_class if facts else CustomerClass.RESIDENTIAL
    if case is None:
        case = CollectionCase.objects.filter(account_id=account_id, status=CollectionCase.Status.OPEN).first()
    ctx = Context(account_id, customer_class, on_date, now, action, case)
    holds = []
    for rule in active_rules(action=action, customer_class=customer_class):
        decision = CHECKS[rule.kind](rule, ctx)
        if decision.hold:
            holds.append(decision)
            if first_only:
                break
    return holds


def protection_check(*, account_id: int, on_date: dt.date, now: dt.datetime, action: str = "disconnect",
                     case: CollectionCase | None = None, customer_class: str | None = None) -> ProtectionDecision:
    """The first rule that holds (in PRIORITY order), or allow. core.protections' checker."""
    holds = protections_evaluate(account_id=account_id, on_date=on_date, now=now, action=action, case=case,
                                 customer_class=customer_class, first_only=True)
    return holds[0] if holds else ALLOW


def payments_between(*, account_id: int, start: dt.date, end: dt.date) -> Decimal:
    """What the account paid (payments received, less returned ones) in [start, end]."""
    total = (Payment.objects.filter(account_id=account_id, received_date__gte=start, received_date__lte=end,
                                    payment_return__isnull=True).aggregate(s=Sum("amount"))["s"])
    return total or Decimal("0.00")
