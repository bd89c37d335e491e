"""Bill-run benchmark: a synthetic utility billed end to end against PostgreSQL.

    .venv/bin/python bench/billing.py --accounts 100000 --workers 2

1. Creates a fresh database (default utilis_bench_billing) on the DATABASE_URL's server,
   migrates it and runs seed_billing (cycles, windows, the demo rates, pre-bill rules).
2. Builds N accounts in cycle C01, each with one electric service point, an agreement from
   February 1 (one standard month to bill), and a meter with a 15-minute kWh channel: 55 % RES-TIERED, 35 % RES-TOU,
   10 % commercial on GS-DEMAND. Residential and commercial load shapes with per-customer
   scale and noise for February 2026 (28 local days) are COPYed into the interval store; 2 % of
   the meter-days carry a few estimated intervals. None of this is timed.
3. Times the bill run exactly as the Celery workers run it: bill_run_start, then every chunk
   through billing.services.runs.bill_run_chunk_process (determinants from MDM in bulk, rating,
   pre-bill edits, bills/segments/lines), the chunks shared out over --workers forked
   processes like chunk tasks over Celery workers (no broker in the timing). Then approve (one
   UPDATE per chunk, bill_run_approve_chunk) and issue (bill numbers, the ledger, MDM
   billed-through dates; bill_run_issue_chunk), each chunk by chunk over the same workers as
   the Celery approve / issue chunk tasks do them.
4. The floor, measured in the same run on the same server: the binary COPY out of the
   interval days the run reads (in --workers streams, as the workers read them) plus the
   binary COPY in of the rows it wrote (bills, segments, lines, exceptions, ledger entries)
   into scratch copies of those tables with the same indexes.

Prints bills per second, each phase's cost per bill, where the drafting time went (the run's
per-phase seconds summed over the workers' chunks), the floor and the run's ratio to it, and
the load average. The database is dropped at the end unless --keep."""
from __future__ import annotations

import argparse
import datetime as dt
import io
import multiprocessing
import os
import sys
import time
from urllib.parse import urlsplit, urlunsplit

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PERIOD_START = dt.date(2026, 2, 1)
PERIOD_END = dt.date(2026, 3, 1)
BILL_DATE = dt.date(2026, 3, 1)
MIX = [("RES-TIERED", "residential", 0.55), ("RES-TOU", "residential", 0.35), ("GS-DEMAND", "commercial", 0.10)]


def _fresh_database(url: str, name: str) -> str:
    import psycopg

    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def _exists(url: str, name: str) -> bool:
    import psycopg

    admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def _clone(url: str, template: str, name: str) -> str:
    """`name` afresh as a file copy of `template` (CREATE DATABASE ... TEMPLATE): the set-up of
    a size is built once and every later run of that size starts from the same rows."""
    import psycopg

    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def _point_django_at(name: str) -> None:
    from django.db import connections

    connections.close_all()
    connections["default"].settings_dict["NAME"] = name


