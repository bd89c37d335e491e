"""The one registry of rate component kinds: kind -> strategy class. A new kind is a module in
this package and a line here. Each kind's `params_schema` (see schema.py) is the one statement
of its params: the strategy validates against it, the hub's rate editor builds its form from
`schema_document()`, and docs/rating.md carries `schema_markdown()`."""
from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from ..types import Component
from .base import ComponentConfigError, ComponentKind, RatingError
from .schema import markdown_table
from .demand import DemandCharge
from .fixed import FixedCharge
from .flat import FlatCharge
from .generation import GenerationCredit
from .interval_price import IntervalPriceCharge
from .meter_size import MeterSizeCharge
from .minimum import AnnualMinimumCharge, MinimumCharge
from .net_metering import NetMetering
from .percentage import PercentageCharge
from .primary_metering import PrimaryMeteringDiscount
from .rider import RiderCharge
from .tax import TaxCharge
from .tiered import TieredCharge
from .tou import TouEnergyCharge
from .tou_demand import TouDemandCharge
from .tou_schedule import TouScheduleDefinition
from .transformer_allowance import TransformerAllowance
from .unmetered import UnmeteredCharge

REGISTRY: dict[str, type[ComponentKind]] = {
    cls.kind: cls
    for cls in (
        FixedCharge,
        MeterSizeCharge,
        FlatCharge,
        TieredCharge,
        TouScheduleDefinition,
        TouEnergyCharge,
        DemandCharge,
        TouDemandCharge,
        IntervalPriceCharge,
        RiderCharge,
        PercentageCharge,
        TaxCharge,
        MinimumCharge,
        AnnualMinimumCharge,
        TransformerAllowance,
        PrimaryMeteringDiscount,
        UnmeteredCharge,
        NetMetering,
        GenerationCredit,
    )
}


def strategy_for(component: Component) -> ComponentKind:
    """The strategy for a component, its params checked against the kind's schema.

    Raises ComponentConfigError for an unknown kind or bad params (its `errors` map each wrong
    field's path to a message naming it)."""
    cls = REGISTRY.get(component.kind)
    if cls is None:
        raise ComponentConfigError(f"{component.code}: unknown component kind {component.kind!r}",
                                   errors={"kind": f"kind {component.kind!r} is not a component kind"})
    try:
        return cls(component)
    except ComponentConfigError as exc:
        raise ComponentConfigError(f"{component.code} ({component.kind}): {exc}", errors=exc.errors) from exc


def component_errors(data: Any) -> dict[str, str]:
    """{field: message} for one component as stored (kind, code, description, tags, params);
    params fields are named by their path ("tiers[2].limit"). {} when the engine can use it. Pure."""
    if not isinstance(data, Mapping):
        return {"component": "a component must be an object with kind, code and params"}
    errors: dict[str, str] = {}
    cls = REGISTRY.get(data.get("kind"))  # type: ignore[arg-type]
    if cls is None:
        errors["kind"] = f"kind must be one of {', '.join(REGISTRY)}, not {data.get('kind')!r}"
    code = data.get("code")
    if not isinstance(code, str) or not code.strip():
        errors["code"] = "code is required (it names the component on bill lines)"
    elif len(code) > 40:
        errors["code"] = "code must be at most 40 characters"
    if not isinstance(data.get("description", ""), str):
        errors["description"] = "description must be text"
    tags = data.get("tags") or []
    if not isinstance(tags, (list, tuple)) or not all(isinstance(t, str) and t.strip() for t in tags):
        errors["tags"] = "tags must be a list of text"
    for key in sorted(set(data) - {"kind", "code", "description", "tags", "params"}):
        errors[key] = f"{key} is not a component field (kind, code, description, tags, params)"
    if cls is not None:
        errors.update(cls.errors_for(data.get("params") or {}))
    return errors


def schema_document() -> list[dict[str, Any]]:
    """Every kind with its label, summary and params schema, as JSON for the rate editor."""
    return [
        {"kind": kind, "label": cls.label, "help": " ".join((sys.modules[cls.__module__].__doc__ or "").split("\n\n")[0].split()),
         "one_of": list(cls.params_one_of), "params": [spec.as_dict() for spec in cls.params_schema]}
        for kind, cls in REGISTRY.items()
    ]


def schema_markdown() -> str:
    """The parameter table of every kind, as docs/rating.md carries it between its markers."""
    parts = []
    for kind, cls in REGISTRY.items():
        parts.append(f"### `{kind}`: {cls.label}\n\n{markdown_table(cls.params_schema, cls.params_one_of)}\n")
    return "\n".join(parts)


__all__ = ["REGISTRY", "ComponentConfigError", "ComponentKind", "RatingError", "component_errors", "schema_document",
           "schema_markdown", "strategy_for"]
