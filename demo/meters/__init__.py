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
from demo.meters.fleet import DemoMetersExistError, exchanges_record, fleet_create, fleet_plan  # noqa: F401
from demo.meters.files import InjectedFault, demo_day_files
from demo.meters.shapes import InjectionRates
from mdm.importing import import_file

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
    end_date) of interval data and daily register reads, imported file by file.

    With `workers` > 0 the files are imported by that many forked processes while this one
    generates the next days (each file is a separate import of separate channel-days, so they
    never wait on each other); 0, or when called inside a transaction (tests), imports in this
    process and transaction: forked workers would not see the uncommitted meters.
    `now` stamps the import runs (the data does not depend on it). Raises DemoMetersExistError
    when meters already exist, ValueError for days < 1, and what import_file raises."""
    if days < 1:
        raise ValueError("days must be at least 1.")
    started = time.monotonic()
    tz = utility_zone()
    start = end_date - dt.timedelta(days=days)
    service_points = service_points_for_metering()
    positions = fleet_plan(service_points=service_points, seed=seed, start=start, days=days, tz=tz)
    fleet_create(positions=positions, tz=tz)
    report = DemoMetersReport(meters=sum(len(p.meters) for p in positions), service_points=len(positions))
    log(f"meters: {report.meters:,} at {len(positions):,} of {len(service_points):,} service points "
        f"({time.monotonic() - started:.1f}s)")

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
    finally:
        if pool is not None:
            pool.close()
            pool.join()

    report.seconds = time.monotonic() - started
    log(f"done: {report.intervals_loaded:,} intervals from {report.files} files in {report.seconds:.0f}s; "
        f"injected {dict(report.faults)}; {report.quarantined} records quarantined; {report.exchanges} exchanges")
    return report