def build_utility(n: int, seed: int) -> dict:
    """Customers, premises, service points, accounts, agreements, meters, channels and
    installations with bulk inserts (set-up only: the product creates them through services)."""
    from cis.models import Account, Customer, Premise, ServiceAgreement, ServicePoint
    from mdm.models import Channel, Installation, Meter

    rng = np.random.default_rng(seed)
    kinds = rng.choice(len(MIX), size=n, p=[m[2] for m in MIX])
    batch = 5000
    customers = Customer.objects.bulk_create([
        Customer(customer_number=f"BC{i:08d}", first_name="Bench", last_name=f"Customer{i}",
                 display_name=f"Bench Customer{i}", search_name=f"bench customer{i}") for i in range(n)], batch_size=batch)
    premises = Premise.objects.bulk_create([
        Premise(premise_number=f"BP{i:08d}", address_line1=f"{i + 1} Bench Street", city="Toronto", region="ON",
                postal_code="M5V 1A1", search_address=f"{i + 1} bench street toronto") for i in range(n)], batch_size=batch)
    sps = ServicePoint.objects.bulk_create([
        ServicePoint(sp_number=f"BS{i:08d}", premise=premises[i], commodity="electric",
                     rate_class=MIX[kinds[i]][1]) for i in range(n)], batch_size=batch)
    accounts = Account.objects.bulk_create([
        Account(account_number=f"8{i:09d}", customer=customers[i], bill_cycle_code="C01",
                opened_date=dt.date(2025, 1, 1)) for i in range(n)], batch_size=batch)
    ServiceAgreement.objects.bulk_create([
        ServiceAgreement(agreement_number=f"BA{i:08d}", account=accounts[i], service_point=sps[i],
                         rate_code=MIX[kinds[i]][0], start_date=PERIOD_START) for i in range(n)], batch_size=batch)
    meters = Meter.objects.bulk_create([
        Meter(serial_number=f"BM{i:08d}", kind="electric_single_phase", status="installed") for i in range(n)],
        batch_size=batch)
    channels = Channel.objects.bulk_create([
        Channel(meter=meters[i], unit="kWh", direction="delivered", interval_minutes=15) for i in range(n)], batch_size=batch)
    installed = dt.datetime(2025, 12, 1, 5, tzinfo=dt.timezone.utc)
    Installation.objects.bulk_create([
        Installation(meter=meters[i], service_point_id=sps[i].pk, commodity="electric", installed_at=installed)
        for i in range(n)], batch_size=batch)
    # Statistics, as a conversion's bulk load leaves them (cis.services analyses what it
    # loaded): without them the planner takes 30,000 accounts for 2,000 and hash-joins the
    # whole account and service point tables into every chunk's agreement lookup.
    from django.db import connection

    with connection.cursor() as cursor:
        for model in (Customer, Premise, ServicePoint, Account, ServiceAgreement, Meter, Channel, Installation):
            cursor.execute(f"ANALYZE {model._meta.db_table}")
    return {"channels": [c.pk for c in channels], "kinds": kinds}


def load_intervals(channel_ids: list[int], kinds: np.ndarray, seed: int, tz: str) -> int:
    """February's 15-minute kWh for every channel, COPYed straight into the store."""
    from django.db import connection

    from mdm import timeutil
    from mdm.services import interval_partitions_ensure

    interval_partitions_ensure(dates=[PERIOD_START])
    rng = np.random.default_rng(seed + 1)
    n = len(channel_ids)
    scale = rng.lognormal(0, 0.35, n) * np.where(kinds == 2, 12.0, 1.0)
    rows = 0
    day = PERIOD_START
    while day < PERIOD_END:
        slots = timeutil.slots_in_day(day, tz, 15)
        hours = (np.arange(slots) + 0.5) * 24 / slots
        weekend = day.weekday() >= 5
        residential = 0.05 + 0.08 * np.exp(-((hours - 19) ** 2) / 8) + 0.04 * np.exp(-((hours - 7.5) ** 2) / 2)
        commercial = 0.03 + (0.02 if weekend else 0.12) * ((hours > 8) & (hours < 18))
        base = np.where(kinds[:, None] == 2, commercial[None, :], residential[None, :])
        values = np.round(base * scale[:, None] * rng.lognormal(0, 0.2, (n, slots)), 3)
        flags = np.zeros((n, slots), dtype=np.int16)
        estimated = rng.random(n) < 0.02
        flags[estimated, :8] = 12  # like-day estimates for the first two hours
        # the store's encoding (mdm.interval_store): thousandths as int4 (decimals 3, the
        # default), one byte a flag (bytea, hex in COPY text)
        milli = np.rint(values * 1000).astype(np.int64)
        flag_bytes = flags.astype(np.uint8)
        buf = io.StringIO()
        for i, cid in enumerate(channel_ids):
            buf.write(f"{cid}\t{day}\t15\t{{{','.join(map(str, milli[i].tolist()))}}}\t"
                      f"\\\\x{flag_bytes[i].tobytes().hex()}\t1\t2026-03-01 00:00:00+00\t\n")
        buf.seek(0)
        with connection.cursor() as cursor:
            with cursor.copy("COPY mdm_interval_day (channel_id, local_date, interval_minutes, \"values\", flags, version, "
                             "updated_at, reason) FROM STDIN") as copy:
                copy.write(buf.getvalue())
        rows += n
        day += dt.timedelta(days=1)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE mdm_interval_day")
    return rows


