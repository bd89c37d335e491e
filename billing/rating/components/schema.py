"""Parameter schemas of the rate component kinds: the one description of what each kind's
params are (type, unit, required or optional with its default, allowed values, nested
structures). The strategies validate their params from it, the hub's rate editor builds its
form from it (`schema_document`) and docs/rating.md lists it (`schema_markdown`).

Error paths name the field the way the editor and the docs do: `tiers[2].limit` is the limit of
block 2 (blocks and grid rows count from 1, as bills do), `periods[on_peak][1].price` the price
of the first block of period on_peak, `ratchet.percent` a member of an object. Pure."""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from core.money import to_decimal

# decimal: a number (JSON number or text); int: a whole number; bool; text; choice: one of
# `choices`; tags: a list of text; tiers: [{"limit", "price"}] blocks, the last open-ended;
# periods: {period name: price | tiers}; grid: 12 months x 24 hours of period names;
# mapping: {key: number}; months: {"1".."12": number}; object: the members in `fields`.
PARAM_TYPES = ("decimal", "int", "bool", "text", "choice", "tags", "tiers", "periods", "grid", "mapping", "months",
               "object")
PERIOD_NAME = re.compile(r"^[A-Za-z0-9_-]{1,30}$")
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class ComponentConfigError(ValueError):
    """A component's params are missing or malformed. `errors` maps each wrong field's path
    (e.g. "tiers[2].limit") to a message that names it."""

    def __init__(self, message: str, *, errors: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.errors = dict(errors or {})


@dataclass(frozen=True)
class ParamSpec:
    """One parameter of a component kind.

    `unit` is the unit of the value (of a tier's price for tiers and periods, of each value for
    mapping and months); `limit_unit` the unit of a tier's limit. `default` is what an absent
    optional parameter means. `minimum`/`maximum` bound a decimal or int (inclusive). `fields`
    are an object's members. `required_if` = (other param, value): required when the other
    param has that value. `key_label` names what a mapping's keys are."""

    name: str
    type: str
    required: bool = False
    help: str = ""
    choices: tuple[str, ...] = ()
    unit: str = ""
    limit_unit: str = ""
    default: Any = None
    minimum: str | None = None
    maximum: str | None = None
    fields: tuple[ParamSpec, ...] = ()
    required_if: tuple[str, str] | None = None
    key_label: str = ""

    def __post_init__(self) -> None:
        if self.type not in PARAM_TYPES:
            raise ValueError(f"{self.name}: unknown param type {self.type!r}")
        if self.type == "choice" and not self.choices:
            raise ValueError(f"{self.name}: a choice needs choices")

    def as_dict(self) -> dict[str, Any]:
        """JSON for the rate editor."""
        return {
            "name": self.name, "type": self.type, "required": self.required, "help": self.help,
            "choices": list(self.choices), "unit": self.unit, "limit_unit": self.limit_unit, "default": self.default,
            "minimum": self.minimum, "maximum": self.maximum, "fields": [f.as_dict() for f in self.fields],
            "required_if": list(self.required_if) if self.required_if else None, "key_label": self.key_label,
        }


# ---- seasonal values -----------------------------------------------------------------------

def is_seasonal(value: Any) -> bool:
    if isinstance(value, Mapping):
        return set(value) == {"by_month"} or any(is_seasonal(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(is_seasonal(v) for v in value)
    return False


def resolve_season(value: Any, month: int) -> Any:
    """Replace every {"by_month": {...}} in a params tree by the value for `month`."""
    if isinstance(value, Mapping):
        if set(value) == {"by_month"}:
            table = value["by_month"]
            if not isinstance(table, Mapping):
                raise ComponentConfigError("by_month must map months 1 to 12 to values")
            key = str(month) if str(month) in table else month
            if key not in table:
                raise ComponentConfigError(f"seasonal value has no entry for month {month}")
            return resolve_season(table[key], month)
        return {k: resolve_season(v, month) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [resolve_season(v, month) for v in value]
    return value


# ---- checking ------------------------------------------------------------------------------

def _number(value: Any) -> Decimal | None:
    """The value as a finite Decimal, or None when it is not a number (booleans are not)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        return None
    try:
        number = to_decimal(value.strip() if isinstance(value, str) else value)
    except (InvalidOperation, ValueError, TypeError):
        return None
    return number if number.is_finite() else None


def _plain(number: Decimal) -> str:
    return f"{number.normalize():f}"


class _Checker:
    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def fail(self, path: str, message: str) -> None:
        self.errors.setdefault(path, f"{path} {message}")

    def value(self, spec: ParamSpec, value: Any, path: str) -> None:
        check = getattr(self, "check_" + spec.type)
        check(spec, value, path)

    def _bounded(self, spec: ParamSpec, number: Decimal, path: str) -> None:
        if spec.minimum is not None and number < Decimal(spec.minimum):
            self.fail(path, f"must be at least {spec.minimum}")
        elif spec.maximum is not None and number > Decimal(spec.maximum):
            self.fail(path, f"must be at most {spec.maximum}")

    def check_decimal(self, spec: ParamSpec, value: Any, path: str) -> None:
        number = _number(value)
        if number is None:
            self.fail(path, f"must be a number, not {value!r}")
        else:
            self._bounded(spec, number, path)

    def check_int(self, spec: ParamSpec, value: Any, path: str) -> None:
        number = _number(value)
        if number is None or number != number.to_integral_value():
            self.fail(path, f"must be a whole number, not {value!r}")
        else:
            self._bounded(spec, number, path)

    def check_bool(self, spec: ParamSpec, value: Any, path: str) -> None:
        if not isinstance(value, bool):
            self.fail(path, f"must be true or false, not {value!r}")

    def check_text(self, spec: ParamSpec, value: Any, path: str) -> None:
        if not isinstance(value, str) or not value.strip():
            self.fail(path, "must be text")

    def check_choice(self, spec: ParamSpec, value: Any, path: str) -> None:
        if value not in spec.choices:
            self.fail(path, f"must be one of {', '.join(spec.choices)}, not {value!r}")

    def check_tags(self, spec: ParamSpec, value: Any, path: str) -> None:
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v.strip() for v in value):
            self.fail(path, "must be a list of tags (text)")

    def check_tiers(self, spec: ParamSpec, value: Any, path: str) -> None:
        if not isinstance(value, (list, tuple)) or not value:
            self.fail(path, "must list at least one block ({\"limit\": ..., \"price\": ...})")
            return
        previous: tuple[int, Decimal] | None = None
        for number, item in enumerate(value, 1):
            here = f"{path}[{number}]"
            if not isinstance(item, Mapping):
                self.fail(here, "must be a block with a price (and a limit)")
                continue
            for key in sorted(set(item) - {"limit", "price"}):
                self.fail(f"{here}.{key}", "is not a block field (limit, price)")
            if item.get("price") in (None, ""):
                self.fail(f"{here}.price", "is required (every block needs a price)")
            else:
                self.check_decimal(ParamSpec("price", "decimal"), item["price"], f"{here}.price")
            last = number == len(value)
            limit = item.get("limit")
            if limit in (None, ""):
                if not last:
                    self.fail(f"{here}.limit", "is required (only the last block may be open-ended)")
                continue
            bound = _number(limit)
            if bound is None:
                self.fail(f"{here}.limit", f"must be a number, not {limit!r}")
                continue
            if bound <= 0:
                self.fail(f"{here}.limit", "must be greater than 0")
            elif previous is not None and bound <= previous[1]:
                self.fail(f"{here}.limit",
                          f"must be greater than {path}[{previous[0]}].limit ({_plain(previous[1])})")
            previous = (number, bound)

    def check_periods(self, spec: ParamSpec, value: Any, path: str) -> None:
        if not isinstance(value, Mapping) or not value:
            self.fail(path, "must name at least one TOU period with its price")
            return
        for name, raw in value.items():
            here = f"{path}[{name}]"
            if not isinstance(name, str) or not PERIOD_NAME.match(name):
                self.fail(here, "is not a period name (letters, digits, _ and -, at most 30)")
            elif isinstance(raw, (list, tuple)):
                self.check_tiers(spec, raw, here)
            else:
                self.check_decimal(spec, raw, here)

    def check_grid(self, spec: ParamSpec, value: Any, path: str) -> None:
        if not isinstance(value, (list, tuple)) or len(value) != 12:
            count = len(value) if isinstance(value, (list, tuple)) else 0
            self.fail(path, f"must have 12 rows (months January to December), not {count}")
            return
        for month, row in enumerate(value, 1):
            here = f"{path}[{month}]"
            if not isinstance(row, (list, tuple)) or len(row) != 24:
                count = len(row) if isinstance(row, (list, tuple)) else 0
                self.fail(here, f"({MONTH_NAMES[month - 1]}) must have 24 hours, not {count}")
                continue
            for hour, name in enumerate(row):
                if not isinstance(name, str) or not PERIOD_NAME.match(name):
                    self.fail(f"{here}[{hour}]", f"({MONTH_NAMES[month - 1]} {hour}:00) must be a period name, "
                                                 f"not {name!r}")

    def check_mapping(self, spec: ParamSpec, value: Any, path: str) -> None:
        if not isinstance(value, Mapping) or not value:
            self.fail(path, f"must list at least one {spec.key_label or 'key'} with its value")
            return
        for key, raw in value.items():
            if not str(key).strip():
                self.fail(f"{path}[]", f"needs a {spec.key_label or 'key'}")
            else:
                self.check_decimal(spec, raw, f"{path}[{key}]")

    def check_months(self, spec: ParamSpec, value: Any, path: str) -> None:
        if not isinstance(value, Mapping):
            self.fail(path, "must give a value for each month 1 to 12")
            return
        for key in value:
            if str(key) not in {str(m) for m in range(1, 13)}:
                self.fail(f"{path}[{key}]", "is not a month (1 to 12)")
        for month in range(1, 13):
            here = f"{path}[{month}]"
            raw = value.get(str(month), value.get(month))
            if raw in (None, ""):
                self.fail(here, f"({MONTH_NAMES[month - 1]}) is required (every month needs a value)")
            else:
                self.check_decimal(spec, raw, here)

    def check_object(self, spec: ParamSpec, value: Any, path: str) -> None:
        if not isinstance(value, Mapping):
            self.fail(path, "must be an object of " + ", ".join(f.name for f in spec.fields))
            return
        self.members(spec.fields, value, path + ".")

    def members(self, schema: Sequence[ParamSpec], params: Mapping[str, Any], prefix: str = "") -> None:
        known = {s.name for s in schema}
        for key in params:
            if key not in known:
                self.fail(f"{prefix}{key}", f"is not a parameter here (known: {', '.join(sorted(known)) or 'none'})")
        for spec in schema:
            path = prefix + spec.name
            value = params.get(spec.name)
            if value is None or value == "":
                needed = spec.required or (
                    spec.required_if is not None and params.get(spec.required_if[0]) == spec.required_if[1])
                if needed:
                    why = f" when {spec.required_if[0]} is {spec.required_if[1]}" if not spec.required and spec.required_if else ""
                    self.fail(path, f"is required{why}")
                continue
            self.value(spec, value, path)


def params_errors(schema: Sequence[ParamSpec], params: Any, *, one_of: Sequence[str] = ()) -> dict[str, str]:
    """{field path: message naming it} for params against a kind's schema; {} when they are
    usable. A seasonal value ({"by_month": ...}) is checked for each month. `one_of`: exactly
    one of these params must be given."""
    if not isinstance(params, Mapping):
        return {"params": "params must be an object"}
    checker = _Checker()
    seasonal = {k for k, v in params.items() if is_seasonal(v)}
    plain = {k: v for k, v in params.items() if k not in seasonal}
    by_month: dict[str, dict[int, str]] = {}  # path -> {month: message}
    months = range(1, 13) if seasonal else (0,)
    for month in months:
        resolved = dict(plain)
        for key in seasonal:
            try:
                resolved[key] = resolve_season(params[key], month)
            except ComponentConfigError as exc:
                checker.fail(key, f"is seasonal but {exc}")
                resolved[key] = None
        month_checker = _Checker()
        month_checker.members(schema, {k: v for k, v in resolved.items() if v is not None or k not in seasonal})
        for path, message in month_checker.errors.items():
            by_month.setdefault(path, {})[month] = message
    for path, found in by_month.items():
        # The same error in every month is the value's own; else say the first month it is in.
        first = min(found)
        same = len(found) == len(months) and len(set(found.values())) == 1
        checker.errors.setdefault(path, found[first] if same else f"{found[first]} (in month {first})")
    if one_of:
        given = [name for name in one_of if params.get(name) not in (None, "")]
        if len(given) != 1:
            checker.fail(one_of[0], f"or {' or '.join(one_of[1:])}: give exactly one")
    return checker.errors


def raise_for_errors(errors: Mapping[str, str]) -> None:
    if errors:
        raise ComponentConfigError("; ".join(errors.values()), errors=errors)


# ---- describing ----------------------------------------------------------------------------

def _type_text(spec: ParamSpec) -> str:
    if spec.type == "choice":
        return "one of " + ", ".join(f"`{c}`" for c in spec.choices)
    if spec.type == "tiers":
        return f"blocks [{{limit ({spec.limit_unit or 'units'}), price ({spec.unit or '$'})}}], limits increasing, last open"
    if spec.type == "periods":
        return f"{{period: price ({spec.unit}) or blocks [{{limit ({spec.limit_unit}), price}}]}}"
    if spec.type == "grid":
        return "12 months x 24 hours of period names"
    if spec.type == "mapping":
        return f"{{{spec.key_label or 'key'}: {spec.unit or 'number'}}}"
    if spec.type == "months":
        return f"{{month 1-12: {spec.unit or 'number'}}}, all 12"
    if spec.type == "object":
        return "{" + ", ".join(f"{f.name}{'' if f.required else '?'}: {_type_text(f)}" for f in spec.fields) + "}"
    bounds = []
    if spec.minimum is not None:
        bounds.append(f">= {spec.minimum}")
    if spec.maximum is not None:
        bounds.append(f"<= {spec.maximum}")
    unit = f" ({spec.unit})" if spec.unit else ""
    return spec.type + unit + (" " + ", ".join(bounds) if bounds else "")


def _needed_text(spec: ParamSpec) -> str:
    if spec.required:
        return "required"
    if spec.required_if:
        return f"required if {spec.required_if[0]} = {spec.required_if[1]}"
    if spec.default is not None:
        return "optional, default " + (str(spec.default).lower() if isinstance(spec.default, bool) else str(spec.default))
    return "optional"


def markdown_table(schema: Sequence[ParamSpec], one_of: Sequence[str] = ()) -> str:
    rows = ["| param | type | required | meaning |", "|---|---|---|---|"]
    for spec in schema:
        needed = _needed_text(spec)
        if spec.name in one_of:
            needed = "one of " + " / ".join(one_of)
        rows.append(f"| `{spec.name}` | {_type_text(spec)} | {needed} | {spec.help} |".replace("\n", " "))
    return "\n".join(rows)
