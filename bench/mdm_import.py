"""End-to-end AMI import + VEE benchmark against PostgreSQL, with a raw COPY baseline.

    .venv/bin/python bench/mdm_import.py --meters 100000 --days 1

1. Creates a fresh database (default utilis_bench_mdm) on the DATABASE_URL's server, migrates
   it, and bulk-creates N meters with one 15-minute kWh channel each.
2. generate: N meters x D days of 15-minute data (1 % of meter-days with a one-hour gap, left out
   of the file; 0.5 % with a spike) written as one CMEP file per day into a temp folder with
   integrations.cmep.writer.
3. import: each file through mdm.importing exactly as the Celery tasks do it
   (import_run_create, import_run_prepare handing each committed batch of chunks over,
   import_chunk_load per chunk), the chunks loaded by --workers processes while the parent is
   still preparing, like chunk tasks on the other Celery workers.
4. VEE: the imported channel-days loaded back, the pure mdm.vee.run_vee with the default rule
   set, and the days it changed written back with mdm.services.interval_days_replace (versioned).
5. baseline: the same values COPYed into an unlogged table as one row per channel-day (and,
   unless --no-per-interval, one row per interval), payload prepared before the clock starts.

Prints wall time and intervals/s per phase; "import + VEE" is the figure the targets are
about. Phase times inside the import are CPU-side sums over the worker processes. The floor
printed at the end is the binary COPY out of the days VEE reads plus the COPY in of the
channel-day rows, measured in the same run, with the ratio to it. The database is dropped at
the end unless --keep."""
from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

FIRST_DAY = dt.date(2026, 6, 22)  # a Monday in summer; --start to change
TIMES: Counter = Counter()
DAY_ROWS = "per channel-day (int4[] + bytea)"


def _fresh_database(url: str, name: str) -> str:
    import psycopg

    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def _drop_database(url: str, name: str) -> None:
    import psycopg

    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _exists(url: str, name: str) -> bool:
    import psycopg

    admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def _clone(url: str, template: str, name: str) -> str:
    """`name` afresh as a file copy of `template` (CREATE DATABASE ... TEMPLATE)."""
    import psycopg

    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def _timed(name: str, func):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            TIMES[name] += time.perf_counter() - started

    return wrapper


def _instrument() -> None:
    """Wrap the pipeline's steps with timers (the bench only: the code that runs is unchanged)."""
    from mdm.importing import pipeline
    from mdm.services import intervals

    real_read_format = pipeline.read_format

    class TimedFormat:
        def __init__(self, fmt):
            self.fmt = fmt

        def parse(self, content, source_name, **options):  # tz, limits: whatever the pipeline passes
            return _timed("parse", self.fmt.parse)(content, source_name, **options)

        def prelude(self, content):
            return self.fmt.prelude(content)

    pipeline.read_format = lambda name: TimedFormat(real_read_format(name))
    pipeline.import_run_prepare = _timed("prepare (parse + chunk rows)", pipeline.import_run_prepare)
    pipeline.import_chunk_load = _timed("chunk load (all)", pipeline.import_chunk_load)
    pipeline.stage_blocks = _timed("stage (slots)", pipeline.stage_blocks)
    pipeline.interval_days_merge = _timed("COPY + merge", pipeline.interval_days_merge)
    intervals._stage = _timed("COPY to staging (binary)", intervals._stage)


def _day_values(rng: np.random.Generator, n: int, slots: int) -> np.ndarray:
    hours = (np.arange(slots) + 0.5) * 24 / slots
    base = 0.05 + 0.08 * np.exp(-((hours - 19) ** 2) / 8) + 0.04 * np.exp(-((hours - 7.5) ** 2) / 2)
    return np.round(base[None, :] * rng.lognormal(0, 0.35, (n, 1)) * rng.lognormal(0, 0.2, (n, slots)), 3)


