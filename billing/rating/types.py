"""The data the rating engine reads and writes. Everything is frozen and ORM-free: a caller loads
a `BillInput` once (determinants from MDM, history, fixtures, ...) and passes it, with the rate
versions in effect, to `billing.rating.rate_bill`.

Quantities and money are `Decimal`. Periods are half-open `[start, end)` local dates."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any, TypeVar

ZERO = Decimal("0")

K = TypeVar("K")
V = TypeVar("V")


def _frozen_mapping(value: Mapping[K, V] | None) -> Mapping[K, V]:
    return MappingProxyType(dict(value or {}))


@dataclass(frozen=True)
class Component:
    """One priced rule of a rate version. `kind` selects the strategy in
    `billing.rating.components.REGISTRY`; `params` are that strategy's parameters (JSON-shaped:
    numbers may be str/int/float, they are read as Decimal). Any parameter value may be made
    seasonal as `{"by_month": {"1": v, ..., "12": v}}`. `tags` label the lines the component
    makes, so percentage charges, taxes and minimums can name the subtotals they apply to."""

    kind: str
    code: str
    params: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    tags: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", _frozen_mapping(self.params))
        object.__setattr__(self, "tags", frozenset(self.tags))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Component:
        """From the JSON shape stored in `billing.RateVersion.components`."""
        return cls(
            kind=data["kind"],
            code=data["code"],
            params=data.get("params") or {},
            description=data.get("description", ""),
            tags=frozenset(data.get("tags") or ()),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "code": self.code, "params": _plain(self.params)}
        if self.description:
            out["description"] = self.description
        if self.tags:
            out["tags"] = sorted(self.tags)
        return out


def _plain(value: Any) -> Any:
    """Params back to JSON-serialisable data (Decimal -> str, mappings -> dict)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    return value


@dataclass(frozen=True)
class RateVersion:
    """The components of a rate in effect over `[effective_start, effective_end)` (open end: None)."""

    code: str
    effective_start: dt.date
    effective_end: dt.date | None
    components: tuple[Component, ...]
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "components", tuple(self.components))
        if self.effective_end is not None and self.effective_end <= self.effective_start:
            raise ValueError(f"rate version {self.code}: end {self.effective_end} is not after start {self.effective_start}")
        codes = [c.code for c in self.components]
        if len(codes) != len(set(codes)):
            raise ValueError(f"rate version {self.code}: component codes repeat: {codes}")

    def covers(self, day: dt.date) -> bool:
        return self.effective_start <= day and (self.effective_end is None or day < self.effective_end)

    def to_components_json(self) -> list[dict[str, Any]]:
        return [c.to_dict() for c in self.components]


@dataclass(frozen=True)
class IntervalSeries:
    """Equal-length intervals from `start` (an aware datetime; the interval is named by its
    start instant). Values are in the series' unit per interval (kWh for consumption,
    $/kWh for prices)."""

    start: dt.datetime
    minutes: int
    values: tuple[Decimal, ...]

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError("IntervalSeries.start must be timezone-aware")
        if self.minutes <= 0 or 1440 % self.minutes:
            raise ValueError(f"interval length {self.minutes} min does not divide a day")
        object.__setattr__(self, "values", tuple(self.values))


@dataclass(frozen=True)
class RatingDeterminants:
    """What rating needs to know about usage in a period. Deliberately small: MDM's own
    `Determinants` maps onto it field by field (an adapter is a constructor call).

    - consumption: delivered energy (kWh) or volume (m3 for water/gas) in the period.
    - consumption_by_period: the same split by TOU period name (the names used by the rate
      version's `tou_schedule` components). Empty: derived from `intervals` when needed.
    - max_demand_kw: highest demand in the period; max_demand_kw_by_period per TOU period.
    - received: energy received from the customer (net metering, generation contracts).
    - intervals: the consumption series (kWh per interval) for interval pricing, or to derive
      per-period and per-part determinants exactly.
    - estimated_count / completeness: carried for pre-bill edits; rating does not use them.
    """

    consumption: Decimal = ZERO
    consumption_by_period: Mapping[str, Decimal] = field(default_factory=dict)
    max_demand_kw: Decimal = ZERO
    max_demand_kw_by_period: Mapping[str, Decimal] = field(default_factory=dict)
    received: Decimal = ZERO
    intervals: IntervalSeries | None = None
    estimated_count: int = 0
    completeness: Decimal = Decimal("1")

    def __post_init__(self) -> None:
        object.__setattr__(self, "consumption_by_period", _frozen_mapping(self.consumption_by_period))
        object.__setattr__(self, "max_demand_kw_by_period", _frozen_mapping(self.max_demand_kw_by_period))


