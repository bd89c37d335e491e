"""The demo utility's meters: which service point gets which meter, channels, CT ratio and
install date (`fleet_plan`, pure and seeded), and writing that plan in bulk (`fleet_create`).

Per service point (cis): electric -> a single-phase (residential) or polyphase (commercial,
industrial) meter with a 15-minute kWh delivered channel, plus a 15-minute kWh received
channel for the ~3 % of homes with solar panels, plus register-only kWh and kW (daily maximum
demand) channels for commercial and industrial; water -> a 60-minute m3 meter; gas -> a
60-minute m3 meter; streetlights and sewer are unmetered. Commercial meters are CT-rated
(200:5 = 40) 40 % of the time, industrial always (400:5 .. 1200:5). About 0.5 % of metered
service points (at least one) get a meter exchange in the middle of the period."""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from decimal import Decimal

from cis.selectors import ServicePointForMetering
from demo.meters import shapes
from mdm.services import (
    ChannelDirection,
    ChannelSpec,
    ChannelUnit,
    InstallationSpec,
    MeterKind,
    MeterOnboarding,
    MetersAlreadyOnboardedError,
    MultiplierPeriod,
    meter_exchange,
    meters_exist,
    meters_onboard,
)

SOLAR_SHARE = 0.03
EXCHANGE_SHARE = 0.005
COMMERCIAL_CT_SHARE = 0.4
COMMERCIAL_CT = Decimal(40)  # 200:5
INDUSTRIAL_CTS = (Decimal(80), Decimal(160), Decimal(240))  # 400:5, 800:5, 1200:5

_MODELS = {
    MeterKind.ELECTRIC_SINGLE_PHASE: (("Itron", "OpenWay Riva"), ("Landis+Gyr", "E350 FOCUS AX")),
    MeterKind.ELECTRIC_POLYPHASE: (("Landis+Gyr", "E650 S4x"), ("Itron", "CENTRON Polyphase")),
    MeterKind.WATER: (("Neptune", "T-10"), ("Sensus", "iPERL")),
    MeterKind.GAS: (("Itron", "100G DLN"), ("Honeywell Elster", "AC-250")),
}
_PREFIX = {MeterKind.ELECTRIC_SINGLE_PHASE: "EL", MeterKind.ELECTRIC_POLYPHASE: "EP",
           MeterKind.WATER: "WA", MeterKind.GAS: "GA"}


class DemoMetersExistError(Exception):
    """Meters already exist: the demo's serial numbers are fixed, so it fills an empty mdm."""


@dataclass(frozen=True)
class ChannelPlan:
    unit: str
    direction: str
    interval_minutes: int | None
    dials: int


@dataclass(frozen=True)
class MeterPlan:
    serial: str
    kind: str
    manufacturer: str
    model: str
    channels: tuple[ChannelPlan, ...]


@dataclass
class Position:
    """A metered service point: the meter there at the start of the period and, if it is
    exchanged during the period, the one that replaces it at `exchange_at`."""

    service_point_id: int
    kind: str  # shapes.RES_ELECTRIC, COM_ELECTRIC, IND_ELECTRIC, WATER, GAS
    solar: bool
    multiplier: Decimal
    installed_at: dt.datetime
    meters: list[MeterPlan]
    register_start: dict[str, float]  # direction -> the first meter's register at period start
    exchange_at: dt.datetime | None = None
    installations: list = field(default_factory=list)  # mdm's installations, filled by fleet_create
    replacement: object | None = None  # the exchanged-in meter (mdm's), filled by fleet_create

    @property
    def interval_minutes(self) -> int:
        return 15 if self.kind in (shapes.RES_ELECTRIC, shapes.COM_ELECTRIC, shapes.IND_ELECTRIC) else 60

    @property
    def unit(self) -> str:
        return ChannelUnit.KWH if self.interval_minutes == 15 else ChannelUnit.M3


