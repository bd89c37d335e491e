"""rate_bill: price one bill period under the rate versions in effect. Pure: no ORM, no clock.

Order of work for each part of the period (see periods.py for parts and proration):
1. the part's determinants (given per part, derived from intervals, or prorated by days);
2. every component's `adjust` (net metering nets received energy);
3. lines, component by component, in phase order (charges, percentage charges/discounts,
   minimums, credits, taxes) and within a phase in the version's component order;
each line's amount is rounded once, half-up, to cents; the total is the sum of the lines."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from core.money import money, rate

from .calendar import TouSchedule, determinants_from_intervals, schedules_from_components
from .components import strategy_for
from .components.base import PHASE_NONE, ComponentKind, PartContext, is_seasonal, resolve_season
from .periods import Part, split_period
from .types import BillInput, BillLine, CarriedCredit, Component, RateVersion, RatingDeterminants, RatingResult

ZERO = Decimal("0")


@dataclass
class _Prepared:
    """A rate version's checked strategies and, per month, its season-resolved params.

    A bill run rates thousands of bills under the same few versions; building and checking the
    strategies (12 months of a 12 x 24 TOU grid each) and walking the params for seasons on
    every call was ~40 % of rating time. The version is frozen, so all of this is fixed."""

    version: RateVersion  # kept so its id() cannot be reused by another object while cached
    strategies: list[tuple[int, Component, ComponentKind]]
    in_line_order: list[tuple[int, Component, ComponentKind]]
    seasonal: bool
    schedules: list[TouSchedule]  # the version's TOU schedules
    by_month: dict[int, list[Mapping[str, Any]]] = field(default_factory=dict)
    # What strategies read out of those params (tiers, prices), kept by PartContext.parsed.
    memo: dict[tuple[int, Any], tuple[Any, Any]] = field(default_factory=dict)
    tags: dict[int, frozenset[str]] = field(default_factory=dict)  # each component's line tags

    def params(self, month: int) -> list[Mapping[str, Any]]:
        """Season-resolved params of each component (version order) for `month`. Shared between
        calls: strategies read params and never change them."""
        out = self.by_month.get(month)
        if out is None:
            out = [resolve_season(dict(c.params), month) for _, c, _ in self.strategies]
            self.by_month[month] = out
        return out


# Keyed by id(version) rather than the version itself: its params are mappings, so it does
# not hash. A strategy that fails its check raises and is not cached, so it fails every call.
_PREPARED: dict[int, _Prepared] = {}
_PREPARED_MAX = 256


def _prepared(version: RateVersion) -> _Prepared:
    hit = _PREPARED.get(id(version))
    if hit is not None and hit.version is version:
        return hit
    strategies = [(i, c, strategy_for(c)) for i, c in enumerate(version.components)]
    prepared = _Prepared(
        version=version,
        strategies=strategies,
        in_line_order=sorted(strategies, key=lambda item: (item[2].phase, item[0])),
        seasonal=any(is_seasonal(dict(c.params)) for c in version.components),
        schedules=schedules_from_components(version.components),
        tags={i: c.tags | {c.kind} for i, c in enumerate(version.components)},
    )
    if len(_PREPARED) >= _PREPARED_MAX:
        _PREPARED.clear()  # versions are reloaded per chunk; old ones are not asked for again
    _PREPARED[id(version)] = prepared
    return prepared


def _prorated(det: RatingDeterminants, share: Decimal) -> RatingDeterminants:
    # Energy and volume divide by days; a maximum demand does not (it is the part's maximum
    # too, as far as anyone knows); monthly charges on it are prorated by the part's factor.
    return RatingDeterminants(
        consumption=det.consumption * share,
        consumption_by_period={k: v * share for k, v in det.consumption_by_period.items()},
        max_demand_kw=det.max_demand_kw,
        max_demand_kw_by_period=det.max_demand_kw_by_period,
        received=det.received * share,
        intervals=det.intervals,
        estimated_count=det.estimated_count,
        completeness=det.completeness,
    )


def part_determinants(bill_input: BillInput, part: Part, *, single: bool) -> RatingDeterminants:
    det = bill_input.determinants
    schedules = _prepared(part.version).schedules
    given = bill_input.part_determinants.get(part.start)
    if given is not None:
        base = given
    elif single:
        base = det
    elif det.intervals is not None:
        base = determinants_from_intervals(
            det.intervals, start=part.start, end=part.end, time_zone=bill_input.time_zone,
            schedules=schedules, holidays=bill_input.holidays, received=det.received * part.share,
        )
    else:
        base = _prorated(det, part.share)
    missing = (
        not base.consumption
        or not base.max_demand_kw
        or (schedules and (not base.consumption_by_period or not base.max_demand_kw_by_period))
    )
    if base.intervals is not None and missing:
        # Fill only what the caller did not give: MDM's demand may use a rolling window,
        # which the raw interval maximum would not reproduce.
        derived = determinants_from_intervals(
            base.intervals, start=part.start, end=part.end, time_zone=bill_input.time_zone,
            schedules=schedules, holidays=bill_input.holidays,
        )
        base = RatingDeterminants(
            consumption=base.consumption or derived.consumption,
            consumption_by_period=base.consumption_by_period or derived.consumption_by_period,
            max_demand_kw=base.max_demand_kw or derived.max_demand_kw,
            max_demand_kw_by_period=base.max_demand_kw_by_period or derived.max_demand_kw_by_period,
            received=base.received,
            intervals=base.intervals,
            estimated_count=base.estimated_count,
            completeness=base.completeness,
        )
    return base


def rate_bill(bill_input: BillInput, rate_versions: Sequence[RateVersion]) -> RatingResult:
    """Rate `bill_input` under `rate_versions` (those of one rate schedule; any that cover part
    of the period are used, split by days).

    Raises periods.NoRateInEffect when a day has no version, components.ComponentConfigError
    for bad component params, components.RatingError when the input lacks what a component
    needs."""
    prepared = {v.code: _prepared(v) for v in rate_versions}
    seasonal = {code for code, p in prepared.items() if p.seasonal}
    parts = split_period(bill_input, rate_versions, seasonal=seasonal)
    credit = {"kwh": bill_input.carried_credit.kwh, "dollars": bill_input.carried_credit.dollars}
    lines: list[BillLine] = []
    for part in parts:
        version = prepared[part.version.code]
        ctx = PartContext(
            bill=bill_input, start=part.start, end=part.end, share=part.share, factor=part.factor,
            determinants=part_determinants(bill_input, part, single=len(parts) == 1),
            lines=[], credit=credit, earlier_lines=list(lines), memo=version.memo,
        )
        params_of = version.params(part.month)
        for i, _component, strategy in version.strategies:
            ctx.determinants = strategy.adjust(ctx, params_of[i])
        for i, component, strategy in version.in_line_order:
            if strategy.phase == PHASE_NONE:
                continue
            params = params_of[i]
            tags = version.tags[i]
            for draft in strategy.lines(ctx, params):
                ctx.lines.append(
                    BillLine(
                        part_start=part.start,
                        part_end=part.end,
                        component_code=component.code,
                        component_kind=component.kind,
                        description=draft.description,
                        quantity=None if draft.quantity is None else rate(draft.quantity),
                        unit=draft.unit,
                        price=draft.price,
                        amount=money(draft.raw_amount),
                        tier=draft.tier,
                        tou_period=draft.tou_period,
                        proration=rate(draft.proration),
                        tags=tags,
                        details=dict(draft.details),
                    )
                )
        lines.extend(ctx.lines)
    return RatingResult(
        period_start=bill_input.period_start,
        period_end=bill_input.period_end,
        lines=tuple(lines),
        total=sum((ln.amount for ln in lines), ZERO),
        carried_credit=CarriedCredit(kwh=credit["kwh"], dollars=credit["dollars"]),
        versions=tuple(dict.fromkeys(p.version.code for p in parts)),
    )