@dataclass(frozen=True)
class MonthlyDemand:
    """The billed maximum demand of an earlier month (for ratchets)."""

    month: dt.date  # first day of the month
    max_kw: Decimal


@dataclass(frozen=True)
class CarriedCredit:
    """Net-metering credit carried between bills: kWh, dollars, or both (per the rate's setting)."""

    kwh: Decimal = ZERO
    dollars: Decimal = ZERO


@dataclass(frozen=True)
class Fixture:
    """Unmetered equipment on a service (streetlights): how many of one type and its wattage."""

    code: str
    count: int
    watts: Decimal


@dataclass(frozen=True)
class ProrationPolicy:
    """A bill period of `min_standard_days`..`max_standard_days` days (every whole calendar
    month by default) counts as a standard month: monthly charges and tier limits apply as
    they are. Any other period (a move-in, a move-out, a 35-day cycle) scales them by
    days / standard_days."""

    standard_days: int = 30
    min_standard_days: int = 28
    max_standard_days: int = 31


@dataclass(frozen=True)
class BillInput:
    """Everything one bill needs, loaded before rating.

    `part_determinants` optionally gives the determinants of each part of a period split by a
    rate change (keyed by the part's first day); otherwise parts get the period's determinants
    prorated by days (or exactly from `determinants.intervals` when present).
    `demand_history` feeds ratchets; `carried_credit` is the net-metering credit brought forward;
    `meter_size` selects water/gas fixed charges; `fixtures` feed unmetered services;
    `price_series` feeds interval pricing by name; `holidays` are local dates treated as weekend
    days by TOU schedules; `time_zone` is the utility's IANA zone for interval timestamps.
    `closes_annual_period` / `annual_charges_to_date` let an annual minimum be settled."""

    period_start: dt.date
    period_end: dt.date
    determinants: RatingDeterminants
    part_determinants: Mapping[dt.date, RatingDeterminants] = field(default_factory=dict)
    demand_history: tuple[MonthlyDemand, ...] = ()
    carried_credit: CarriedCredit = CarriedCredit()
    meter_size: str | None = None
    fixtures: tuple[Fixture, ...] = ()
    price_series: Mapping[str, IntervalSeries] = field(default_factory=dict)
    holidays: frozenset[dt.date] = frozenset()
    time_zone: str = "UTC"
    proration: ProrationPolicy = ProrationPolicy()
    closes_annual_period: bool = False
    annual_charges_to_date: Decimal = ZERO

    def __post_init__(self) -> None:
        if self.period_end <= self.period_start:
            raise ValueError(f"bill period [{self.period_start}, {self.period_end}) is empty")
        object.__setattr__(self, "part_determinants", _frozen_mapping(self.part_determinants))
        object.__setattr__(self, "price_series", _frozen_mapping(self.price_series))
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "demand_history", tuple(self.demand_history))
        object.__setattr__(self, "fixtures", tuple(self.fixtures))

    @property
    def days(self) -> int:
        return (self.period_end - self.period_start).days


@dataclass(frozen=True)
class BillLine:
    """One line of a rated bill and the rule that made it. `amount` is rounded once, half-up,
    to cents; quantity and price keep 6+ places. `proration` is the factor the component
    applied (1 for a standard whole period)."""

    part_start: dt.date
    part_end: dt.date
    component_code: str
    component_kind: str
    description: str
    quantity: Decimal | None
    unit: str
    price: Decimal | None
    amount: Decimal
    tier: int | None = None
    tou_period: str | None = None
    proration: Decimal = Decimal("1")
    tags: frozenset[str] = frozenset()
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RatingResult:
    period_start: dt.date
    period_end: dt.date
    lines: tuple[BillLine, ...]
    total: Decimal
    carried_credit: CarriedCredit
    versions: tuple[str, ...]

    def subtotal(self, *tags: str) -> Decimal:
        """Sum of the lines carrying any of `tags` (all lines when none given)."""
        return sum((ln.amount for ln in self.lines if not tags or ln.tags & set(tags)), ZERO)

    def lines_of(self, component_code: str) -> tuple[BillLine, ...]:
        return tuple(ln for ln in self.lines if ln.component_code == component_code)
