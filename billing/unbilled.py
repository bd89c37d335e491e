"""Unbilled revenue as of a date: what customers have used since each agreement was last
billed, up to `as_of`, priced at the rates in effect on `as_of`, summed by rate class.

It uses the same determinant service and rating engine as bill runs (the days since the last
bill are a partial period, so monthly charges are prorated the same way); nothing is saved."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, replace
from decimal import Decimal

from billing.models import Bill, BillWindow, RateSchedule
from billing.services.runs.drafting import Timings, billed_to_with_opening, rate_plans, rate_versions_by_code
from billing.services.runs.planning import plan_segment
from cis.selectors import agreements_for_bill_accounts, agreements_in_service_between
from core.money import money

LOOKBACK_DAYS = 400  # agreements ended longer ago than this were final-billed long since


@dataclass(frozen=True)
class UnbilledRow:
    rate_class: str
    agreements: int
    consumption: Decimal
    amount: Decimal
    not_priced: int  # agreements with no rate in effect on as_of (shown, not guessed)


def _current(versions, as_of: dt.date):
    """The version in effect on the last unbilled day, stretched over all time: unbilled usage
    is priced at today's rates even when part of it fell under an older version."""
    day = as_of - dt.timedelta(days=1)
    current = next((v for v in versions if v.covers(day)), None)
    return [replace(current, effective_start=dt.date.min, effective_end=None)] if current else []


def unbilled_revenue(*, as_of: dt.date, chunk_size: int = 2000) -> list[UnbilledRow]:
    """Rows by rate class (the rate schedule's class, else the service point's), sorted."""
    agreements = agreements_in_service_between(start=as_of - dt.timedelta(days=LOOKBACK_DAYS), end=as_of)
    versions = {code: _current(vs, as_of) for code, vs in rate_versions_by_code({a.rate_code for a in agreements}).items()}
    classes = dict(RateSchedule.objects.exclude(rate_class="").values_list("code", "rate_class"))
    totals: dict[str, list] = defaultdict(lambda: [0, Decimal(0), Decimal(0), 0])
    timings = Timings()
    for i in range(0, len(agreements), chunk_size):
        part = agreements[i:i + chunk_size]
        ends = billed_to_with_opening(part)
        plans = [p for p in (plan_segment(a, billed_to=ends.get(a.id), period_end=as_of) for a in part) if p]
        for rated in rate_plans(plans, versions=versions, as_of=as_of, timings=timings):
            a = rated.plan.agreement
            row = totals[classes.get(a.rate_code) or a.rate_class or "unclassified"]
            row[0] += 1
            row[1] += Decimal(rated.summary["consumption"])
            if rated.result is None:
                row[3] += 1
            else:
                row[2] += rated.result.total
    return [UnbilledRow(k, v[0], v[1], v[2], v[3]) for k, v in sorted(totals.items())]


# ---- one account: charges to date and the projected bill (the portal's home) ----------------

DEFAULT_PERIOD_DAYS = 30


@dataclass(frozen=True)
class ChargesToDatePart:
    """One agreement's unbilled days: what was used and what it costs at today's rates
    (`amount` None, with `why`, when it cannot be priced)."""

    agreement_id: int
    service_point_id: int
    commodity: str
    start: dt.date
    end: dt.date  # exclusive
    consumption: Decimal
    amount: Decimal | None
    why: str = ""


@dataclass(frozen=True)
class ChargesToDate:
    """The account's charges since its last bill, up to (not including) `as_of`, priced with
    the rating code bills use; and the bill they project to at `projected_end`, the end of
    the bill cycle's next window (else the last bill's length, else 30 days): the amount to
    date scaled by days, which prorated fixed charges follow exactly and usage charges as the
    usage so far goes on."""

    as_of: dt.date
    parts: list[ChargesToDatePart]
    projected_end: dt.date | None

    @property
    def start(self) -> dt.date | None:
        return min((p.start for p in self.parts), default=None)

    @property
    def days(self) -> int:
        return (self.as_of - self.start).days if self.start else 0

    @property
    def amount(self) -> Decimal:
        return money(sum((p.amount for p in self.parts if p.amount is not None), Decimal(0)))

    @property
    def priced(self) -> bool:
        return bool(self.parts) and all(p.amount is not None for p in self.parts)

    @property
    def projected_amount(self) -> Decimal | None:
        if not self.priced or self.projected_end is None or self.days <= 0 or self.start is None:
            return None
        return money(self.amount * Decimal((self.projected_end - self.start).days) / Decimal(self.days))


def _projected_end(*, account_id: int, start: dt.date, as_of: dt.date, bill_cycle_code: str) -> dt.date:
    window = (BillWindow.objects.filter(cycle__code=bill_cycle_code, period_end_date__gt=as_of)
              .order_by("period_end_date").first()) if bill_cycle_code else None
    if window is not None:
        return window.period_end_date
    last = (Bill.objects.filter(account_id=account_id, status=Bill.Status.ISSUED)
            .order_by("-period_end", "-id").values_list("period_start", "period_end").first())
    days = (last[1] - last[0]).days if last and last[1] > last[0] else DEFAULT_PERIOD_DAYS
    end = start + dt.timedelta(days=days)
    return end if end > as_of else as_of + dt.timedelta(days=1)


def account_charges_to_date(*, account_id: int, as_of: dt.date, bill_cycle_code: str = "") -> ChargesToDate:
    """What the account has used since it was last billed, up to `as_of` (exclusive: the days
    whose reads are in), priced at the rates in effect on its last day with the determinant
    service and rating engine of bill runs (the days are a partial period, so monthly charges
    are prorated as on a bill). Nothing is saved. `bill_cycle_code` (the account's) gives the
    projected bill's end."""
    agreements = agreements_for_bill_accounts(bill_account_ids=[account_id], before=as_of)
    ends = billed_to_with_opening(agreements)
    plans = [p for p in (plan_segment(a, billed_to=ends.get(a.id), period_end=as_of) for a in agreements) if p]
    if not plans:
        return ChargesToDate(as_of, [], None)
    versions = {code: _current(vs, as_of)
                for code, vs in rate_versions_by_code({p.agreement.rate_code for p in plans}).items()}
    parts = []
    for rated in rate_plans(plans, versions=versions, as_of=as_of, timings=Timings()):
        a = rated.plan.agreement
        parts.append(ChargesToDatePart(
            agreement_id=a.id, service_point_id=a.service_point_id, commodity=a.commodity, start=rated.plan.start,
            end=rated.plan.end, consumption=Decimal(rated.summary["consumption"]),
            amount=None if rated.result is None else money(rated.result.total),
            why=rated.error or ("" if rated.result is not None else "No rate in effect.")))
    start = min(p.start for p in parts)
    return ChargesToDate(as_of, parts, _projected_end(account_id=account_id, start=start, as_of=as_of,
                                                      bill_cycle_code=bill_cycle_code))