def generate(meters: int, days: int, start: dt.date, folder: Path, tz) -> tuple[list[Path], int, dict]:
    from integrations.cmep.writer import write_cmep_intervals
    from mdm import timeutil
    from mdm.records import IntervalBlock

    paths, total, truth = [], 0, {}
    serials = [f"BM{n:08d}" for n in range(meters)]
    for offset in range(days):
        day = start + dt.timedelta(days=offset)
        rng = np.random.default_rng([7, day.toordinal()])
        slots = timeutil.slots_in_day(day, tz, 15)
        values = _day_values(rng, meters, slots)
        gap = rng.random(meters) < 0.01
        spike = (rng.random(meters) < 0.005) & ~gap
        values[spike, slots // 2] = np.round(values[spike].max(axis=1) * 8 + 1, 3)
        truth[day] = {"gaps": int(gap.sum()), "spikes": int(spike.sum())}
        midnight = timeutil.day_start_utc(day, tz)
        first_end = midnight + dt.timedelta(minutes=15)
        gap_at = slots // 3
        blocks = []
        for i, serial in enumerate(serials):
            row = values[i].tolist()
            if gap[i]:  # a one-hour gap: the head-end sends the day in two records
                blocks.append(IntervalBlock(serial, "kWh", "delivered", 15, first_end, tuple(row[:gap_at]), 0))
                blocks.append(IntervalBlock(serial, "kWh", "delivered", 15,
                                            midnight + dt.timedelta(minutes=15 * (gap_at + 5)), tuple(row[gap_at + 4:]), 0))
                total += slots - 4
            else:
                blocks.append(IntervalBlock(serial, "kWh", "delivered", 15, first_end, tuple(row), 0))
                total += slots
        path = folder / f"bench-{day:%Y%m%d}.cmep"
        path.write_text(write_cmep_intervals(blocks, sender="BENCH"))
        paths.append(path)
    return paths, total, truth


def _chunk_worker(tasks, results, now: dt.datetime) -> None:
    """A forked stand-in for a Celery worker: loads the chunks handed to it until None."""
    from django.db import connections

    from mdm.importing import pipeline

    TIMES.clear()
    while (task := tasks.get()) is not None:
        run_id, index = task
        pipeline.import_chunk_load(import_run_id=run_id, chunk=index, now=now)
    connections.close_all()
    results.put(dict(TIMES))


def import_files(paths: list[Path], workers: int, now: dt.datetime) -> list[int]:
    """Each file as import_file_task does it: prepare hands each batch of chunks over as soon
    as it is committed (on_chunks) and `workers` forked processes load them meanwhile, as the
    import_chunk tasks on the other Celery workers would. The preparing process is the
    parent, a third process beside the loaders (on 2 cores all three share them)."""
    from django.db import connections

    from mdm.importing import pipeline

    run_ids = []
    for path in paths:
        run = pipeline.import_run_create(content=path.read_bytes(), file_name=path.name, format="cmep", now=now)
        run_ids.append(run.pk)
        if workers <= 1:
            for index in pipeline.import_run_prepare(import_run_id=run.pk, now=now):
                pipeline.import_chunk_load(import_run_id=run.pk, chunk=index, now=now)
            continue
        connections.close_all()  # forked workers must not share the parent's connection
        context = multiprocessing.get_context("fork")
        tasks, results = context.Queue(), context.Queue()
        loaders = [context.Process(target=_chunk_worker, args=(tasks, results, now)) for _ in range(workers)]
        for loader in loaders:
            loader.start()
        def hand_over(numbers: list[int], run_id: int = run.pk) -> None:
            for number in numbers:
                tasks.put((run_id, number))

        try:
            pipeline.import_run_prepare(import_run_id=run.pk, now=now, on_chunks=hand_over)
        finally:
            for _ in loaders:
                tasks.put(None)
            for _ in loaders:
                TIMES.update(results.get())
            for loader in loaders:
                loader.join()
    return run_ids


def vee(start: dt.date, days: int, tz, now: dt.datetime) -> dict:
    """Load the imported days, run VEE, write back the changed days. Returns counts and times."""
    from django.db import connection

    from mdm.interval_store import read_channel_days
    from mdm.services import StagedDay, interval_days_replace
    from mdm.vee.channel_days import ChannelDays
    from mdm.vee.engine import run_vee
    from mdm.vee.rules import default_rule_set

    out = {}
    started = time.perf_counter()
    # The one reader (mdm.interval_store: one binary COPY, decoded by numpy into float64)
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT channel_id FROM mdm_interval_day WHERE local_date >= %s AND local_date < %s",
                       [start, start + dt.timedelta(days=days)])
        channel_ids = [row[0] for row in cursor.fetchall()]
    stored = read_channel_days(channel_ids, start, start + dt.timedelta(days=days))
    values, flags, ids, day_arr = stored.values, stored.flags, stored.channel_ids, stored.dates
    out["load"] = time.perf_counter() - started
    out["present"] = int(np.count_nonzero(~np.isnan(values)))

    started = time.perf_counter()
    batch = ChannelDays.build(channel_ids=ids, days=day_arr, values=values, flags=flags, tz=tz, interval_minutes=15)
    history = batch if days > 1 else None
    result = run_vee(days=batch, rules=default_rule_set(), history=history)
    out["run_vee"] = time.perf_counter() - started

    started = time.perf_counter()
    changed = np.flatnonzero(result.changed(batch))
    staged = [
        StagedDay(int(ids[i]), day_arr[i].astype(dt.date), 15, result.values[i, : batch.n_slots[i]],
                  result.flags[i, : batch.n_slots[i]])
        for i in changed
    ]
    counts = interval_days_replace(days=staged, now=now, reason="bench VEE")
    out["write-back"] = time.perf_counter() - started
    out["channel_days"] = len(ids)
    out["changed_days"] = int(len(changed))
    out["versioned"] = counts.days_versioned
    out["worklist"] = len(result.worklist)
    out["estimated"] = {name: int(mask.sum()) for name, mask in result.estimated_by.items()}
    return out


