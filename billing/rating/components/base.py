"""What every component strategy shares: the context it is given, the draft lines it returns,
parameter reading (Decimal, seasonal values) and tier arithmetic."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

from core.money import to_decimal

from ..types import BillInput, BillLine, Component, RatingDeterminants
# Re-exported for the strategies (explicit "as" re-exports, as mypy's strict mode wants).
from .schema import PARAM_TYPES as PARAM_TYPES
from .schema import ComponentConfigError as ComponentConfigError
from .schema import ParamSpec as ParamSpec
from .schema import is_seasonal as is_seasonal
from .schema import params_errors as params_errors
from .schema import raise_for_errors as raise_for_errors
from .schema import resolve_season as resolve_season

T = TypeVar("T")
ZERO = Decimal("0")
ONE = Decimal("1")

# A component's params (JSON-shaped; see `Component`), after season resolution.
Params = Mapping[str, Any]

# The order components run in within a part. Later phases see earlier lines (subtotals).
PHASE_CHARGE = 10       # usage and fixed charges
PHASE_ADJUSTMENT = 20   # percentage charges and discounts on subtotals
PHASE_MINIMUM = 30      # minimum charges top the bill up
PHASE_CREDIT = 40       # net-metering dollar credits
PHASE_TAX = 50          # taxes on the final subtotals
PHASE_NONE = 99         # definitions that make no lines (TOU schedules)


class RatingError(Exception):
    """The bill input lacks something a component needs (a meter size, a price interval)."""


@dataclass(frozen=True)
class LineDraft:
    """A line before the engine rounds its amount and stamps the rule that made it."""

    description: str
    quantity: Decimal | None
    unit: str
    price: Decimal | None
    raw_amount: Decimal
    tier: int | None = None
    tou_period: str | None = None
    proration: Decimal = ONE
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class PartContext:
    """What a component sees while rating one part of a bill."""

    bill: BillInput
    start: dt.date
    end: dt.date
    share: Decimal
    factor: Decimal
    determinants: RatingDeterminants
    lines: list[BillLine]           # lines already made in this part (earlier components)
    credit: dict[str, Decimal]      # net-metering credit carried through the parts: kwh, dollars
    earlier_lines: list[BillLine] = field(default_factory=list)  # lines of earlier parts of the bill
    notes: dict[str, Any] = field(default_factory=dict)          # what adjust() found, by component code
    # `parsed` results by id of what was parsed. The engine passes its rate version's memo:
    # every bill of a run reads the same few versions, whose season-resolved params it builds
    # once and never changes, so tiers and prices are read from them once, not per bill.
    memo: dict[tuple[int, Any], tuple[Any, Any]] = field(default_factory=dict)

    def parsed(self, raw: Any, parse: Callable[[Any], T]) -> T:
        """`parse(raw)`, remembered for this `raw` object (params are read, never changed)."""
        key = (id(raw), parse)
        hit = self.memo.get(key)
        if hit is None or hit[0] is not raw:
            hit = self.memo[key] = (raw, parse(raw))
        return hit[1]

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def subtotal(self, tags: Sequence[str] | None, *, exclude_kinds: Sequence[str] = ()) -> Decimal:
        """Sum of earlier lines carrying any of `tags` (all lines if tags is empty/None)."""
        return sum(
            (
                ln.amount
                for ln in self.lines
                if ln.component_kind not in exclude_kinds and (not tags or ln.tags & set(tags))
            ),
            ZERO,
        )


def dec(value: Any, *, name: str = "value") -> Decimal:
    try:
        return to_decimal(value)
    except Exception as exc:  # noqa: BLE001 - any bad literal is a config error
        raise ComponentConfigError(f"{name}: {value!r} is not a number") from exc


@dataclass(frozen=True)
class Tier:
    """A block: usage above the previous tier's limit up to `limit` (None: no limit)."""

    limit: Decimal | None
    price: Decimal


