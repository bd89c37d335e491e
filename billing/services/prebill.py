"""Pre-bill edits: checks a draft bill must pass before it goes out, configured by billing staff
as PreBillRule rows with thresholds, and the worklist actions on the bills they hold.

`evaluate` is pure: it sees a bill's facts (total, usage per day, estimated share, the
account's earlier bills) and the active rules, and returns findings. A bill with findings is
HELD with one BillException per finding until staff release it, re-rate it, or send the
meter for a check.

Each rule kind is one function (facts, params) -> Finding | None registered under its kind
with `@prebill_rule`, which also declares the params it reads (each with a check) and the
params a new rule starts with; `evaluate` dispatches through REGISTRY, and a kind with no
function is a PreBillConfigError. A new kind is a function here and a PreBillRule.Kind value.

Usage is compared per day, so a 33-day bill is not "high" against a 28-day one."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction

from billing.models import Bill, BillException, BillRun, PreBillRule
from core.field_work import FieldWorkKind, field_work_request
from core.money import to_decimal

Kind = PreBillRule.Kind
RATING_ERROR = "rating_error"  # not configurable: a bill that could not be priced never goes out


class PreBillError(Exception):
    """A worklist action that does not apply (the exception is already resolved, the bill is
    not held)."""


@dataclass(frozen=True)
class HistoryBill:
    """An earlier issued bill of the same account."""

    period_start: dt.date
    period_end: dt.date
    consumption: Decimal
    interval_count: int
    estimated_intervals: int

    @property
    def daily(self) -> Decimal:
        days = (self.period_end - self.period_start).days
        return self.consumption / days if days else Decimal(0)


@dataclass(frozen=True)
class BillFacts:
    period_start: dt.date
    period_end: dt.date
    total: Decimal
    consumption: Decimal  # of the metered segments
    metered: bool  # at least one segment is metered
    interval_count: int
    estimated_intervals: int
    missing_intervals: int
    unmeasured_segments: int  # segments of a metered service with no interval data at all
    rating_errors: tuple[str, ...] = ()
    history: tuple[HistoryBill, ...] = field(default_factory=tuple)  # oldest first

    @property
    def daily(self) -> Decimal:
        return self.consumption / (self.period_end - self.period_start).days


@dataclass(frozen=True)
class Finding:
    rule: str
    message: str


# --- the rules: one function per kind, in a registry ----------------------------------------

class PreBillConfigError(ValueError):
    """A pre-bill rule of a kind no function is registered for, or with params it cannot use."""


RuleFunction = Callable[[BillFacts, Mapping[str, Any]], Finding | None]
ParamCheck = Callable[[Any], object]  # raises ValueError/TypeError/ArithmeticError on a bad value


@dataclass(frozen=True)
class PreBillRuleKind:
    """A registered rule: the function that evaluates it, the params it reads (each with the
    check of its value) and the params a new rule of the kind starts with."""

    kind: str
    evaluate: RuleFunction
    params: Mapping[str, ParamCheck]
    defaults: Mapping[str, Any]

    def check(self, params: Any) -> None:
        """Raise PreBillConfigError if `params` are not usable by this rule."""
        if params is None:
            return
        if not isinstance(params, Mapping):
            raise PreBillConfigError(f"{self.kind}: params must be an object, not {params!r}")
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            allowed = ", ".join(sorted(self.params)) or "none"
            raise PreBillConfigError(f"{self.kind}: unknown params {', '.join(unknown)} (allowed: {allowed})")
        for name, value in params.items():
            try:
                self.params[name](value)
            except (ValueError, TypeError, ArithmeticError) as exc:
                raise PreBillConfigError(f"{self.kind}: {name}: {exc}") from exc


REGISTRY: dict[str, PreBillRuleKind] = {}


def prebill_rule(kind: str, *, params: Mapping[str, ParamCheck] | None = None,
                 defaults: Mapping[str, Any] | None = None) -> Callable[[RuleFunction], RuleFunction]:
    """Register the decorated (facts, params) -> Finding | None function as rule `kind`."""

    def register(function: RuleFunction) -> RuleFunction:
        key = str(getattr(kind, "value", kind))
        if key in REGISTRY:
            raise ValueError(f"pre-bill rule {key!r} is registered twice")
        rule = PreBillRuleKind(key, function, dict(params or {}), dict(defaults or {}))
        rule.check(rule.defaults)
        REGISTRY[key] = rule
        return function

    return register


def prebill_rule_kinds() -> list[str]:
    """The kinds a PreBillRule row may have, in registration order."""
    return list(REGISTRY)


def prebill_rule_for(kind: str) -> PreBillRuleKind:
    """The registered rule of `kind`. Raises PreBillConfigError for an unknown kind."""
    rule = REGISTRY.get(str(kind))
    if rule is None:
        raise PreBillConfigError(
            f"Unknown pre-bill rule kind {kind!r} (known: {', '.join(REGISTRY)})")
    return rule


def prebill_rule_check(kind: str, params: Any) -> None:
    """Raise PreBillConfigError if `kind` is unknown or `params` unusable (for admin forms)."""
    prebill_rule_for(kind).check(params)


def _number(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise TypeError(f"{value!r} is not a number")
    number = to_decimal(value)
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return number


def _percent(value: Any) -> Decimal:
    number = _number(value)
    if number < 0:
        raise ValueError(f"{value!r} is negative")
    return number


def _count(value: Any) -> int:
    number = _percent(value)
    if number != number.to_integral_value():
        raise ValueError(f"{value!r} is not a whole number")
    return int(number)


def _pct(part, whole) -> Decimal:
    return Decimal(100) * Decimal(part) / Decimal(whole) if whole else Decimal(0)


def _compare(facts: BillFacts, other: HistoryBill, params: Mapping, label: str) -> str | None:
    base = other.daily
    if base <= 0:
        return None
    change = _pct(facts.daily - base, base)
    high, low = to_decimal(params.get("high_percent", 100)), to_decimal(params.get("low_percent", 70))
    if change > high:
        return f"Usage {facts.daily:.3f}/day is {change:.1f}% above {label} ({base:.3f}/day; limit +{high}%)."
    if change < -low:
        return f"Usage {facts.daily:.3f}/day is {-change:.1f}% below {label} ({base:.3f}/day; limit -{low}%)."
    return None


def _same_month_last_year(facts: BillFacts) -> HistoryBill | None:
    last_day = facts.period_end - dt.timedelta(days=1)
    try:
        target = last_day.replace(year=last_day.year - 1)
    except ValueError:  # Feb 29
        target = last_day.replace(year=last_day.year - 1, day=28)
    return next((h for h in facts.history if h.period_start <= target < h.period_end), None)


def _is_estimated_bill(interval_count: int, estimated: int, percent: Decimal) -> bool:
    return interval_count > 0 and estimated > 0 and _pct(estimated, interval_count) >= percent


def _found(kind: Kind, message: str | None) -> Finding | None:
    return Finding(kind.value, message) if message else None


_HIGH_LOW = {"high_percent": _percent, "low_percent": _percent}


@prebill_rule(Kind.HIGH_LOW_LAST_BILL, params=_HIGH_LOW, defaults={"high_percent": 100, "low_percent": 70})
def high_low_last_bill(facts: BillFacts, params: Mapping) -> Finding | None:
    """Usage per day far above or below the account's last bill."""
    if not (facts.metered and facts.history):
        return None
    return _found(Kind.HIGH_LOW_LAST_BILL, _compare(facts, facts.history[-1], params, "the last bill"))