def _chunks(args) -> list[str]:
    run_id, numbers = args
    import django
    from django.db import connections
    from django.utils import timezone

    django.setup()
    from billing.services import runs

    try:
        return [runs.bill_run_chunk_process(bill_run_id=run_id, chunk_number=number, now=timezone.now())
                for number in numbers]
    finally:
        connections.close_all()


def _approve_chunks(args) -> int:
    run_id, numbers = args
    import django
    from django.db import connections
    from django.utils import timezone

    django.setup()
    from billing.services import runs

    try:
        return sum(runs.bill_run_approve_chunk(bill_run_id=run_id, chunk_number=number, now=timezone.now()) == "done"
                   for number in numbers)
    finally:
        connections.close_all()


def _issue_chunks(args) -> int:
    run_id, numbers = args
    import django
    from django.db import connections
    from django.utils import timezone

    django.setup()
    from billing.services import runs

    try:
        return sum(runs.bill_run_issue_chunk(bill_run_id=run_id, chunk_number=number, now=timezone.now())
                   for number in numbers)
    finally:
        connections.close_all()


def _spread(func, run_id: int, numbers: list[int], workers: int) -> list:
    """`func((run_id, numbers))` over `workers` forked processes, chunks dealt round-robin."""
    from django.db import connections

    if workers <= 1:
        return [func((run_id, numbers))]
    connections.close_all()  # forked workers must not share the parent's connection
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        return pool.map(func, [(run_id, numbers[w::workers]) for w in range(workers)])


def _copy_out_stream(args) -> tuple[int, float]:
    """One stream of the read floor: a binary COPY of these channels' days of the period."""
    import psycopg

    url, ids = args
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        size = 0
        with conn.cursor().copy(
            'COPY (SELECT channel_id, local_date, interval_minutes, version, decimals, "values", flags '
            "FROM mdm_interval_day WHERE channel_id = ANY(%s::bigint[]) AND local_date >= %s AND local_date < %s) "
            "TO STDOUT (FORMAT BINARY)",
            [ids, PERIOD_START, PERIOD_END]) as copy:
            for block in copy:
                size += len(block)
        return size, time.perf_counter() - started


def floor_read(url: str, channel_ids: list[int], workers: int) -> tuple[float, int]:
    """Wall seconds and bytes to COPY out the interval days the run reads, in `workers` streams."""
    ids = sorted(channel_ids)
    parts = [ids[w::workers] for w in range(max(1, workers))]
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(len(parts)) as pool:
        results = pool.map(_copy_out_stream, [(url, p) for p in parts])
    return time.perf_counter() - started, sum(size for size, _ in results)


