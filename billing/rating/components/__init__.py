"""The one registry of rate component kinds: kind -> strategy class. A new kind is a module in
this package and a line here."""
from __future__ import annotations

from ..types import Component
from .base import ComponentConfigError, ComponentKind, RatingError
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
    """The strategy for a component, its params checked.

    Raises ComponentConfigError for an unknown kind or bad params."""
    cls = REGISTRY.get(component.kind)
    if cls is None:
        raise ComponentConfigError(f"{component.code}: unknown component kind {component.kind!r}")
    try:
        return cls(component)
    except ComponentConfigError as exc:
        raise ComponentConfigError(f"{component.code} ({component.kind}): {exc}") from exc
    except (KeyError, TypeError, AttributeError) as exc:
        raise ComponentConfigError(f"{component.code} ({component.kind}): malformed params ({exc})") from exc


__all__ = ["REGISTRY", "ComponentConfigError", "ComponentKind", "RatingError", "strategy_for"]
