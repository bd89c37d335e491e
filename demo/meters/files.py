"""The demo's AMI files: per local day, one CMEP file from the electric head-end and one from
the water/gas head-end, written with integrations.services (the CMEP writer) exactly as a head-end would send
them. Pure: no database, no clock; the same plan, seed and period give byte-identical files.

What is in a day's files:
* interval records (UTC times) of every meter channel for the day, cut where an injected gap
  leaves intervals out, and not at all for an injected missing day;
* at the meter exchange instant the old meter's record stops and the new meter's starts;
* a daily register read (AMI snapshot at the local midnight that ends the day) per meter
  register, equal to the previous read plus the day's true intervals (before the injected
  faults, which are reporting faults, not consumption), modulo 10^dials; the first day also
  carries the snapshot at the start of the period; commercial/industrial meters also send the
  day's maximum 15-minute demand in kW;
* records of meters the MDM does not know (`fleet.unknown_meter_serials`), which the import
  quarantines."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from integrations.services import write_cmep_intervals, write_cmep_registers
from mdm.services import day_start_utc, slots_in_day
from demo.meters import shapes
from demo.meters.fleet import Position, exchange_slot, unknown_meter_serials
from mdm.records import IntervalBlock, ParsedRegisterRead

UTC = dt.timezone.utc
_ELECTRIC = (shapes.RES_ELECTRIC, shapes.COM_ELECTRIC, shapes.IND_ELECTRIC)
_SPIKE_FLOOR = {shapes.RES_ELECTRIC: 1.0, shapes.COM_ELECTRIC: 5.0, shapes.IND_ELECTRIC: 20.0,
                shapes.WATER: 0.5, shapes.GAS: 0.5}


@dataclass(frozen=True)
class InjectedFault:
    """Where a fault was put: the meter that reported that channel-day (the one installed at
    the fault's first slot), its channel's direction, the local date, the kind (shapes.GAP ...)
    and the slots [start, start + length)."""

    service_point_id: int
    serial: str
    direction: str
    local_date: dt.date
    kind: int
    start: int
    length: int


@dataclass
class DayFiles:
    day: dt.date
    files: list[tuple[str, str]]  # (file name, CMEP text)
    removal_reads: dict[int, float] = field(default_factory=dict)  # service point -> old meter's register
    injections: list[InjectedFault] = field(default_factory=list)
    intervals_written: int = 0


class _Registers:
    """Running register of each position's current meter, per direction (meter-side units)."""

    def __init__(self, positions: list[Position]):
        self.value = {(i, d): pos.register_start[d] for i, pos in enumerate(positions)
                      for d in ("delivered", "received")}


def _runs(row: np.ndarray, a: int, b: int) -> list[tuple[int, int]]:
    """[start, end) runs of present (non-NaN) values of row[a:b]."""
    part = np.isnan(row[a:b])
    if not part.any():
        return [(a, b)] if b > a else []
    present = np.concatenate(([False], ~part, [False]))
    edges = np.flatnonzero(np.diff(present.astype(np.int8)))
    return [(a + int(s), a + int(e)) for s, e in zip(edges[::2], edges[1::2])]


def demo_day_files(*, positions: list[Position], start: dt.date, days: int, seed: int, tz: dt.tzinfo,
                   rates: shapes.InjectionRates = shapes.InjectionRates()) -> Iterator[DayFiles]:
    """Yield each local day's files in date order (the registers carry over day to day)."""
    kinds = [k for k in (*_ELECTRIC, shapes.WATER, shapes.GAS) if any(p.kind == k for p in positions)]
    rows = {k: [i for i, p in enumerate(positions) if p.kind == k] for k in kinds}
    customers = {k: shapes.customers_draw(k, len(rows[k]), seed) for k in kinds}
    res_rows = rows.get(shapes.RES_ELECTRIC, [])
    solar_customers = shapes.customers_draw(shapes.SOLAR, len(res_rows), seed)
    solar_mask = np.array([positions[i].solar for i in res_rows], dtype=bool)
    multiplier = {k: np.array([float(positions[i].multiplier) for i in rows[k]]) for k in kinds}
    registers = _Registers(positions)
    n_electric = sum(len(rows.get(k, [])) for k in _ELECTRIC)
    unknown = unknown_meter_serials(n_electric) if n_electric else []

    for offset in range(days):
        day = start + dt.timedelta(days=offset)
        out = DayFiles(day=day, files=[])
        day_start = day_start_utc(day, tz)
        day_end = day_start_utc(day + dt.timedelta(days=1), tz)
        blocks: dict[str, list[IntervalBlock]] = {"electric": [], "water-gas": []}
        reads: dict[str, list[ParsedRegisterRead]] = {"electric": [], "water-gas": []}
        for kind in kinds:
            group = "electric" if kind in _ELECTRIC else "water-gas"
            minutes = 15 if kind in _ELECTRIC else 60
            true = shapes.consumption_day(kind, customers[kind], day, tz, seed, minutes)
            series = []
            if kind == shapes.RES_ELECTRIC and solar_mask.any():
                generation = shapes.consumption_day(shapes.SOLAR, solar_customers, day, tz, seed, minutes)
                delivered, received = shapes.net_solar(true, np.where(solar_mask[:, None], generation, 0.0))
                series.append(("delivered", shapes.quantise(delivered)))
                series.append(("received", shapes.quantise(received)))
            else:
                series.append(("delivered", shapes.quantise(true / multiplier[kind][:, None])))
            for code, (direction, meter_side) in enumerate(series):
                row_ids = rows[kind] if direction == "delivered" else [i for i, s in zip(rows[kind], solar_mask) if s]
                if direction == "received":
                    meter_side = meter_side[solar_mask]
                plan = shapes.injection_plan(len(row_ids), meter_side.shape[1], minutes, rates,
                                             shapes.rng_for(seed, 3000 + 10 * shapes.KIND_CODE[kind] + code,
                                                            day.toordinal()))
                reported = shapes.inject(meter_side, plan, spike_floor=_SPIKE_FLOOR[kind])
                for r, pos_index in enumerate(row_ids):
                    pos = positions[pos_index]
                    cut = exchange_slot(pos, day, tz)
                    pieces = [(0, meter_side.shape[1], _meter_on(pos, day_start))] if cut is None else [
                        (0, cut, pos.meters[0]), (cut, meter_side.shape[1], pos.meters[1])]
                    for a, b, meter in pieces:
                        for s, e in _runs(reported[r], a, b):
                            blocks[group].append(IntervalBlock(
                                meter_serial=meter.serial, unit=pos.unit, direction=direction,
                                interval_minutes=minutes,
                                first_end_at=day_start + dt.timedelta(minutes=minutes * (s + 1)),
                                values=tuple(reported[r, s:e].tolist()), source_line=0,
                            ))
                            out.intervals_written += e - s
                    if plan.kind[r] != shapes.NONE:
                        at_slot = pieces[-1][2] if cut is not None and plan.start[r] >= cut else pieces[0][2]
                        out.injections.append(InjectedFault(pos.service_point_id, at_slot.serial, direction, day,
                                                            int(plan.kind[r]), int(plan.start[r]),
                                                            int(plan.length[r])))
                    reads[group].extend(_register_reads(pos, pos_index, direction, meter_side[r], cut, day,
                                                        day_start, day_end, registers, out, first=offset == 0))
        if unknown:
            values = shapes.quantise(shapes.rng_for(seed, 4000, day.toordinal()).uniform(0.05, 0.6, (len(unknown), 96)))
            for serial, row in zip(unknown, values):
                n = slots_in_day(day, tz, 15)
                blocks["electric"].append(IntervalBlock(serial, "kWh", "delivered", 15, day_start + dt.timedelta(minutes=15),
                                                        tuple(np.resize(row, n).tolist()), 0))
        for group in ("electric", "water-gas"):
            if blocks[group] or reads[group]:
                text = write_cmep_intervals(blocks[group], sender="DEMO-AMI") + write_cmep_registers(
                    reads[group], sender="DEMO-AMI")
                out.files.append((f"demo-{group}-{day:%Y-%m-%d}.cmep", text))
        yield out


def _meter_on(pos: Position, instant: dt.datetime):
    if pos.exchange_at is not None and instant >= pos.exchange_at:
        return pos.meters[1]
    return pos.meters[0]


def _register_reads(pos: Position, pos_index: int, direction: str, meter_side: np.ndarray, cut: int | None,
                    day: dt.date, day_start: dt.datetime, day_end: dt.datetime, registers: _Registers,
                    out: DayFiles, *, first: bool) -> list[ParsedRegisterRead]:
    key = (pos_index, direction)
    dials = pos.meters[0].channels[0].dials
    wrap = float(10 ** dials)
    reads = []
    if first:
        reads.append(ParsedRegisterRead(_meter_on(pos, day_start).serial, pos.unit, direction, day_start,
                                        round(registers.value[key] % wrap, 3), 0))
    if cut is None:
        registers.value[key] += float(meter_side.sum())
    else:
        registers.value[key] += float(meter_side[:cut].sum())
        if direction == "delivered":
            out.removal_reads[pos.service_point_id] = round(registers.value[key] % wrap, 3)
        registers.value[key] = float(meter_side[cut:].sum())  # the new meter starts at 0
    meter = _meter_on(pos, day_end)
    reads.append(ParsedRegisterRead(meter.serial, pos.unit, direction, day_end, round(registers.value[key] % wrap, 3), 0))
    if direction == "delivered" and pos.kind in (shapes.COM_ELECTRIC, shapes.IND_ELECTRIC):
        portion = meter_side if cut is None else meter_side[cut:]
        demand_kw = float(portion.max()) * 60 / pos.interval_minutes if len(portion) else 0.0
        reads.append(ParsedRegisterRead(meter.serial, "kW", direction, day_end, round(demand_kw, 3), 0))
    return reads