@prebill_rule(Kind.HIGH_LOW_LAST_YEAR, params=_HIGH_LOW, defaults={"high_percent": 150, "low_percent": 80})
def high_low_last_year(facts: BillFacts, params: Mapping) -> Finding | None:
    """Usage per day far above or below the bill that covered the same day a year earlier."""
    other = _same_month_last_year(facts) if facts.metered else None
    if other is None:
        return None
    return _found(Kind.HIGH_LOW_LAST_YEAR, _compare(facts, other, params, "the same month last year"))


@prebill_rule(Kind.ZERO_CONSUMPTION)
def zero_consumption(facts: BillFacts, params: Mapping) -> Finding | None:
    """A metered service that has interval data and used nothing."""
    if facts.metered and facts.interval_count and facts.consumption == 0:
        return _found(Kind.ZERO_CONSUMPTION, "Zero consumption on a metered service.")
    return None


@prebill_rule(Kind.TOO_MANY_ESTIMATED, params={"max_percent": _percent}, defaults={"max_percent": 25})
def too_many_estimated(facts: BillFacts, params: Mapping) -> Finding | None:
    """More than max_percent of the bill's intervals are estimated."""
    if not facts.interval_count:
        return None
    share, limit = _pct(facts.estimated_intervals, facts.interval_count), to_decimal(params.get("max_percent", 25))
    if share > limit:
        return _found(Kind.TOO_MANY_ESTIMATED, f"{share:.1f}% of intervals are estimated (limit {limit}%).")
    return None


