"""Rule-set configuration: which validations run with which parameters, and which
estimations are tried in which order.

Staff configure rule sets in the admin (mdm stores them and assigns them by rate class, service
point or meter kind, date-effective); mdm turns the stored rows into these frozen dataclasses and
hands a `RuleSet` to `engine.run_vee`. Every rule carries a `name` so findings and worklist
entries say which configured rule fired (two spike rules with different thresholds are fine).

What a failing validation does (`on_fail`):
- ESTIMATE: the failing readings are flagged FAILED_VALIDATION and replaced by the estimation
  sequence; if no estimation can fill them they keep their value and go to the worklist.
- FLAG: the failing readings are flagged FAILED_VALIDATION, keep their value, and the day goes
  to the worklist for a person to decide.
- WORKLIST: only a worklist entry (day-level doubts such as high usage or a sum-check miss)."""
from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import ClassVar


class OnFail(enum.StrEnum):
    ESTIMATE = "estimate"
    FLAG = "flag"
    WORKLIST = "worklist"


# ---- validations -------------------------------------------------------------------------


@dataclass(frozen=True)
class GapCheck:
    """Missing intervals. Missing slots are always handed to the estimations; this rule
    records them and sends a day to the worklist once more than `max_missing_slots` are gone
    (half a day of 15-minute data by default: a communications problem someone should chase
    even if like days can cover it)."""

    kind: ClassVar[str] = "gaps"
    name: str = "gaps"
    max_missing_slots: int = 48
    on_fail: OnFail = OnFail.WORKLIST


@dataclass(frozen=True)
class SpikeCheck:
    """Highest interval of the day more than `threshold_pct` above the third highest.
    The third highest (not the second) so a two-interval peak still counts as load, not a spike;
    `min_peak` keeps near-zero days (0.01 vs 0.001 kWh) from looking like spikes."""

    kind: ClassVar[str] = "spike"
    name: str = "spike"
    threshold_pct: float = 400.0
    min_peak: float = 0.5
    on_fail: OnFail = OnFail.FLAG


@dataclass(frozen=True)
class HighLowUsageCheck:
    """The day's usage (normalised to a 24-hour day, and scaled up over missing slots) against
    the channel's own average daily usage over the previous `lookback_days`. Consumption
    channels only: generation on a received channel follows the weather."""

    kind: ClassVar[str] = "high_low_usage"
    name: str = "high_low_usage"
    high_pct: float = 200.0  # fail above average * (1 + high_pct/100)
    low_pct: float = 90.0  # fail below average * (1 - low_pct/100)
    lookback_days: int = 30
    min_history_days: int = 7
    on_fail: OnFail = OnFail.WORKLIST


@dataclass(frozen=True)
class ZeroConsumptionCheck:
    """On an active service: `min_consecutive` zero intervals in a row, or a whole zero day.
    Consumption channels only: received (export / generation) channels are not judged."""

    kind: ClassVar[str] = "zero_consumption"
    name: str = "zero_consumption"
    min_consecutive: int = 24
    on_fail: OnFail = OnFail.WORKLIST


@dataclass(frozen=True)
class NegativeCheck:
    kind: ClassVar[str] = "negative"
    name: str = "negative"
    on_fail: OnFail = OnFail.ESTIMATE


@dataclass(frozen=True)
class SumCheck:
    """Interval total x interval multiplier against the register delta x register multiplier
    (rolled over at 10**dials), within max(tolerance_abs, tolerance_pct of the delta). Only on
    days with every interval present and both register reads (midnight snapshots)."""

    kind: ClassVar[str] = "sum_check"
    name: str = "sum_check"
    tolerance_pct: float = 2.0
    tolerance_abs: float = 0.5
    on_fail: OnFail = OnFail.WORKLIST


@dataclass(frozen=True)
class MaxDemandCheck:
    """kW = interval value x multiplier x 60 / interval minutes above `limit_kw`. Energy (kWh)
    channels only; a channel whose unit is not known is judged as kWh."""

    kind: ClassVar[str] = "max_demand"
    name: str = "max_demand"
    limit_kw: float = 100.0
    on_fail: OnFail = OnFail.FLAG


