"""Pure rating: rate versions and their component strategies priced over a loaded bill input.
No ORM and no clock in here; bill runs, the bill calculator and unbilled revenue all call
`rate_bill`. See docs/rating.md."""
from .calendar import TouSchedule, determinants_from_intervals
from .components import REGISTRY, ComponentConfigError, RatingError, strategy_for
from .engine import rate_bill
from .periods import NoRateInEffect
from .types import (
    BillInput,
    BillLine,
    CarriedCredit,
    Component,
    Fixture,
    IntervalSeries,
    MonthlyDemand,
    ProrationPolicy,
    RateVersion,
    RatingDeterminants,
    RatingResult,
)

__all__ = [
    "REGISTRY", "BillInput", "BillLine", "CarriedCredit", "Component", "ComponentConfigError", "Fixture",
    "IntervalSeries", "MonthlyDemand", "NoRateInEffect", "ProrationPolicy", "RateVersion", "RatingDeterminants",
    "RatingError", "RatingResult", "TouSchedule", "determinants_from_intervals", "rate_bill", "strategy_for",
]
