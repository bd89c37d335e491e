"""Rate comparison: what an account's last 12 months would have cost on each rate its service
points may take. It saves nothing.

Eligibility, as a utility offers rates: a rate schedule of the same commodity and the same rate
class (the class of the agreement's current rate schedule, else the service point's) that has
a version in effect now (it is offered today). The agreement's current rate is always in the
comparison, offered or not.

Each local calendar month of the last 12 complete ones (clipped to the agreement's own days)
is one period, priced the way a bill run prices a segment (`billing.services.runs.drafting`
.rate_plans: mdm's determinant service over the service point's own interval data, with each
rate's TOU grids, then `billing.rating.rate_bill`). Every rate is priced at the version in
effect on the last compared day, stretched over the whole year (unbilled revenue does the same),
so the rates differ only by their rules and prices, not by a price change in the middle.
Each month is priced on its own: a demand ratchet or a net-metering credit from bills before
the year is not carried in. All the rates' months are one determinant request list, so the
interval data are read once."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, replace
from decimal import Decimal

from billing.models import RateSchedule, RateVersion
from billing.services.runs.drafting import UNMETERED_COMMODITIES, Timings, rate_plans, rate_versions_by_code
from billing.services.runs.planning import SegmentPlan
from cis.selectors import AgreementRow, agreements_for_bill_accounts
from core.money import money

MONTHS = 12
MAX_RATES = 8  # eligible rates priced per agreement, the current one included: bounded work per page
ZERO = Decimal("0")


@dataclass(frozen=True)
class LineTotal:
    """One kind of charge over the year: its description, quantity and unit (when the months'
    lines share one), and amount."""

    description: str
    quantity: Decimal | None
    unit: str
    amount: Decimal


@dataclass(frozen=True)
class MonthCost:
    period_start: dt.date
    period_end: dt.date  # exclusive
    consumption: Decimal
    amount: Decimal | None


@dataclass(frozen=True)
class RateOption:
    code: str
    name: str
    description: str
    current: bool
    months: tuple[MonthCost, ...]
    lines: tuple[LineTotal, ...]
    why: str = ""  # why it could not be priced (then total is None)

    @property
    def total(self) -> Decimal | None:
        if self.why or not self.months:
            return None
        return money(sum((m.amount or ZERO for m in self.months), ZERO))


@dataclass(frozen=True)
class RateComparison:
    """One agreement's comparison: its current rate and each eligible one, cheapest first."""

    agreement_id: int
    service_point_id: int
    commodity: str
    rate_class: str
    current_code: str
    period_start: dt.date
    period_end: dt.date  # exclusive
    options: tuple[RateOption, ...]

    @property
    def current(self) -> RateOption | None:
        return next((o for o in self.options if o.current), None)

    def difference(self, option: RateOption) -> Decimal | None:
        """What the option would have cost minus what the current rate would (negative: saves)."""
        current = self.current
        if current is None or current.total is None or option.total is None:
            return None
        return money(option.total - current.total)

    @property
    def consumption(self) -> Decimal:
        current = self.current
        return sum((m.consumption for m in current.months), ZERO) if current else ZERO


def comparison_months(*, as_of: dt.date, start: dt.date, end: dt.date | None) -> list[tuple[dt.date, dt.date]]:
    """The last MONTHS complete local calendar months before `as_of`, clipped to [start, end)."""
    last = as_of.replace(day=1)
    out = []
    for n in range(MONTHS, 0, -1):
        year, month = divmod(last.year * 12 + last.month - 1 - n, 12)
        m_start = dt.date(year, month + 1, 1)
        y2, m2 = divmod(year * 12 + month + 1, 12)
        m_end = dt.date(y2, m2 + 1, 1)
        a, b = max(m_start, start), min(m_end, end or m_end)
        if b > a:
            out.append((a, b))
    return out


def eligible_rate_schedules(*, commodity: str, rate_class: str, on: dt.date) -> list[RateSchedule]:
    """Rate schedules of the commodity and rate class with a version in effect on `on`."""
    in_effect = RateVersion.objects.filter(start_date__lte=on).exclude(end_date__lte=on)
    return list(RateSchedule.objects.filter(commodity=commodity, rate_class=rate_class,
                                            pk__in=in_effect.values("schedule_id")).order_by("code")[:MAX_RATES])


