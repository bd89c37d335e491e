"""Demo meters and their data, loaded through the real import path.

`demo_meters_seed` gives every service point of the demo utility (cis) a meter, generates the
period's AMI files (demo.meters.files, pure and seeded) and imports them with
mdm.importing.import_file, exactly as a head-end upload would be. What the data looks like and the
fault rates: mdm/demo/shapes.py and mdm/demo/files.py; timings: docs/performance.md."""
from __future__ import annotations

import datetime as dt
import multiprocessing
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from core.clock import utility_zone
from django.db import connection, connections

from cis.selectors import service_points_for_metering
from demo.meters.fleet import (  # noqa: F401
    DemoMetersExistError,
    Position,
    exchanges_record,
    fleet_create,
    fleet_plan,
)
from demo.meters.files import InjectedFault, demo_day_files
from demo.meters.shapes import InjectionRates
from mdm.importing import import_file
from mdm.selectors import meter_get, meter_installations

FAULT_NAMES = {1: "missing days", 2: "gaps", 3: "spikes", 4: "zero runs"}


@dataclass
class DemoMetersReport:
    meters: int = 0
    service_points: int = 0
    exchanges: int = 0
    files: int = 0
    import_run_ids: list[int] = field(default_factory=list)
    intervals_written: int = 0
    intervals_loaded: int = 0
    registers_loaded: int = 0
    quarantined: int = 0
    faults: Counter = field(default_factory=Counter)  # fault name -> channel-days
    injections: list[InjectedFault] = field(default_factory=list)  # only when asked (tests)
    seconds: float = 0.0


def _import_one(content: bytes, name: str, now: dt.datetime) -> tuple[str, int, int, int, int, float]:
    started = time.monotonic()
    run = import_file(content, format="cmep", file_name=name, now=now)
    return name, run.pk, run.intervals_loaded, run.registers_loaded, run.quarantined, time.monotonic() - started


def demo_meters_seed(*, end_date: dt.date, now: dt.datetime, days: int = 35, seed: int = 42,
                     rates: InjectionRates = InjectionRates(), keep_injections: bool = False, workers: int = 0,
                     log: Callable[[str], None] = lambda line: None) -> DemoMetersReport:
    """Meters for every metered service point, then `days` local days [end_date - days,
    end_date) of interval data and daily register reads, imported file by file
    (demo_fleet_seed, then demo_ami_seed).

    With `workers` > 0 the files are imported by that many forked processes while this one
    generates the next days (each file is a separate import of separate channel-days, so they
    never wait on each other); 0, or when called inside a transaction (tests), imports in this
    process and transaction: forked workers would not see the uncommitted meters.
    `now` stamps the import runs (the data does not depend on it). Raises DemoMetersExistError
    when meters already exist, ValueError for days < 1, and what import_file raises."""
    started = time.monotonic()
    positions = demo_fleet_seed(end_date=end_date, days=days, seed=seed, log=log)
    report = demo_ami_seed(positions=positions, end_date=end_date, now=now, days=days, seed=seed, rates=rates,
                           keep_injections=keep_injections, workers=workers, log=log)
    report.seconds = time.monotonic() - started
    return report


def demo_fleet_seed(*, end_date: dt.date, days: int = 35, seed: int = 42,
                    log: Callable[[str], None] = lambda line: None) -> list[Position]:
    """The meters of every metered service point (fleet_plan, fleet_create), installed before
    the period [end_date - days, end_date) starts; their data comes with demo_ami_seed. Raises
    DemoMetersExistError when meters already exist, ValueError for days < 1."""
    if days < 1:
        raise ValueError("days must be at least 1.")
    started = time.monotonic()
    tz = utility_zone()
    start = end_date - dt.timedelta(days=days)
    service_points = service_points_for_metering()
    positions = fleet_plan(service_points=service_points, seed=seed, start=start, days=days, tz=tz)
    fleet_create(positions=positions, tz=tz)
    log(f"meters: {sum(len(p.meters) for p in positions):,} at {len(positions):,} of {len(service_points):,} "
        f"service points ({time.monotonic() - started:.1f}s)")
    return positions


