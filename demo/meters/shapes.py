"""Synthetic meter data for the demo utility: pure numpy, no ORM, no clock.

One call makes one local day of one kind of series for many service points at once, as an
(N, slots) matrix in the units the meter records. Everything is drawn from generators seeded by
(seed, what, date), so a day's data does not depend on which other days are generated.

Shapes work on the slot's LOCAL wall-clock time (mdm.services.day_layout), so a fall-back day's
repeated 01:00 hour repeats the night load and a spring-forward day simply has no 02:00; solar
follows the sun (standard time), not the clock.

The injected faults (gaps, spikes, zero runs, days the head-end never sent) are drawn at the
rates of `InjectionRates`; `inject` returns where it put them, so tests can check the store
holds them at exactly those slots."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from mdm.services import day_layout

# Series kinds: what is measured, which decides the shape.
RES_ELECTRIC = "res_electric"  # kWh delivered, 15 min
COM_ELECTRIC = "com_electric"
IND_ELECTRIC = "ind_electric"
SOLAR = "solar"  # on-site generation, kW capacity; split into delivered/received by `net_solar`
WATER = "water"  # m3, 60 min
GAS = "gas"  # m3, 60 min

# Kind codes in seeds, so two kinds never share a random stream.
KIND_CODE = {RES_ELECTRIC: 1, COM_ELECTRIC: 2, IND_ELECTRIC: 3, SOLAR: 4, WATER: 5, GAS: 6}

# Injection kinds in a plan
NONE, DAY_MISSING, GAP, SPIKE, ZERO_RUN = 0, 1, 2, 3, 4


@dataclass(frozen=True)
class InjectionRates:
    """Share of channel-days that get each fault; at most one fault per channel-day, so the
    rates add up and each injected fault is seen on its own.

    The defaults are what reaches the MDM from a working AMI system after the head-end's own
    retries: 2 % of meter-days have a communication gap of 1-8 hours (VEE estimates them
    before billing), 0.02 % never arrive at all (a meter the head-end could not reach that
    day nor on its retries), 0.05 % carry a spike (a register glitch: one interval 8x the
    day's peak + 1 unit) and 0.05 % a run of 3-8 hours of zeros (a stuck or bypassed meter).
    Missing days, spikes and zero runs are what VEE's worklist and the pre-bill checks exist
    for, and at these rates they stay a few a day per 10,000 meters: 10x more (the rates
    before issue 9) held about one bill in eight and put thousands of days on the worklist.
    Tests that need many faults pass their own rates."""

    day_missing: float = 0.0002
    gap: float = 0.02
    spike: float = 0.0005
    zero_run: float = 0.0005

    def __post_init__(self):
        if min(self.day_missing, self.gap, self.spike, self.zero_run) < 0 or self.total > 1:
            raise ValueError("Injection rates must be >= 0 and add up to at most 1.")

    @property
    def total(self) -> float:
        return self.day_missing + self.gap + self.spike + self.zero_run


@dataclass(frozen=True)
class Injection:
    """Per row of a day matrix: which fault (NONE, DAY_MISSING, GAP, SPIKE, ZERO_RUN) and its
    slots [start, start + length)."""

    kind: np.ndarray  # (N,) int8
    start: np.ndarray  # (N,) int64
    length: np.ndarray  # (N,) int64


def rng_for(seed: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng([seed, *keys])


def weather_mean_temperature(day: dt.date, seed: int) -> float:
    """Daily mean temperature, degrees C: a Toronto-like seasonal normal plus a weather anomaly
    that wanders over days (three slow waves fixed by the seed) plus day-to-day noise."""
    doy = day.timetuple().tm_yday
    normal = 7.5 - 13.5 * np.cos(2 * np.pi * (doy - 20) / 365.25)
    waves = rng_for(seed, 900)
    amps, periods, phases = waves.uniform(1.0, 3.0, 3), waves.uniform(4.0, 17.0, 3), waves.uniform(0, 2 * np.pi, 3)
    ordinal = day.toordinal()
    anomaly = float(np.sum(amps * np.sin(2 * np.pi * ordinal / periods + phases)))
    return float(normal + anomaly + rng_for(seed, 901, ordinal).normal(0.0, 1.5))


def cloudiness(day: dt.date, seed: int) -> float:
    """0 (clear) .. 0.85 (overcast) for the day."""
    return float(rng_for(seed, 902, day.toordinal()).beta(1.2, 2.0) * 0.85)


@dataclass(frozen=True)
class DayClock:
    """What the shapes need to know about a local day's slots."""

    n_slots: int
    interval_minutes: int
    clock_hour: np.ndarray  # local wall-clock hour (float) at each slot's middle
    sun_hour: np.ndarray  # local STANDARD-time hour at each slot's middle (the sun ignores DST)
    weekday: int
    day_of_year: int


def day_clock(day: dt.date, tz: dt.tzinfo, interval_minutes: int) -> DayClock:
    layout = day_layout(day, tz, interval_minutes)
    clock_hour = (layout.clock_minute + interval_minutes / 2) / 60.0
    standard = tz.utcoffset(dt.datetime(day.year, 1, 15)) or dt.timedelta(0)
    midnight_std = layout.start_utc + standard
    first = (midnight_std.hour * 60 + midnight_std.minute) / 60.0
    elapsed = (np.arange(layout.n_slots) * interval_minutes + interval_minutes / 2) / 60.0
    sun_hour = (first + elapsed) % 24.0
    return DayClock(layout.n_slots, interval_minutes, clock_hour, sun_hour, day.weekday(),
                    day.timetuple().tm_yday)


def _hourly_temperature(mean: float, clock: DayClock) -> np.ndarray:
    # coolest near 05:00, warmest near 15:00
    return mean + 5.0 * np.sin(2 * np.pi * (clock.sun_hour - 9.0) / 24.0)


def _bump(hours: np.ndarray, centre: float, width: float) -> np.ndarray:
    return np.exp(-((hours - centre) ** 2) / (2 * width ** 2))


@dataclass(frozen=True)
class Customers:
    """Per-service-point parameters of one kind, drawn once for the whole seed."""

    scale: np.ndarray  # (N,) size of the customer relative to the class average
    cooling: np.ndarray  # (N,) kW (or m3/h) per degree above 22 C
    heating: np.ndarray  # (N,) kW (or m3/h) per degree below 16 C (electric) / 18 C (gas)
    shifts: np.ndarray  # (N,) industrial: 2 or 3 shifts; others 0


def customers_draw(kind: str, n: int, seed: int) -> Customers:
    rng = rng_for(seed, 1000 + KIND_CODE[kind])
    scale = rng.lognormal(0.0, 0.35, n)
    cooling = np.where(rng.random(n) < 0.7, rng.uniform(0.05, 0.18, n), 0.0)  # 70 % have A/C
    if kind == RES_ELECTRIC:
        heating = np.where(rng.random(n) < 0.15, rng.uniform(0.15, 0.35, n), 0.0)  # 15 % electric heat
    elif kind == GAS:
        heating = rng.uniform(0.02, 0.05, n)
    else:
        heating = np.zeros(n)
    shifts = np.where(rng.random(n) < 0.4, 3, 2) if kind == IND_ELECTRIC else np.zeros(n, dtype=np.int64)
    if kind == SOLAR:
        scale = rng.uniform(4.0, 10.0, n)  # kW of panels
    return Customers(scale, cooling, heating, shifts)


def consumption_day(kind: str, customers: Customers, day: dt.date, tz: dt.tzinfo, seed: int,
                    interval_minutes: int) -> np.ndarray:
    """True consumption (or generation, for SOLAR) of every customer in one local day, per
    interval, in kWh or m3: (N, slots of that day)."""
    clock = day_clock(day, tz, interval_minutes)
    n = len(customers.scale)
    rng = rng_for(seed, 2000 + KIND_CODE[kind], day.toordinal())
    temp = _hourly_temperature(weather_mean_temperature(day, seed), clock)
    h = clock.clock_hour
    weekend = clock.weekday >= 5
    hours_per_slot = interval_minutes / 60.0
    if kind == RES_ELECTRIC:
        if weekend:
            shape = 0.30 + 0.45 * _bump(h, 9.5, 1.8) + 0.25 * ((h >= 10) & (h < 16)) + 1.0 * _bump(h, 18.5, 2.2)
        else:
            shape = 0.25 + 0.60 * _bump(h, 7.3, 1.0) + 1.05 * _bump(h, 19.0, 2.0)
        kw = customers.scale[:, None] * shape[None, :]
        kw += customers.cooling[:, None] * np.maximum(temp - 22.0, 0.0)[None, :]
        kw += customers.heating[:, None] * np.maximum(16.0 - temp, 0.0)[None, :]
        kw *= rng.lognormal(0.0, 0.22, (n, clock.n_slots))
        # kettles, dryers, ovens: short bursts on top of the smooth shape
        kw += (rng.random((n, clock.n_slots)) < 0.03) * rng.uniform(0.5, 2.5, (n, clock.n_slots))
        return kw * hours_per_slot
    if kind == COM_ELECTRIC:
        if clock.weekday == 6:
            open_ = np.zeros_like(h)
        elif clock.weekday == 5:
            open_ = ((h >= 10) & (h < 16)).astype(float) * 0.6
        else:
            open_ = np.clip((h - 7.0), 0, 1) * np.clip((18.5 - h), 0, 1)
        shape = 0.35 + 0.9 * open_
        kw = 25.0 * customers.scale[:, None] * shape[None, :]
        kw += 25.0 * customers.scale[:, None] * 0.02 * np.maximum(temp - 20.0, 0.0)[None, :] * (0.3 + open_)[None, :]
        kw *= rng.lognormal(0.0, 0.08, (n, clock.n_slots))
        return kw * hours_per_slot
    if kind == IND_ELECTRIC:
        day_shift = ((h >= 6) & (h < 14)).astype(float)
        evening_shift = ((h >= 14) & (h < 22)).astype(float)
        night_shift = 1.0 - day_shift - evening_shift
        running = day_shift[None, :] + evening_shift[None, :] + (customers.shifts == 3)[:, None] * night_shift[None, :]
        level = 0.25 + 0.75 * running * (0.45 if weekend else 1.0)
        kw = 400.0 * customers.scale[:, None] * level
        kw *= rng.lognormal(0.0, 0.05, (n, clock.n_slots))
        return kw * hours_per_slot
    if kind == SOLAR:
        day_length = 12.0 + 3.3 * np.sin(2 * np.pi * (clock.day_of_year - 80) / 365.25)
        sunrise = 12.3 - day_length / 2
        sun = np.clip(np.sin(np.pi * (clock.sun_hour - sunrise) / day_length), 0.0, None) ** 1.3
        sun[(clock.sun_hour < sunrise) | (clock.sun_hour > sunrise + day_length)] = 0.0
        elevation = 0.55 + 0.45 * np.sin(2 * np.pi * (clock.day_of_year - 80) / 365.25)
        clouds = cloudiness(day, seed)
        passing = np.clip(1.0 - clouds * rng.uniform(0.5, 1.3, (n, clock.n_slots)), 0.05, 1.0)
        kw = 0.8 * customers.scale[:, None] * elevation * sun[None, :] * passing
        return kw * hours_per_slot
    if kind == WATER:
        # about 0.6 m3 a day for an average household
        shape = 0.6 * (0.01 + 0.09 * _bump(h, 7.2, 1.1) + 0.06 * _bump(h, 19.5, 1.8) + 0.02 * ((h >= 10) & (h < 17)))
        use = customers.scale[:, None] * shape[None, :] * rng.lognormal(0.0, 0.5, (n, clock.n_slots))
        # nobody runs water most night hours: those read a true zero
        quiet = (rng.random((n, clock.n_slots)) < 0.7) & ((h < 5) | (h >= 23))[None, :]
        return np.where(quiet, 0.0, use) * hours_per_slot
    if kind == GAS:
        heat = customers.heating[:, None] * np.maximum(18.0 - temp, 0.0)[None, :]
        setback = np.where((h < 6) | (h >= 22), 0.7, 1.0)[None, :]
        hot_water = 0.04 + 0.08 * _bump(h, 7.5, 1.2) + 0.05 * _bump(h, 20.0, 1.5)
        m3h = customers.scale[:, None] * (heat * setback + hot_water[None, :])
        m3h *= rng.lognormal(0.0, 0.15, (n, clock.n_slots))
        return m3h * hours_per_slot
    raise ValueError(f"Unknown series kind {kind!r}.")


def net_solar(load: np.ndarray, generation: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Delivered and received energy per interval for a customer with panels: a bidirectional
    meter sees only the net flow in each interval."""
    net = load - generation
    return np.maximum(net, 0.0), np.maximum(-net, 0.0)


def quantise(values: np.ndarray) -> np.ndarray:
    """Meters report to 3 decimals (Wh, litres); the files and registers use these values."""
    return np.round(values, 3)


def injection_plan(n: int, n_slots: int, interval_minutes: int, rates: InjectionRates,
                   rng: np.random.Generator) -> Injection:
    """At most one fault per row, drawn at `rates`; gaps are 1-8 hours, zero runs 3-8 hours,
    both wholly inside the day."""
    u = rng.random(n)
    edges = np.cumsum([rates.day_missing, rates.gap, rates.spike, rates.zero_run])
    kind = np.where(u < edges[0], DAY_MISSING, np.where(u < edges[1], GAP, np.where(
        u < edges[2], SPIKE, np.where(u < edges[3], ZERO_RUN, NONE)))).astype(np.int8)
    per_hour = 60 // interval_minutes
    gap_len = rng.integers(1 * per_hour, 8 * per_hour + 1, n)
    zero_len = rng.integers(3 * per_hour, 8 * per_hour + 1, n)
    length = np.select([kind == DAY_MISSING, kind == GAP, kind == SPIKE, kind == ZERO_RUN],
                       [n_slots, gap_len, 1, zero_len], 0).astype(np.int64)
    start = np.floor(rng.random(n) * (n_slots - length + 1)).astype(np.int64)
    start[kind == DAY_MISSING] = 0
    start[kind == NONE] = 0
    return Injection(kind, start, length)


def inject(values: np.ndarray, plan: Injection, *, spike_floor: float = 1.0) -> np.ndarray:
    """The reported values: a copy of `values` with the plan applied. Gaps and missing days are
    NaN (the writer leaves those intervals out of the file); a spike is 8x the day's peak plus
    `spike_floor`; a zero run is zeros."""
    out = values.copy()
    cols = np.arange(values.shape[1])[None, :]
    inside = (cols >= plan.start[:, None]) & (cols < (plan.start + plan.length)[:, None])
    missing = inside & np.isin(plan.kind, (DAY_MISSING, GAP))[:, None]
    zeros = inside & (plan.kind == ZERO_RUN)[:, None]
    spikes = inside & (plan.kind == SPIKE)[:, None]
    peak = np.nanmax(values, axis=1, initial=0.0) if values.size else np.zeros(len(values))
    out[zeros] = 0.0
    out[spikes] = np.broadcast_to(np.round(8.0 * peak + spike_floor, 3)[:, None], out.shape)[spikes]
    out[missing] = np.nan
    return out