def _vee_chunks(args) -> int:
    vee_run_id, chunk_indexes, now = args
    from django.db import connections

    from mdm.services import vee_runs

    for index in chunk_indexes:
        vee_runs.vee_run_chunk_process(vee_run_id=vee_run_id, chunk=index, now=now)
    connections.close_all()
    return len(chunk_indexes)


def vee_with_runs(start: dt.date, days: int, workers: int, now: dt.datetime) -> dict:
    """The production path: a VeeRun over every channel with data, its chunks processed by
    `workers` forked processes as the vee_run_chunk Celery tasks would be."""
    from django.db import connections

    from mdm.services import vee_runs
    from mdm.models import VeeRun

    end = start + dt.timedelta(days=days)
    run = vee_runs.vee_run_create(channel_ids=vee_runs.channels_with_data(start_date=start, end_date=end),
                                  start_date=start, end_date=end, scope="bench", now=now)
    pending = vee_runs.vee_run_begin(vee_run_id=run.pk, now=now)
    if workers <= 1:
        for index in pending:
            vee_runs.vee_run_chunk_process(vee_run_id=run.pk, chunk=index, now=now)
    else:
        connections.close_all()
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            pool.map(_vee_chunks, [(run.pk, pending[w::workers], now) for w in range(workers)])
    run = VeeRun.objects.get(pk=run.pk)
    return {"status": run.status, "chunks": len(pending), "channel_days": run.channel_days_validated,
            "changed_days": run.channel_days_changed, "estimated": run.intervals_estimated,
            "findings": run.findings_count, "worklist": run.worklist_items}