@prebill_rule(Kind.CONSECUTIVE_ESTIMATED, params={"max_bills": _count, "estimated_bill_percent": _percent},
              defaults={"max_bills": 2, "estimated_bill_percent": 10})
def consecutive_estimated(facts: BillFacts, params: Mapping) -> Finding | None:
    """More than max_bills estimated bills in a row, this one included; a bill is estimated
    when at least estimated_bill_percent of its intervals are."""
    percent = to_decimal(params.get("estimated_bill_percent", 10))
    if not _is_estimated_bill(facts.interval_count, facts.estimated_intervals, percent):
        return None
    run = 1
    for h in reversed(facts.history):
        if not _is_estimated_bill(h.interval_count, h.estimated_intervals, percent):
            break
        run += 1
    limit = int(params.get("max_bills", 2))
    if run > limit:
        return _found(Kind.CONSECUTIVE_ESTIMATED, f"{run} estimated bills in a row (limit {limit}).")
    return None


@prebill_rule(Kind.NEGATIVE_AMOUNT)
def negative_amount(facts: BillFacts, params: Mapping) -> Finding | None:
    """A bill total below zero."""
    if facts.total < 0:
        return _found(Kind.NEGATIVE_AMOUNT, f"The bill total {facts.total} is negative.")
    return None


@prebill_rule(Kind.OVER_LIMIT, params={"limit": _number}, defaults={"limit": "10000.00"})
def over_limit(facts: BillFacts, params: Mapping) -> Finding | None:
    """A bill total above limit."""
    limit = to_decimal(params.get("limit", "10000.00"))
    if facts.total > limit:
        return _found(Kind.OVER_LIMIT, f"The bill total {facts.total} is over the limit of {limit}.")
    return None


# VEE estimates gaps before billing; what is still missing is data VEE could not fill. A bill
# with a whole day of it (3-5 % of a month) must be held, a few intervals (an unfilled hour or
# two, under 1 %) are billed as measured: holding those too put ~1 bill in 8 on the worklist.
MISSING_PERCENT_DEFAULT = 1


@prebill_rule(Kind.MISSING_DETERMINANTS, params={"max_missing_percent": _percent},
              defaults={"max_missing_percent": MISSING_PERCENT_DEFAULT})
def missing_determinants(facts: BillFacts, params: Mapping) -> Finding | None:
    """A metered segment with no interval data at all, or more than max_missing_percent of the
    bill's intervals missing."""
    limit = to_decimal(params.get("max_missing_percent", MISSING_PERCENT_DEFAULT))
    if facts.unmeasured_segments:
        return _found(Kind.MISSING_DETERMINANTS,
                      f"{facts.unmeasured_segments} metered segment(s) have no interval data.")
    if facts.interval_count and _pct(facts.missing_intervals, facts.interval_count) > limit:
        return _found(Kind.MISSING_DETERMINANTS, f"{facts.missing_intervals} of {facts.interval_count} intervals "
                                                 f"are missing (limit {limit}%).")
    return None


# What prebill_rules_seed creates: each registered rule with its starting params.
DEFAULT_RULES: dict[str, dict] = {kind: dict(rule.defaults) for kind, rule in REGISTRY.items()}


def evaluate(facts: BillFacts, rules: Mapping[str, Mapping]) -> list[Finding]:
    """The findings of the active `rules` ({kind: params}) on one bill, in rule order: each
    rule's registered function is called with its params. Raises PreBillConfigError for a kind
    no function is registered for."""
    out = [Finding(RATING_ERROR, message) for message in facts.rating_errors]
    for kind, params in rules.items():
        finding = prebill_rule_for(kind).evaluate(facts, params or {})
        if finding is not None:
            out.append(finding)
    return out


def prebill_rules_active() -> dict[str, dict]:
    """{kind: params} of the active rules, in a fixed order, each checked against its
    registered rule. Raises PreBillConfigError for an unknown kind or unusable params."""
    rules = {kind: params or {} for kind, params in
             PreBillRule.objects.filter(active=True).order_by("kind").values_list("kind", "params")}
    for kind, params in rules.items():
        prebill_rule_check(kind, params)
    return rules


def prebill_rules_seed() -> int:
    """Create the default rules that do not exist yet (existing ones keep staff's settings)."""
    created = 0
    for kind, params in DEFAULT_RULES.items():
        _, new = PreBillRule.objects.get_or_create(kind=kind, defaults={"params": params})
        created += new
    return created


# --- the worklist -----------------------------------------------------------------------