def floor_write(url: str, run_id: int) -> tuple[float, dict[str, int]]:
    """Seconds to COPY in (binary, one stream) the rows the run wrote, into scratch tables
    LIKE the real ones with their indexes; the payload is COPYed out before the clock starts."""
    import psycopg

    tables = {
        "billing_bill": f"SELECT * FROM billing_bill WHERE run_id = {run_id}",
        "billing_billsegment": f"SELECT s.* FROM billing_billsegment s JOIN billing_bill b ON b.id = s.bill_id "
                               f"WHERE b.run_id = {run_id}",
        "billing_billline": f"SELECT l.* FROM billing_billline l JOIN billing_billsegment s ON s.id = l.segment_id "
                            f"JOIN billing_bill b ON b.id = s.bill_id WHERE b.run_id = {run_id}",
        "billing_billexception": f"SELECT e.* FROM billing_billexception e JOIN billing_bill b ON b.id = e.bill_id "
                                 f"WHERE b.run_id = {run_id}",
        "billing_ledgerentry": f"SELECT e.* FROM billing_ledgerentry e JOIN billing_bill b ON b.id = e.bill_id "
                               f"WHERE b.run_id = {run_id}",
    }
    rows: dict[str, int] = {}
    payload: dict[str, bytes] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for table, select in tables.items():
            with conn.cursor().copy(f"COPY ({select}) TO STDOUT (FORMAT BINARY)") as copy:
                payload[table] = b"".join(copy)
            rows[table] = conn.execute(f"SELECT count(*) FROM ({select}) q").fetchone()[0]
            conn.execute(f"DROP TABLE IF EXISTS floor_{table}")
            conn.execute(f"CREATE TABLE floor_{table} (LIKE {table} INCLUDING DEFAULTS INCLUDING INDEXES)")
        started = time.perf_counter()
        with conn.transaction():
            for table, data in payload.items():
                with conn.cursor().copy(f"COPY floor_{table} FROM STDIN (FORMAT BINARY)") as copy:
                    copy.write(data)
        seconds = time.perf_counter() - started
        for table in tables:
            conn.execute(f"DROP TABLE floor_{table}")
    return seconds, rows