def read_tiers(raw: Any, *, name: str = "tiers") -> tuple[Tier, ...]:
    """[{"limit": 500, "price": "0.10"}, {"price": "0.12"}]: limits ascending, last open."""
    if not isinstance(raw, (list, tuple)) or not raw:
        raise ComponentConfigError(f"{name}: expected a non-empty list of tiers")
    tiers = []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping):
            raise ComponentConfigError(f"{name}[{i}]: expected an object with price (and limit)")
        if "price" not in item:
            raise ComponentConfigError(f"{name}[{i}].price: missing (every tier needs a price)")
        limit = item.get("limit")
        tiers.append(Tier(limit=None if limit in (None, "") else dec(limit, name=f"{name}[{i}].limit"),
                          price=dec(item["price"], name=f"{name}[{i}].price")))
    limits = [t.limit for t in tiers]
    if any(lim is None for lim in limits[:-1]):
        raise ComponentConfigError(f"{name}: only the last tier may be open-ended")
    bounded = [lim for lim in limits if lim is not None]
    if bounded != sorted(bounded) or len(set(bounded)) != len(bounded):
        raise ComponentConfigError(f"{name}: tier limits must increase")
    return tuple(tiers)


def split_into_tiers(quantity: Decimal, limits: Sequence[Decimal | None]) -> list[Decimal]:
    """How much of `quantity` falls in each tier given the (already scaled) upper limits.
    Usage past the last limit, if the last tier is bounded, stays in the last tier."""
    out = []
    lower = ZERO
    remaining = max(quantity, ZERO)
    for i, limit in enumerate(limits):
        last = i == len(limits) - 1
        if limit is None or last:
            out.append(remaining)
            remaining = ZERO
        else:
            width = max(limit - lower, ZERO)
            used = min(remaining, width)
            out.append(used)
            remaining -= used
            lower = limit
    return out


class ComponentKind:
    """A strategy. Subclasses set `kind`, `label`, `phase` and `params_schema` (the one
    statement of their params: `__init__` validates against it, the hub's editor and the docs
    are made from it) and make draft lines in `lines()` from already season-resolved params.
    `params_one_of`: exactly one of these params must be given. `check()` is for any rule the
    schema cannot say."""

    kind: ClassVar[str]
    label: ClassVar[str] = ""
    params_schema: ClassVar[tuple[ParamSpec, ...]] = ()
    params_one_of: ClassVar[tuple[str, ...]] = ()
    phase: ClassVar[int] = PHASE_CHARGE
    default_unit: ClassVar[str] = ""

    def __init__(self, component: Component) -> None:
        self.component = component
        raise_for_errors(self.errors_for(component.params))
        for month in range(1, 13) if is_seasonal(component.params) else (1,):
            self.check(resolve_season(dict(component.params), month))

    @classmethod
    def errors_for(cls, params: Any) -> dict[str, str]:
        """{field path: message} for params of this kind; {} when usable. Pure."""
        return params_errors(cls.params_schema, params, one_of=cls.params_one_of)

    def check(self, params: Mapping[str, Any]) -> None:
        """Raise ComponentConfigError for a rule of one month's params the schema cannot state."""

    def adjust(self, ctx: PartContext, params: Mapping[str, Any]) -> RatingDeterminants:
        """Change the part's determinants before any line is made (net metering)."""
        return ctx.determinants

    def lines(self, ctx: PartContext, params: Mapping[str, Any]) -> list[LineDraft]:
        raise NotImplementedError

    def describe(self, default: str) -> str:
        return self.component.description or default


def scaled_limits(tiers: Sequence[Tier], *, basis: str, ctx: PartContext, scale: bool) -> list[Decimal | None]:
    """Tier limits for this part. basis: "bill" (per bill period), "day" (per day), "kw" (per kW
    of the part's maximum demand, URDB "kWh/kW"), "kw_day". `scale` applies the part's
    proration factor to per-bill and per-kW limits (a 35-day bill gets 35/30 of each block)."""
    out: list[Decimal | None] = []
    for tier in tiers:
        if tier.limit is None:
            out.append(None)
            continue
        if basis == "bill":
            limit = tier.limit * (ctx.factor if scale else ONE)
        elif basis == "day":
            limit = tier.limit * ctx.days
        elif basis == "kw":
            limit = tier.limit * ctx.determinants.max_demand_kw * (ctx.factor if scale else ONE)
        elif basis == "kw_day":
            limit = tier.limit * ctx.determinants.max_demand_kw * ctx.days
        else:
            raise ComponentConfigError(f"unknown tier limit basis {basis!r}")
        out.append(limit)
    return out


LIMIT_BASES = ("bill", "day", "kw", "kw_day")