def _open(exception: BillException) -> BillException:
    locked = BillException.objects.select_for_update().select_related("bill").get(pk=exception.pk)
    if locked.status != BillException.Status.OPEN:
        raise PreBillError(f"Exception {locked.pk} is already {locked.get_status_display().lower()}.")
    return locked


def _resolve(exception: BillException, status: str, *, user, now: dt.datetime) -> None:
    exception.status = status
    exception.resolved_by = user if user is not None and user.is_authenticated else None
    exception.resolved_at = now
    exception.save(update_fields=["status", "resolved_by", "resolved_at"])


def _release_status(bill: Bill) -> str:
    # A run already approved issues approved bills; before that a released bill is a draft.
    run = bill.run
    if run is None or run.status in (BillRun.Status.APPROVING, BillRun.Status.APPROVED, BillRun.Status.ISSUING,
                                         BillRun.Status.ISSUED):
        return Bill.Status.APPROVED
    return Bill.Status.DRAFT


@transaction.atomic
def bill_exception_release(*, exception: BillException, user=None, now: dt.datetime) -> Bill:
    """Staff accept the bill as it is. When no exception of the bill is open any more, the bill
    goes on (draft, or approved if its run is approved or it is off-cycle).
    Raises PreBillError when the exception is not open."""
    exception = _open(exception)
    _resolve(exception, BillException.Status.RELEASED, user=user, now=now)
    bill = Bill.objects.select_for_update().get(pk=exception.bill_id)
    if bill.status == Bill.Status.HELD and not bill.exceptions.filter(status=BillException.Status.OPEN).exists():
        bill.status = _release_status(bill)
        bill.save(update_fields=["status"])
    return bill


@transaction.atomic
def bill_exception_rerate(*, exception: BillException, user=None, now: dt.datetime, as_of: dt.date) -> Bill:
    """Rate the held bill again with the data and rates as they are now: the held draft is
    cancelled (its segments stop being live) and a new draft for the same periods replaces
    it, going through the pre-bill edits again. Returns the new bill.
    Raises PreBillError when the exception is not open or the bill is not held."""
    from billing.services.runs.drafting import bill_redraft

    exception = _open(exception)
    bill = Bill.objects.select_for_update().get(pk=exception.bill_id)
    if bill.status != Bill.Status.HELD:
        raise PreBillError(f"Bill {bill.pk} is not held.")
    for other in bill.exceptions.filter(status=BillException.Status.OPEN):
        _resolve(other, BillException.Status.RERATED, user=user, now=now)
    return bill_redraft(bill=bill, kind=bill.kind, as_of=as_of, now=now, reason="Re-rated from the pre-bill worklist")


@transaction.atomic
def bill_exception_meter_check(*, exception: BillException, user=None, now: dt.datetime, today: dt.date,
                               due_days: int = 5) -> object:
    """Send the meter(s) of the held bill for a field check: one service order per service
    point of the bill (idempotent per exception). The bill stays held until released or
    re-rated. Returns the first order. Raises PreBillError when the exception is not open."""
    exception = _open(exception)
    bill = exception.bill
    orders = []
    for seg in bill.segments.filter(live=True).order_by("id"):
        orders.append(field_work_request(
            kind=FieldWorkKind.METER_CHECK, due_date=today + dt.timedelta(days=due_days),
            source=f"bill-exception:{exception.pk}:sp:{seg.service_point_id}", account_id=seg.account_id,
            service_point_id=seg.service_point_id, reason=f"Pre-bill exception on bill {bill.pk}: {exception.message}",
            user=user,
        ))
    _resolve(exception, BillException.Status.METER_CHECK, user=user, now=now)
    return orders[0] if orders else None


def facts_for(*, period_start, period_end, total, segments: Sequence[Mapping], rating_errors: Sequence[str],
              history: Sequence[HistoryBill]) -> BillFacts:
    """A bill's facts from its segments' determinant summaries (see runs.drafting)."""
    metered = [s for s in segments if s["metered"]]
    return BillFacts(
        period_start=period_start, period_end=period_end, total=total,
        consumption=sum((Decimal(s["consumption"]) for s in metered), Decimal(0)),
        metered=bool(metered),
        interval_count=sum(s["interval_count"] for s in metered),
        estimated_intervals=sum(s["estimated_intervals"] for s in metered),
        missing_intervals=sum(s["missing_intervals"] for s in metered),
        unmeasured_segments=sum(1 for s in segments if s["needs_meter"] and not s["metered"]),
        rating_errors=tuple(rating_errors),
        history=tuple(history),
    )
