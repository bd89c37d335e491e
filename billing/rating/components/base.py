"""What every component strategy shares: the context it is given, the draft lines it returns,
parameter reading (Decimal, seasonal values) and tier arithmetic."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

from core.money import to_decimal

from ..types import BillInput, BillLine, Component, RatingDeterminants

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


class ComponentConfigError(ValueError):
    """A component's params are missing or malformed."""


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


def resolve_season(value: Any, month: int) -> Any:
    """Replace every {"by_month": {...}} in a params tree by the value for `month`."""
    if isinstance(value, Mapping):
        if set(value) == {"by_month"}:
            table = value["by_month"]
            key = str(month) if str(month) in table else month
            if key not in table:
                raise ComponentConfigError(f"seasonal value has no entry for month {month}")
            return resolve_season(table[key], month)
        return {k: resolve_season(v, month) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [resolve_season(v, month) for v in value]
    return value


def is_seasonal(value: Any) -> bool:
    if isinstance(value, Mapping):
        return set(value) == {"by_month"} or any(is_seasonal(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(is_seasonal(v) for v in value)
    return False


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
        tiers.append(Tier(limit=None if limit is None else dec(limit, name=f"{name}[{i}].limit"),
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


@dataclass(frozen=True)
class ParamSpec:
    """One parameter of a component kind, declared for editors (the hub's rate form) and checks:
    `type` is one of PARAM_TYPES; `choices` for "choice"."""

    name: str
    type: str
    required: bool = False
    help: str = ""
    choices: tuple[str, ...] = ()


# decimal: a number (text or JSON number); int; bool; text; choice; tags: a list of text;
# tiers: [{"limit", "price"}]; periods: {name: price | tiers}; grid: 12 x 24 names;
# mapping: {key: value}; object: any JSON object.
PARAM_TYPES = ("decimal", "int", "bool", "text", "choice", "tags", "tiers", "periods", "grid", "mapping", "object")


def params_errors(schema: Sequence[ParamSpec], params: Mapping[str, Any]) -> dict[str, str]:
    """{param name: what is wrong} against a kind's declared schema (seasonal values are not
    judged here; the strategy's own check does that). Pure."""
    errors: dict[str, str] = {}
    for spec in schema:
        if spec.name not in params or params[spec.name] in (None, ""):
            if spec.required:
                errors[spec.name] = "required"
            continue
        value = params[spec.name]
        if is_seasonal(value):
            continue
        try:
            if spec.type == "decimal":
                dec(value, name=spec.name)
            elif spec.type == "int" and (isinstance(value, bool) or int(str(value)) != Decimal(str(value))):
                raise ComponentConfigError("not a whole number")
            elif spec.type == "bool" and not isinstance(value, bool):
                raise ComponentConfigError("true or false")
            elif spec.type == "choice" and value not in spec.choices:
                raise ComponentConfigError(f"one of {', '.join(spec.choices)}")
            elif spec.type == "tiers":
                read_tiers(value, name=spec.name)
            elif spec.type == "tags" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                raise ComponentConfigError("a list of tags")
            elif spec.type in ("periods", "mapping", "object") and not isinstance(value, Mapping):
                raise ComponentConfigError("an object")
            elif spec.type == "periods":
                for period, raw in value.items():
                    read_tiers(raw if isinstance(raw, (list, tuple)) else [{"price": raw}], name=f"{spec.name}.{period}")
        except (ComponentConfigError, ValueError, ArithmeticError) as exc:
            message = str(exc)
            errors[spec.name] = message[len(spec.name) + 2:] if message.startswith(spec.name + ": ") else message
    return errors


class ComponentKind:
    """A strategy. Subclasses set `kind` and `phase`, check params in `__init__` (raising
    ComponentConfigError) and make draft lines in `lines()` from already season-resolved params."""

    kind: ClassVar[str]
    params_schema: ClassVar[tuple[ParamSpec, ...]] = ()
    phase: ClassVar[int] = PHASE_CHARGE
    default_unit: ClassVar[str] = ""

    def __init__(self, component: Component) -> None:
        self.component = component
        # Validate every month's values once, so a bad seasonal entry fails at load time.
        for month in range(1, 13) if is_seasonal(component.params) else (1,):
            self.check(resolve_season(dict(component.params), month))

    def check(self, params: Mapping[str, Any]) -> None:
        """Raise ComponentConfigError if params are unusable."""

    def adjust(self, ctx: PartContext, params: Mapping[str, Any]) -> RatingDeterminants:
        """Change the part's determinants before any line is made (net metering)."""
        return ctx.determinants

    def lines(self, ctx: PartContext, params: Mapping[str, Any]) -> list[LineDraft]:
        raise NotImplementedError

    def describe(self, default: str) -> str:
        return self.component.description or default


def require(params: Mapping[str, Any], *names: str) -> None:
    missing = [n for n in names if n not in params]
    if missing:
        raise ComponentConfigError(f"missing params: {', '.join(missing)}")


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