def raw_copy(start: dt.date, days: int, meters: int, tz, per_interval: bool) -> dict:
    """COPY the same number of values into unlogged tables: the floor for what a load can cost."""
    from django.db import connection

    from mdm import timeutil

    out = {}
    day_lines, interval_lines = [], []
    for offset in range(days):
        day = start + dt.timedelta(days=offset)
        slots = timeutil.slots_in_day(day, tz, 15)
        values = _day_values(np.random.default_rng([7, day.toordinal()]), meters, slots)
        midnight = timeutil.day_start_utc(day, tz)
        milli = np.rint(values * 1000).astype(np.int64)  # the store's encoding: int4 thousandths, byte flags
        flags_hex = "\\\\x" + bytes(slots).hex()
        for i in range(meters):
            day_lines.append(f"{i + 1}\t{day.isoformat()}\t{{{','.join(map(str, milli[i].tolist()))}}}\t{flags_hex}\n")
        if per_interval:
            stamps = [(midnight + dt.timedelta(minutes=15 * s)).isoformat() for s in range(slots)]
            for i in range(meters):
                interval_lines.extend(f"{i + 1}\t{t}\t{v}\n" for t, v in zip(stamps, values[i].tolist()))
    payloads = [(DAY_ROWS, "bench_raw_day",
                 "channel_id bigint, local_date date, vals int4[], flags bytea", "".join(day_lines))]
    del day_lines
    if per_interval:
        payloads.append(("per interval", "bench_raw_interval", "channel_id bigint, ts timestamptz, value float8",
                         "".join(interval_lines)))
        del interval_lines
    raw = connection.cursor().cursor
    # What VEE reads back: the stored days of the pass, one binary COPY out (its look-back days
    # hold nothing in a fresh database).
    started = time.perf_counter()
    with raw.copy('COPY (SELECT channel_id, local_date, interval_minutes, version, decimals, "values", flags '
                  "FROM mdm_interval_day WHERE local_date >= %s AND local_date < %s) TO STDOUT (FORMAT BINARY)",
                  [start, start + dt.timedelta(days=days)]) as copy:
        for _block in copy:
            pass
    out["read: COPY out of the days (binary)"] = time.perf_counter() - started
    for label, table, columns, payload in payloads:
        raw.execute(f"DROP TABLE IF EXISTS {table}")
        raw.execute(f"CREATE UNLOGGED TABLE {table} ({columns})")
        started = time.perf_counter()
        with raw.copy(f"COPY {table} FROM STDIN") as copy:
            step = 8 << 20
            for pos in range(0, len(payload), step):
                copy.write(payload[pos: pos + step])
        out[label] = time.perf_counter() - started
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--meters", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--start", type=dt.date.fromisoformat, default=FIRST_DAY)
    parser.add_argument("--workers", type=int, default=max(1, min(2, os.cpu_count() or 1)),
                        help="processes loading chunks (Celery workers stand-in); default: the cores, at most 2")
    parser.add_argument("--database", default="utilis_bench_mdm", help="created fresh on the DATABASE_URL's server")
    parser.add_argument("--no-per-interval", action="store_true", help="skip the one-row-per-interval COPY baseline")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database (dropped by default)")
    parser.add_argument("--template", help="build the set-up (migrated, the meters) in this database and keep it; "
                                           "later runs with the same --template and --meters clone it (seconds, "
                                           "not minutes of migrate)")
    parser.add_argument("--setup-only", action="store_true", help="with --template: build it and stop")
    parser.add_argument("--vee", choices=("runs", "pure"), default="runs",
                        help="runs: mdm.services.vee_runs (VeeRun chunks across --workers, findings, worklist); "
                             "pure: read back + mdm.vee.run_vee + interval_days_replace in this process")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/utilis")
    reuse = bool(args.template) and _exists(url, args.template)
    if reuse:
        os.environ["DATABASE_URL"] = _clone(url, args.template, args.database)
    else:
        os.environ["DATABASE_URL"] = _fresh_database(url, args.template or args.database)
    media = tempfile.TemporaryDirectory(prefix="bench-media-")
    os.environ["UTILIS_MEDIA_ROOT"] = media.name
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    # The pipeline queues a VEE run on Celery after each import; here VEE is a timed phase of its
    # own, in process, so nothing goes to the broker.
    settings.UTILIS_VEE_AFTER_IMPORT = False

    from mdm.models import Channel

    print(f"load average at start {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    from django.db import connections

    if reuse:
        found = Channel.objects.count()
        if found != args.meters:
            sys.exit(f"template {args.template} holds {found:,} channels, not --meters {args.meters:,}")
    else:
        _meters_create(args.meters)
        if args.template:  # keep the set-up; this run works in a copy of it
            connections.close_all()
            if args.setup_only:
                print(f"kept the set-up in {args.template} ({time.perf_counter() - started:.1f} s)")
                return
            _clone(url, args.template, args.database)
            connections["default"].settings_dict["NAME"] = args.database
    print(f"setup: {'cloned ' + args.template if reuse else 'fresh database'} -> {args.database}, "
          f"{args.meters:,} meters and channels in {time.perf_counter() - started:.1f} s")
    _run(args)
    media.cleanup()
    connections.close_all()
    if not args.keep:
        _drop_database(url, args.database)
    else:
        print(f"kept database {args.database}")


def _meters_create(n: int) -> None:
    from django.db import connection

    from mdm.models import Channel, Meter

    with connection.cursor() as cursor:  # set-based: the meters are setup, not what is measured
        cursor.execute(
            """INSERT INTO mdm_meter (serial_number, manufacturer, model, kind, ami_capable, status, created_at, updated_at)
               SELECT 'BM' || lpad(n::text, 8, '0'), '', '', %s, true, %s, now(), now()
               FROM generate_series(0, %s - 1) AS n ORDER BY n""",
            [Meter.Kind.ELECTRIC_SINGLE_PHASE, Meter.Status.INSTALLED, n],
        )
        cursor.execute(
            """INSERT INTO mdm_channel (meter_id, channel_number, unit, direction, interval_minutes)
               SELECT id, 1, %s, %s, 15 FROM mdm_meter ORDER BY id""",
            [Channel.Unit.KWH, Channel.Direction.DELIVERED],
        )
        cursor.execute("ANALYZE mdm_meter")
        cursor.execute("ANALYZE mdm_channel")


def _run(args) -> None:
    from django.db import connection
    from django.utils import timezone

    from core.clock import utility_zone
    from mdm.models import ImportRun

    tz = utility_zone()
    now = timezone.now()
    _instrument()
    with tempfile.TemporaryDirectory(prefix="bench-cmep-") as folder:
        started = time.perf_counter()
        paths, intervals, truth = generate(args.meters, args.days, args.start, Path(folder), tz)
        t_generate = time.perf_counter() - started
        size = sum(p.stat().st_size for p in paths)
        print(f"generate: {intervals:,} intervals in {len(paths)} CMEP file(s), {size / 1e6:.0f} MB, "
              f"{t_generate:.1f} s; injected {truth}")

        started = time.perf_counter()
        run_ids = import_files(paths, args.workers, now)
        t_import = time.perf_counter() - started

    loaded = sum(ImportRun.objects.filter(pk__in=run_ids).values_list("intervals_loaded", flat=True))
    quarantined = sum(ImportRun.objects.filter(pk__in=run_ids).values_list("quarantined", flat=True))
    started = time.perf_counter()
    if args.vee == "pure":
        vee_out = vee(args.start, args.days, tz, now)
    else:
        vee_out = vee_with_runs(args.start, args.days, args.workers, now)
    t_vee = time.perf_counter() - started
    if "present" in vee_out:  # what VEE read back is exactly what the import loaded
        assert vee_out["present"] == loaded == intervals, (vee_out["present"], loaded, intervals)
    else:  # the run finished and validated every channel-day
        assert vee_out["status"] == "done" and vee_out["channel_days"] == args.meters * args.days, vee_out
    t_target = t_import + t_vee

    connection.close()
    baseline = raw_copy(args.start, args.days, args.meters, tz, not args.no_per_interval)

    rate = lambda seconds: f"{intervals / seconds:>12,.0f}/s" if seconds else ""
    print(f"\nimport: {loaded:,} intervals loaded, {quarantined} quarantined, {args.workers} worker process(es)")
    print(f"{'phase':<40}{'seconds':>9}{'intervals/s':>16}")
    rows = [("generate (numpy + CMEP writer)", t_generate)]
    rows += [(f"  {name}", TIMES[name]) for name in ("prepare (parse + chunk rows)", "parse",
                                                      "chunk load (all)",
                                                      "stage (slots)", "COPY + merge", "COPY to staging (binary)")]
    rows += [("import (wall)", t_import)]
    if args.vee == "pure":
        rows += [("VEE load", vee_out["load"]), ("VEE run_vee", vee_out["run_vee"]),
                 ("VEE write-back", vee_out["write-back"])]
    rows += [(f"VEE ({args.vee}, wall)", t_vee), ("import + VEE (the target: <= 30 s)", t_target),
             ("end to end incl. generate", t_target + t_generate)]
    for label, seconds in rows:
        print(f"{label:<40}{seconds:>9.2f}{rate(seconds):>16}")
    per_day = vee_out.get("channel_days") or 0
    if per_day:
        print(f"VEE per channel-day: {t_vee / per_day * 1e6:.1f} µs wall ({per_day:,} channel-days)")
    print(f"VEE ({args.vee}): " + ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}"
                                          for k, v in vee_out.items() if k not in ("load", "run_vee", "write-back")))
    print("\nraw PostgreSQL COPY of the same values (unlogged table, payload prepared beforehand):")
    for label, seconds in baseline.items():
        print(f"  {label:<38}{seconds:>9.2f}{rate(seconds):>16}   import + VEE takes {t_target / seconds:.1f}x")
    floor = baseline["read: COPY out of the days (binary)"] + baseline[DAY_ROWS]
    print(f"floor: COPY out of what VEE reads + COPY in of the channel-days written = {floor:.2f} s; "
          f"import + VEE {t_target:.2f} s = {t_target / floor:.2f}x the floor")
    if "per interval" in baseline:
        print(f"import + VEE / per-interval COPY = {t_target / baseline['per interval']:.2f}x (the <= 2x target)")
    print(f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