def _load() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2, help="Forked processes doing chunks, like Celery workers.")
    parser.add_argument("--chunk-size", type=int, default=1000)
    parser.add_argument("--database", default="utilis_bench_billing")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="Keep the benchmark database (dropped by default).")
    parser.add_argument("--template", help="Build the set-up in this database and keep it; the run then happens in "
                                           "--database cloned from it. If it exists already, the set-up is skipped "
                                           "(its size must be --accounts).")
    parser.add_argument("--setup-only", action="store_true", help="With --template: build it and stop.")
    args = parser.parse_args()

    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/utilis")
    reuse = bool(args.template) and _exists(base, args.template)
    if reuse:
        url = os.environ["DATABASE_URL"] = _clone(base, args.template, args.database)
    else:
        url = os.environ["DATABASE_URL"] = _fresh_database(base, args.template or args.database)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, connections
    from django.utils import timezone

    from billing.models import Bill, BillCycle, BillLine, LedgerEntry
    from billing.services import runs

    print(f"load average at start {_load()} ({os.cpu_count()} cores)")
    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    if reuse:
        from cis.models import Account
        from mdm.models import Channel

        found = Account.objects.count()
        if found != args.accounts:
            sys.exit(f"template {args.template} holds {found} accounts, not --accounts {args.accounts}")
        built = {"channels": list(Channel.objects.order_by("pk").values_list("pk", flat=True))}
        print(f"set-up: cloned {args.template} and migrated in {time.perf_counter() - t0:.1f} s")
    else:
        call_command("seed_billing", "--start", "2026-01", "--months", "3", verbosity=0, stdout=io.StringIO())
        migrated = time.perf_counter()
        built = build_utility(args.accounts, args.seed)
        rows = load_intervals(built["channels"], built["kinds"], args.seed, settings.UTILIS_LOCAL_TIME_ZONE)
        print(f"set-up: migrate {migrated - t0:.1f} s; {args.accounts} accounts, {rows} channel-days of 15-minute "
              f"data in {time.perf_counter() - migrated:.1f} s")
        if args.template:
            connections.close_all()
            if args.setup_only:
                print(f"kept the set-up in {args.template}")
                return
            url = os.environ["DATABASE_URL"] = _clone(base, args.template, args.database)
            _point_django_at(args.database)

    cycle = BillCycle.objects.get(code="C01")
    load_before = _load()
    before = os.times()
    cpu_before = before.user + before.system + before.children_user + before.children_system
    started = time.perf_counter()
    run = runs.bill_run_start(cycle=cycle, bill_date=BILL_DATE, now=timezone.now(), chunk_size=args.chunk_size,
                              enqueue=False)
    planned = time.perf_counter()
    numbers = runs.bill_run_pending_chunks(bill_run_id=run.pk)
    outcomes = [o for part in _spread(_chunks, run.pk, numbers, args.workers) for o in part]
    drafted = time.perf_counter()
    run.refresh_from_db()
    pending = runs.bill_run_pending_chunks(bill_run_id=run.pk)
    assert run.status == "completed" and not pending, (run.status, run.errors, len(pending), outcomes.count("skipped"))
    # Approve and issue as the billing workers do them: the decision, then one task per chunk
    # (each with its own mark); the last chunk closes the step.
    to_approve = runs.bill_run_approve_begin(bill_run_id=run.pk)
    approved_chunks = sum(_spread(_approve_chunks, run.pk, to_approve, args.workers))
    approved = time.perf_counter()
    run.refresh_from_db()
    assert run.status == "approved" and approved_chunks == len(numbers), (run.status, approved_chunks)
    to_issue = runs.bill_run_issue_begin(bill_run_id=run.pk, now=timezone.now())
    issued_by_chunks = sum(_spread(_issue_chunks, run.pk, to_issue, args.workers))
    issued = time.perf_counter()
    run.refresh_from_db()
    assert run.status == "issued", run.status
    cpu = os.times()
    run.refresh_from_db()
    load_after = _load()

    bills = Bill.objects.filter(run=run).count()
    lines = BillLine.objects.filter(segment__bill__run=run).count()
    ledger = LedgerEntry.objects.count()
    assert issued_by_chunks == Bill.objects.filter(run=run, status="issued").count(), issued_by_chunks
    connection.close()
    read_s, read_bytes = floor_read(url, built["channels"], args.workers)
    write_s, written = floor_write(url, run.pk)
    floor_s = read_s + write_s

    plan_s, draft_s = planned - started, drafted - planned
    approve_s, issue_s, total_s = approved - drafted, issued - approved, issued - started
    print(f"bill run: {bills} bills ({run.exceptions} held by pre-bill edits), {lines} lines, {ledger} ledger entries; "
          f"{args.workers} worker process(es), chunks of {args.chunk_size}")
    print(f"{'phase':<46}{'s':>9}{'bills/s':>10}{'ms/bill':>9}")
    for label, seconds in (("start (plan the chunks)", plan_s),
                           ("draft (determinants, rating, pre-bill, write)", draft_s),
                           ("approve", approve_s), ("issue (numbers, ledger, billed-through)", issue_s),
                           ("total", total_s)):
        print(f"  {label:<44}{seconds:9.1f}{bills / seconds:10.0f}{1000 * seconds / bills:9.3f}")
    python_cpu = cpu.user + cpu.system + cpu.children_user + cpu.children_system - cpu_before
    print(f"  Python CPU (this process and the workers; PostgreSQL not included) {python_cpu:8.1f} s")
    steps = ("issue", "approve")
    summed = sum(v for k, v in run.timings.items() if k not in steps)
    print("where the drafting time went (seconds summed over the workers' chunks; ms per bill):")
    for phase, seconds in sorted(run.timings.items(), key=lambda kv: -kv[1]):
        if phase not in steps:
            print(f"  {phase:<14}{seconds:8.1f} s  {100 * seconds / summed:5.1f} %  {1000 * seconds / bills:7.3f}")
    print(f"floor: COPY out of the interval days read ({read_bytes / 1e6:.0f} MB, {args.workers} streams) {read_s:.1f} s"
          f" + COPY in of the rows written ({sum(written.values())} rows: "
          + ", ".join(f"{t.split('_', 1)[1]} {n}" for t, n in written.items()) + f") {write_s:.1f} s = {floor_s:.1f} s")
    print(f"ratio: run total {total_s:.1f} s / floor {floor_s:.1f} s = {total_s / floor_s:.2f}x")
    print(f"load average: start of run {load_before}, end of run {load_after}, now {_load()}")
    connections.close_all()
    if not args.keep:
        import psycopg

        parts = urlsplit(url)
        with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
    else:
        print(f"kept database {args.database}")


if __name__ == "__main__":
    main()