def _series_kind(sp: ServicePointForMetering) -> str | None:
    if sp.commodity == "electric":
        return {"commercial": shapes.COM_ELECTRIC, "industrial": shapes.IND_ELECTRIC}.get(sp.rate_class,
                                                                                         shapes.RES_ELECTRIC)
    if sp.commodity == "water":
        return shapes.WATER
    if sp.commodity == "gas":
        return shapes.GAS
    return None  # streetlight and sewer are billed unmetered


def _meter_kind(series_kind: str) -> str:
    return {shapes.RES_ELECTRIC: MeterKind.ELECTRIC_SINGLE_PHASE, shapes.COM_ELECTRIC: MeterKind.ELECTRIC_POLYPHASE,
            shapes.IND_ELECTRIC: MeterKind.ELECTRIC_POLYPHASE, shapes.WATER: MeterKind.WATER,
            shapes.GAS: MeterKind.GAS}[series_kind]


def _channels(series_kind: str, solar: bool) -> tuple[ChannelPlan, ...]:
    d, r = ChannelDirection.DELIVERED, ChannelDirection.RECEIVED
    if series_kind == shapes.RES_ELECTRIC:
        chans = [ChannelPlan(ChannelUnit.KWH, d, 15, 6)]
        if solar:
            chans.append(ChannelPlan(ChannelUnit.KWH, r, 15, 6))
        return tuple(chans)
    if series_kind in (shapes.COM_ELECTRIC, shapes.IND_ELECTRIC):
        # register-only kWh takes the daily register reads; kW holds the day's maximum demand
        return (ChannelPlan(ChannelUnit.KWH, d, 15, 7), ChannelPlan(ChannelUnit.KWH, d, None, 7),
                ChannelPlan(ChannelUnit.KW, d, None, 4))
    return (ChannelPlan(ChannelUnit.M3, d, 60, 6),)


