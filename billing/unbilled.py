"""Unbilled revenue as of a date: what customers have used since each agreement was last
billed, up to `as_of`, priced at the rates in effect on `as_of`, summed by rate class.

It uses the same determinant service and rating engine as bill runs (the days since the last
bill are a partial period, so monthly charges are prorated the same way); nothing is saved."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, replace
from decimal import Decimal

from billing.models import RateSchedule
from billing.services.runs.drafting import Timings, billed_to_with_opening, rate_plans, rate_versions_by_code
from billing.services.runs.planning import plan_segment
from cis.selectors import agreements_in_service_between

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
