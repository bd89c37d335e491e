"""The protection rule engine: before every notice and every disconnect order (and, through
core.protections, when a crew is dispatched), each active ProtectionRule that applies to the
action and the account's customer class is evaluated; the first that holds gives the reason
and until when. Rules are rows (billing.ProtectionRule); their `params` are read here."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Max, Q, Sum
from django.db.models.functions import TruncDate

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
    facts: ProtectionFacts
    day: DayFacts


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


def _accounts():
    """cis' accounts, reached through billing's own foreign key (billing imports no cis model)."""
    model = LedgerEntry._meta.get_field("account").related_model
    assert isinstance(model, type)
    return model._default_manager


def account_facts(account_ids: Iterable[int]) -> dict[int, AccountFacts]:
    """The facts of these accounts (whether or not they have ledger entries: an open case of an
    account without any is still closed by the run)."""
    ids = list(account_ids)
    rows = _accounts().filter(pk__in=ids).order_by().values_list(
        "id", "account_number", "status", "customer__kind", "customer__email")
    points: dict[int, list[tuple[dt.date, int, str]]] = {}
    for account_id, start, sp_id, city in (_accounts().filter(pk__in=ids, agreements__isnull=False).order_by().values_list(
            "id", "agreements__start_date", "agreements__service_point_id", "agreements__service_point__premise__city")):
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
    holidays = ctx.day.holidays
    why = _blocked_day(rule.params, ctx.on_date, holidays)
    if not why:
        return ALLOW
    day = ctx.on_date + DAY
    while _blocked_day(rule.params, day, holidays) and day < ctx.on_date + dt.timedelta(days=30):
        day += DAY
    return ProtectionDecision(True, rule.code, why.capitalize(), day)


@dataclass(frozen=True)
class HeldProtection:
    """An account protection in force on the date (AccountProtection's fields the rules read)."""

    id: int
    kind: str
    end_date: dt.date
    reason: str


@dataclass(frozen=True)
class ProtectionFacts:
    """What the rules read of one account on one date, loaded once: for one account
    (`protections_evaluate`) or for a whole chunk of the run (`protection_facts`)."""

    areas: frozenset[str] = frozenset()
    protections: tuple[HeldProtection, ...] = ()  # in force on the date
    arrangement: tuple[Decimal, dt.date, dt.date | None] | None = None  # active: arrears, made on, last instalment
    promise: tuple[Decimal, dt.date] | None = None  # open: amount, promised date
    contacts: tuple[tuple[dt.date, dt.datetime], ...] = ()  # (UTC date, time) of every contact attempt, oldest first
    notice_date: dt.date | None = None  # the case's disconnection notice


@dataclass(frozen=True)
class DayFacts:
    """What the rules read of the date itself: holidays and the extreme weather days from it on."""

    holidays: frozenset[dt.date]
    weather: tuple[tuple[dt.date, str, str], ...] = field(default=())  # (date, area, reason), by date


def day_facts(on_date: dt.date) -> DayFacts:
    weather = tuple((d.date, d.area, d.reason)
                    for d in ExtremeWeatherDay.objects.filter(date__gte=on_date).order_by("date", "id"))
    return DayFacts(utility_holidays(on_date, on_date + dt.timedelta(days=30)), weather)


def protection_facts(account_ids: Iterable[int], *, on_date: dt.date, cases: dict[int, CollectionCase],
                     areas: dict[int, frozenset[str]]) -> dict[int, ProtectionFacts]:
    """The protection facts of many accounts on `on_date` in a handful of queries; `cases` are
    their open cases (by account), `areas` their premise cities (AccountFacts.areas)."""
    ids = list(account_ids)
    held: dict[int, list[HeldProtection]] = {}
    for pk, account_id, kind, end, reason in (
            AccountProtection.objects.filter(account_id__in=ids, start_date__lte=on_date, end_date__gte=on_date)
            .filter(Q(ended_on__isnull=True) | Q(ended_on__gt=on_date)).order_by("-end_date", "-id")
            .values_list("id", "account_id", "kind", "end_date", "reason")):
        held.setdefault(account_id, []).append(HeldProtection(pk, kind, end, reason))
    arrangements = {account_id: (arrears, made, last) for account_id, arrears, made, last in (
        PaymentArrangement.objects.filter(account_id__in=ids, status=PaymentArrangement.Status.ACTIVE).order_by()
        .annotate(last=Max("instalments__due_date")).values_list("account_id", "arrears", "made_on", "last"))}
    promises = {account_id: (amount, promised) for account_id, amount, promised in (
        PromiseToPay.objects.filter(account_id__in=ids, status=PromiseToPay.Status.OPEN).order_by("made_on", "id")
        .values_list("account_id", "amount", "promised_date"))}
    contacts: dict[int, list[tuple[dt.date, dt.datetime]]] = {}
    for account_id, day, at in (ContactAttempt.objects.filter(account_id__in=ids).annotate(day=TruncDate("attempted_at"))
                                .order_by("attempted_at", "id").values_list("account_id", "day", "attempted_at")):
        contacts.setdefault(account_id, []).append((day, at))
    case_accounts = {case.pk: account_id for account_id, case in cases.items()}
    notices = {case_accounts[case_id]: day for case_id, day in (
        CollectionAction.objects.filter(case_id__in=list(case_accounts), kind=CollectionAction.Kind.DISCONNECT_NOTICE)
        .values_list("case_id", "action_date"))}
    return {a: ProtectionFacts(areas.get(a, frozenset()), tuple(held.get(a, ())), arrangements.get(a), promises.get(a),
                               tuple(contacts.get(a, ())), notices.get(a)) for a in ids}


def _extreme_weather(rule: ProtectionRule, ctx: Context) -> ProtectionDecision:
    days = [(day, reason) for day, area, reason in ctx.day.weather if not area or area.strip().lower() in ctx.facts.areas]
    if not days or days[0][0] != ctx.on_date:
        return ALLOW
    until = ctx.on_date
    dates = {day for day, _ in days}
    while until in dates:
        until += DAY
    return ProtectionDecision(True, rule.code, f"Extreme weather day: {days[0][1]}", until)


def _notice_period(rule: ProtectionRule, ctx: Context) -> ProtectionDecision:
    days = int(rule.params.get("days", 14))
    notice = ctx.facts.notice_date if ctx.case else None
    if notice is None:
        return ProtectionDecision(True, rule.code, "No disconnection notice was given in this case", None)
    ends = notice + dt.timedelta(days=days)
    if ctx.on_date < ends:
        return ProtectionDecision(True, rule.code, f"Notice period of {days} days from {notice}", ends)
    return ALLOW


def _contact_attempt(rule: ProtectionRule, ctx: Context) -> ProtectionDecision:
    hours = int(rule.params.get("hours", 48))
    since = ctx.case.opened_on if ctx.case else ctx.on_date
    latest = next((at for day, at in ctx.facts.contacts if day >= since), None)
    if latest is None:
        return ProtectionDecision(True, rule.code, f"No contact attempt yet ({hours} h before disconnection)", None)
    ready = latest + dt.timedelta(hours=hours)
    if ctx.now < ready:
        return ProtectionDecision(True, rule.code, f"Contact attempted {latest:%Y-%m-%d %H:%M}; "
                                                   f"{hours} h must pass", ready.date())
    return ALLOW


def _account_protection(kind: str) -> Callable[[ProtectionRule, Context], ProtectionDecision]:
    label = AccountProtection.Kind(kind).label

    def check(rule: ProtectionRule, ctx: Context) -> ProtectionDecision:
        row = next((p for p in ctx.facts.protections if p.kind == kind), None)  # the one ending last
        if row is None:
            return ALLOW
        until = None if kind == AccountProtection.Kind.DISPUTE else row.end_date + DAY
        return ProtectionDecision(True, rule.code, f"{label}: {row.reason}", until)
    return check


def _arrangement(rule: ProtectionRule, ctx: Context) -> ProtectionDecision:
    if ctx.facts.arrangement is None:
        return ALLOW
    arrears, made_on, last = ctx.facts.arrangement
    return ProtectionDecision(True, rule.code, f"Payment arrangement of {arrears} made {made_on}",
                              (last + DAY) if last else None)


def _promise(rule: ProtectionRule, ctx: Context) -> ProtectionDecision:
    if ctx.facts.promise is None or ctx.facts.promise[1] < ctx.on_date:
        return ALLOW
    amount, promised = ctx.facts.promise
    return ProtectionDecision(True, rule.code, f"Promise to pay {amount} by {promised}", promised + DAY)


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


def rules_for(rules: Iterable[ProtectionRule], *, action: str, customer_class: str) -> list[ProtectionRule]:
    """Of these active rules, those that apply to `action` and the class, in PRIORITY order."""
    applies = {AppliesTo.ALL, AppliesTo.NOTICES if action == "notice" else AppliesTo.DISCONNECT}
    mine = [r for r in rules if r.applies_to in applies and r.customer_class in ("", customer_class)]
    return sorted(mine, key=lambda r: (PRIORITY.index(r.kind), r.code))


def active_rules(*, action: str, customer_class: str) -> list[ProtectionRule]:
    return rules_for(ProtectionRule.objects.filter(active=True), action=action, customer_class=customer_class)


def protections_decide(*, rules: list[ProtectionRule], ctx: Context, first_only: bool = False) -> list[ProtectionDecision]:
    """Every rule of `rules` (active_rules' order) that holds in `ctx`; pure, no database."""
    holds = []
    for rule in rules:
        decision = CHECKS[rule.kind](rule, ctx)
        if decision.hold:
            holds.append(decision)
            if first_only:
                break
    return holds


def protections_evaluate(*, account_id: int, on_date: dt.date, now: dt.datetime, action: str,
                         case: CollectionCase | None = None, customer_class: str | None = None,
                         first_only: bool = False) -> list[ProtectionDecision]:
    """Every rule that holds the account for `action` ("notice" or "disconnect") on `on_date`
    (with `first_only`, the first that holds: what the run needs)."""
    account = account_facts([account_id]).get(account_id)
    if customer_class is None:
        customer_class = account.customer_class if account else CustomerClass.RESIDENTIAL
    if case is None:
        case = CollectionCase.objects.filter(account_id=account_id, status=CollectionCase.Status.OPEN).first()
    facts = protection_facts([account_id], on_date=on_date, cases={account_id: case} if case else {},
                             areas={account_id: account.areas} if account else {})[account_id]
    ctx = Context(account_id, customer_class, on_date, now, action, case, facts, day_facts(on_date))
    return protections_decide(rules=active_rules(action=action, customer_class=customer_class), ctx=ctx,
                              first_only=first_only)


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