def _stretched(versions, day: dt.date):
    current = next((v for v in versions if v.covers(day)), None)
    return [replace(current, effective_start=dt.date.min, effective_end=None)] if current else []


def _line_totals(lines) -> tuple[LineTotal, ...]:
    sums: dict[str, list] = {}
    for line in lines:
        row = sums.setdefault(line.description, [ZERO, line.unit, ZERO, True])
        row[2] += line.amount
        if line.quantity is None or line.unit != row[1]:
            row[3] = False
        else:
            row[0] += line.quantity
    return tuple(LineTotal(d, q if same else None, unit if same else "", money(a))
                 for d, (q, unit, a, same) in sums.items())


def rate_comparison(*, account_id: int, as_of: dt.date) -> list[RateComparison]:
    """Each metered agreement of the account in service during the last MONTHS complete months
    before `as_of`, priced on its current rate and every eligible one. Nothing is saved."""
    last_day = as_of.replace(day=1) - dt.timedelta(days=1)
    out = []
    for agreement in agreements_for_bill_accounts(bill_account_ids=[account_id], before=as_of):
        if agreement.account_id != account_id or agreement.commodity in UNMETERED_COMMODITIES:
            continue
        months = comparison_months(as_of=as_of, start=agreement.start_date, end=agreement.end_date)
        if months:
            out.append(_compare(agreement, months, last_day=last_day, as_of=as_of))
    return out


def _compare(agreement: AgreementRow, months: list[tuple[dt.date, dt.date]], *, last_day: dt.date,
             as_of: dt.date) -> RateComparison:
    current = RateSchedule.objects.filter(code=agreement.rate_code).first()
    rate_class = (current.rate_class if current is not None else "") or agreement.rate_class
    schedules = eligible_rate_schedules(commodity=agreement.commodity, rate_class=rate_class, on=last_day) \
        if rate_class else []
    if current is not None and all(s.code != current.code for s in schedules):
        schedules = [current, *schedules][:MAX_RATES]
    by_code = {s.code: s for s in schedules}
    versions = {code: _stretched(vs, last_day) for code, vs in rate_versions_by_code(by_code).items()}
    # One plan per (rate, month); each under its own (negative, never real) agreement id, so the
    # determinant requests do not share keys and no real bill's history is read for them.
    plans, owner = [], {}
    for i, code in enumerate(sorted(by_code)):
        for j, (start, end) in enumerate(months):
            fake = -(i * len(months) + j + 1)
            plans.append(SegmentPlan(replace(agreement, id=fake, rate_code=code), start, end))
            owner[fake] = code
    results: dict[str, list] = defaultdict(list)
    for rated in rate_plans(plans, versions=versions, as_of=as_of, timings=Timings()) if plans else []:
        results[owner[rated.plan.agreement.id]].append(rated)
    options = []
    for code, schedule in by_code.items():
        rated_months = sorted(results.get(code, []), key=lambda r: r.plan.start)
        why = next((r.error or "No rate in effect." for r in rated_months if r.result is None), "")
        if not versions.get(code):
            why = "No version of this rate is in effect."
        options.append(RateOption(
            code=code, name=schedule.name, description=schedule.description, current=code == agreement.rate_code,
            months=tuple(MonthCost(r.plan.start, r.plan.end, Decimal(r.summary["consumption"]),
                                   None if r.result is None else money(r.result.total)) for r in rated_months),
            lines=_line_totals(line for r in rated_months if r.result is not None for line in r.result.lines),
            why=why))
    options.sort(key=lambda o: (o.total is None, o.total if o.total is not None else ZERO, o.code))
    return RateComparison(agreement_id=agreement.id, service_point_id=agreement.service_point_id,
                          commodity=agreement.commodity, rate_class=rate_class, current_code=agreement.rate_code,
                          period_start=months[0][0], period_end=months[-1][1], options=tuple(options))