def demo_fleet_positions(*, service_point_ids: list[int], end_date: dt.date, days: int, seed: int) -> list[Position]:
    """The plan demo_fleet_seed wrote, for a later process (demo.preparation): the same service
    points, seed and period give the same plan; each exchanged position gets its mdm
    installations back (both once its exchange is recorded, so it is not recorded twice)."""
    tz = utility_zone()
    wanted = set(service_point_ids)
    service_points = [sp for sp in service_points_for_metering() if sp.id in wanted]
    positions = fleet_plan(service_points=service_points, seed=seed, start=end_date - dt.timedelta(days=days),
                           days=days, tz=tz)
    for pos in positions:
        if pos.exchange_at is None:
            continue
        installed = meter_installations(meter=meter_get(serial=pos.meters[0].serial))
        replacement = meter_get(serial=pos.meters[1].serial)
        pos.installations = installed + meter_installations(meter=replacement)
        pos.replacement = replacement
    return positions


def demo_ami_seed(*, positions: list[Position], end_date: dt.date, now: dt.datetime, days: int = 35, seed: int = 42,
                  rates: InjectionRates = InjectionRates(), keep_injections: bool = False, workers: int = 0,
                  on_day_imported: Callable[[dt.date, bool], None] | None = None,
                  log: Callable[[str], None] = lambda line: None) -> DemoMetersReport:
    """The period's AMI files for the meters of `positions`, generated day by day and imported
    through mdm.importing.import_file (a file imported before adds nothing: run again after
    an interruption, it finishes the days not imported), with each planned meter exchange
    recorded on its day. `on_day_imported(day, loaded_anything)` is called, in date order, once
    both files of a day are imported. See demo_meters_seed for `workers`."""
    if days < 1:
        raise ValueError("days must be at least 1.")
    started = time.monotonic()
    tz = utility_zone()
    start = end_date - dt.timedelta(days=days)
    report = DemoMetersReport(meters=sum(len(p.meters) for p in positions), service_points=len(positions))
    files_of_day: dict[dt.date, int] = {}
    loaded_of_day: dict[dt.date, int] = {}
    next_day = [start]  # the first day not yet reported to on_day_imported

    def exchanges_of_day(day_files) -> None:
        if day_files.removal_reads:
            report.exchanges += exchanges_record(
                positions=[p for p in positions if p.service_point_id in day_files.removal_reads],
                removal_reads=day_files.removal_reads,
            )

    def record(outcome) -> None:
        name, run_id, loaded, registers, quarantined, seconds = outcome
        report.files += 1
        report.import_run_ids.append(run_id)
        report.intervals_loaded += loaded
        report.registers_loaded += registers
        report.quarantined += quarantined
        log(f"imported {name}: {loaded:,} intervals, {registers:,} register reads, {quarantined} quarantined "
            f"({seconds:.1f}s)")
        day = dt.date.fromisoformat(name[-len("YYYY-MM-DD.cmep"):-len(".cmep")])
        files_of_day[day] -= 1
        loaded_of_day[day] = loaded_of_day.get(day, 0) + loaded + registers
        # Files finish in the order they were handed out, so the days finish in date order.
        while next_day[0] in files_of_day and files_of_day[next_day[0]] == 0:
            if on_day_imported is not None:
                on_day_imported(next_day[0], loaded_of_day.get(next_day[0], 0) > 0)
            next_day[0] += dt.timedelta(days=1)

    pool = None
    if workers > 0 and not connection.in_atomic_block:
        connections.close_all()  # forked workers open their own connections
        pool = multiprocessing.get_context("fork").Pool(workers)
    waiting = []
    try:
        for day_files in demo_day_files(positions=positions, start=start, days=days, seed=seed, tz=tz, rates=rates):
            report.intervals_written += day_files.intervals_written
            for fault in day_files.injections:
                report.faults[FAULT_NAMES[fault.kind]] += 1
            if keep_injections:
                report.injections.extend(day_files.injections)
            files_of_day[day_files.day] = len(day_files.files)
            for name, text in day_files.files:
                if pool is None:
                    record(_import_one(text.encode(), name, now))
                else:
                    waiting.append(pool.apply_async(_import_one, (text.encode(), name, now)))
            exchanges_of_day(day_files)
            # Generation runs ahead of the imports by a few files at most (memory).
            while len(waiting) > 2 * workers:
                record(waiting.pop(0).get())
        for pending in waiting:
            record(pending.get())
    except BaseException:
        if pool is not None:
            pool.terminate()  # an interrupted seed (Ctrl-C, TERM) leaves no import process behind
        raise
    finally:
        if pool is not None:
            pool.close()
            pool.join()

    report.seconds = time.monotonic() - started
    log(f"done: {report.intervals_loaded:,} intervals from {report.files} files in {report.seconds:.0f}s; "
        f"injected {dict(report.faults)}; {report.quarantined} records quarantined; {report.exchanges} exchanges")
    return report
