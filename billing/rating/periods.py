"""Splitting a bill period into parts and the proration factors of each part.

A part is a run of days with one rate version (and, for a seasonal version, one calendar
month). Two numbers describe it:

- share = part days / bill days: how the bill's additive determinants (kWh, m3, received)
  are divided between parts when no per-part determinants are known;
- factor = part days / bill days for a standard bill (so parts of a standard month add up to
  one month), or part days / standard days otherwise: what monthly charges and tier limits
  are multiplied by.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from .types import BillInput, RateVersion


class NoRateInEffect(Exception):
    """Some day of the bill period has no rate version in effect."""


@dataclass(frozen=True)
class Part:
    start: dt.date
    end: dt.date
    version: RateVersion
    share: Decimal
    factor: Decimal

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def month(self) -> int:
        return self.start.month


def is_standard(days: int, bill_input: BillInput) -> bool:
    policy = bill_input.proration
    return policy.min_standard_days <= days <= policy.max_standard_days


def _month_boundaries(start: dt.date, end: dt.date) -> list[dt.date]:
    out = []
    day = dt.date(start.year + start.month // 12, start.month % 12 + 1, 1)
    while day < end:
        out.append(day)
        day = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return out


def split_period(bill_input: BillInput, versions: Sequence[RateVersion], *, seasonal: set[str]) -> list[Part]:
    """The parts of the bill period, in date order. `seasonal` names the versions whose values
    change by month: their parts are also cut at month starts.

    Raises NoRateInEffect when a day of the period is not covered by any version."""
    start, end = bill_input.period_start, bill_input.period_end
    ordered = sorted(versions, key=lambda v: v.effective_start)
    pieces: list[tuple[dt.date, dt.date, RateVersion]] = []
    day = start
    while day < end:
        version = next((v for v in ordered if v.covers(day)), None)
        if version is None:
            raise NoRateInEffect(f"no rate version in effect on {day}")
        piece_end = end if version.effective_end is None else min(end, version.effective_end)
        cuts = _month_boundaries(day, piece_end) if version.code in seasonal else []
        for cut in [*cuts, piece_end]:
            pieces.append((day, cut, version))
            day = cut
    bill_days = bill_input.days
    denominator = bill_days if is_standard(bill_days, bill_input) else bill_input.proration.standard_days
    return [
        Part(
            start=s,
            end=e,
            version=v,
            share=Decimal((e - s).days) / Decimal(bill_days),
            factor=Decimal((e - s).days) / Decimal(denominator),
        )
        for s, e, v in pieces
    ]