def fleet_plan(*, service_points: list[ServicePointForMetering], seed: int, start: dt.date, days: int,
               tz: dt.tzinfo) -> list[Position]:
    """Which meter goes where (pure: same service points, seed and period give the same plan)."""
    rng = shapes.rng_for(seed, 10)
    counters = {kind: 10_000_001 for kind in _PREFIX}
    period_start = dt.datetime.combine(start, dt.time(0), tzinfo=tz)

    def new_meter(series_kind: str, solar: bool) -> MeterPlan:
        kind = _meter_kind(series_kind)
        serial = f"{_PREFIX[kind]}{counters[kind]}"
        counters[kind] += 1
        manufacturer, model = _MODELS[kind][int(rng.integers(0, 2))]
        return MeterPlan(serial, kind, manufacturer, model, _channels(series_kind, solar))

    positions: list[Position] = []
    for sp in service_points:
        series_kind = _series_kind(sp)
        if series_kind is None:
            continue
        solar = series_kind == shapes.RES_ELECTRIC and rng.random() < SOLAR_SHARE
        multiplier = Decimal(1)
        if series_kind == shapes.COM_ELECTRIC and rng.random() < COMMERCIAL_CT_SHARE:
            multiplier = COMMERCIAL_CT
        elif series_kind == shapes.IND_ELECTRIC:
            multiplier = INDUSTRIAL_CTS[int(rng.integers(0, len(INDUSTRIAL_CTS)))]
        installed_days_before = int(rng.integers(30, 2500))
        installed_at = (period_start - dt.timedelta(days=installed_days_before)).replace(hour=10)
        meter = new_meter(series_kind, solar)
        dials = meter.channels[0].dials
        register_start = {"delivered": round(float(rng.uniform(0, 0.4 * 10 ** dials)), 3),
                          "received": round(float(rng.uniform(0, 3000)), 3)}
        positions.append(Position(sp.id, series_kind, solar, multiplier,
                                  installed_at.astimezone(dt.timezone.utc), [meter], register_start))
    if positions:
        n_exchanges = max(1, math.floor(len(positions) * EXCHANGE_SHARE))
        for index in sorted(rng.choice(len(positions), size=n_exchanges, replace=False).tolist()):
            pos = positions[index]
            day = start + dt.timedelta(days=int(rng.integers(days // 3, max(days // 3 + 1, 2 * days // 3))))
            hour = int(rng.integers(9, 16))  # a whole hour: on the grid of 15- and 60-minute channels
            pos.exchange_at = dt.datetime.combine(day, dt.time(hour), tzinfo=tz).astimezone(dt.timezone.utc)
            pos.meters.append(new_meter(pos.kind, pos.solar))
    return positions


def _onboarding(pos: Position, index: int, tz: dt.tzinfo) -> MeterOnboarding:
    """The shipping-file line of a position's meter: the first is installed at the period's
    start, the exchanged-in one waits in stock; a CT ratio covers each meter's days there."""
    meter = pos.meters[index]
    multipliers = ()
    if pos.multiplier != 1:
        since = (pos.installed_at if index == 0 else pos.exchange_at).astimezone(tz).date()
        until = pos.exchange_at.astimezone(tz).date() if index == 0 and pos.exchange_at else None
        if until is not None and until <= since:
            until = since + dt.timedelta(days=1)
        multipliers = (MultiplierPeriod(start_date=since, end_date=until, ct_ratio=pos.multiplier),)
    return MeterOnboarding(
        serial_number=meter.serial, kind=meter.kind, manufacturer=meter.manufacturer, model=meter.model,
        channels=tuple(ChannelSpec(c.unit, c.direction, c.interval_minutes, c.dials) for c in meter.channels),
        multipliers=multipliers,
        installation=InstallationSpec(pos.service_point_id, pos.installed_at) if index == 0 else None,
    )


def fleet_create(*, positions: list[Position], tz: dt.tzinfo) -> None:
    """Write the plan through mdm's bulk onboarding: meters, channels, multipliers and
    installations (the exchanges come later, in `exchanges_record`, once the data says what
    the old meter read). Fills each position's `installations` and `replacement`. Raises
    DemoMetersExistError when any meter exists."""
    if meters_exist():
        raise DemoMetersExistError("Meters already exist; the demo meters go into an empty MDM.")
    try:
        result = meters_onboard([_onboarding(pos, i, tz) for pos in positions for i in range(len(pos.meters))])
    except MetersAlreadyOnboardedError as exc:
        raise DemoMetersExistError("Meters already exist; the demo meters go into an empty MDM.") from exc
    for pos in positions:
        pos.installations = [result.installations[pos.meters[0].serial]]
        if len(pos.meters) > 1:
            pos.replacement = result.meters[pos.meters[1].serial]


def exchanges_record(*, positions: list[Position], removal_reads: dict[int, float]) -> int:
    """Exchange the meters the plan exchanges, at their instant, with the old meter's removal
    read (its delivered register then; known only once the data is generated) and a new
    meter's install read of 0. Returns how many."""
    done = 0
    for pos in positions:
        if pos.exchange_at is None or len(pos.installations) != 1:
            continue
        new = meter_exchange(old=pos.installations[0], new_meter=pos.replacement, at=pos.exchange_at,
                             removal_read=Decimal(str(removal_reads[pos.service_point_id])),
                             install_read=Decimal("0.000"))
        pos.installations.append(new)
        done += 1
    return done


def exchange_slot(pos: Position, day: dt.date, tz: dt.tzinfo) -> int | None:
    """The slot of `day` where the new meter takes over: None when no exchange that day."""
    if pos.exchange_at is None or pos.exchange_at.astimezone(tz).date() != day:
        return None
    midnight = dt.datetime.combine(day, dt.time(0), tzinfo=tz).astimezone(dt.timezone.utc)
    return int((pos.exchange_at - midnight).total_seconds() // 60) // pos.interval_minutes


def unknown_meter_serials(n_electric: int) -> list[str]:
    """Meters the head-end reads but nobody set up in the MDM yet (field work not keyed in):
    one per 2,000 electric service points, at least one. Their records are quarantined
    (field MeterID) in every electric file."""
    return [f"NEW{9_000_001 + i}" for i in range(max(1, math.ceil(n_electric / 2000)))]