@dataclass(frozen=True)
class StuckCheck:
    """`min_run` or more identical non-zero values in a row (a stuck register or a head-end
    repeating its last value). Zero runs belong to ZeroConsumptionCheck."""

    kind: ClassVar[str] = "stuck"
    name: str = "stuck"
    min_run: int = 8
    on_fail: OnFail = OnFail.ESTIMATE


@dataclass(frozen=True)
class IntervalLengthCheck:
    """The data arrived with a different interval length than the channel is configured for."""

    kind: ClassVar[str] = "interval_length"
    name: str = "interval_length"
    on_fail: OnFail = OnFail.FLAG


@dataclass(frozen=True)
class UnitCheck:
    kind: ClassVar[str] = "unit"
    name: str = "unit"
    on_fail: OnFail = OnFail.FLAG


@dataclass(frozen=True)
class ClockToleranceCheck:
    """A reading's timestamp more than `tolerance_seconds` off its interval boundary (the
    importer snaps reads to slots and keeps how far off each was)."""

    kind: ClassVar[str] = "clock_tolerance"
    name: str = "clock_tolerance"
    tolerance_seconds: float = 60.0
    on_fail: OnFail = OnFail.FLAG


Validation = (
    GapCheck
    | SpikeCheck
    | HighLowUsageCheck
    | ZeroConsumptionCheck
    | NegativeCheck
    | SumCheck
    | MaxDemandCheck
    | StuckCheck
    | IntervalLengthCheck
    | UnitCheck
    | ClockToleranceCheck
)


# ---- estimations -------------------------------------------------------------------------


@dataclass(frozen=True)
class LinearInterpolation:
    """Gaps of at most `max_gap_minutes` between two actual neighbours (the previous/next
    day's edge values count when the loader supplies them)."""

    kind: ClassVar[str] = "linear"
    name: str = "linear"
    max_gap_minutes: int = 180


@dataclass(frozen=True)
class LikeDay:
    """Interval-by-interval average of the `days` most recent earlier like days (same day type:
    weekday / Saturday / Sunday-or-holiday) within `max_lookback_days`, matched by local clock
    time. Holidays, outage days and days with any estimated, edited-by-estimate, failed or
    missing interval are never used. Fails for a day with fewer than `min_days` candidates."""

    kind: ClassVar[str] = "like_day"
    name: str = "like_day"
    days: int = 3
    min_days: int = 1
    max_lookback_days: int = 56


@dataclass(frozen=True)
class ClassProfile:
    """A load shape per rate class (24 hourly or one weight per clock slot, local time), scaled
    so the day's total equals the register delta. Fails without register reads, a shape for the
    class, or when the delta is smaller than what is already known."""

    kind: ClassVar[str] = "class_profile"
    name: str = "class_profile"
    profiles: Mapping[str, tuple[float, ...]] = field(default_factory=lambda: MappingProxyType({}))

    def __hash__(self) -> int:
        return hash((self.name, tuple(sorted((k, tuple(v)) for k, v in self.profiles.items()))))


Estimation = LinearInterpolation | LikeDay | ClassProfile


@dataclass(frozen=True)
class RuleSet:
    name: str
    validations: tuple[Validation, ...]
    estimations: tuple[Estimation, ...]

    def __post_init__(self) -> None:
        names = [r.name for r in self.validations] + [e.name for e in self.estimations]
        if len(names) != len(set(names)):
            raise ValueError(f"rule set {self.name!r}: rule names must be unique, got {names}")


def default_rule_set(*, profiles: Mapping[str, tuple[float, ...]] | None = None) -> RuleSet:
    """The out-of-the-box electric interval rule set: every validation, then linear for short
    gaps, like days, and the class profile when like days cannot help."""
    return RuleSet(
        name="electric-interval-default",
        validations=(
            GapCheck(),
            SpikeCheck(),
            HighLowUsageCheck(),
            ZeroConsumptionCheck(),
            NegativeCheck(),
            SumCheck(),
            MaxDemandCheck(),
            StuckCheck(),
            IntervalLengthCheck(),
            UnitCheck(),
            ClockToleranceCheck(),
        ),
        estimations=(
            LinearInterpolation(),
            LikeDay(),
            ClassProfile(profiles=MappingProxyType(dict(profiles or {}))),
        ),
    )
