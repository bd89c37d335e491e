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
   processes like chunk tasks over Celery workers (no broker in the timing). Then approve and
   issue (bill numbers, the ledger, MDM billed-through dates), in one process.

Prints bills per second and where the time went (the run's per-phase seconds, summed over the
workers' chunks)."""
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
        buf = io.StringIO()
        for i, cid in enumerate(channel_ids):
            buf.write(f"{cid}\t{day}\t15\t{{{','.join(map(str, values[i].tolist()))}}}\t"
                      f"{{{','.join(map(str, flags[i].tolist()))}}}\t1\t2026-03-01 00:00:00+00\t\n")
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


def _chunks(args) -> None:
    run_id, numbers = args
    import django
    from django.db import connections
    from django.utils import timezone

    django.setup()
    from billing.services import runs

    for number in numbers:
        runs.bill_run_chunk_process(bill_run_id=run_id, chunk_number=number, now=timezone.now())
    connections.close_all()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2, help="Forked processes doing chunks, like Celery workers.")
    parser.add_argument("--chunk-size", type=int, default=1000)
    parser.add_argument("--database", default="utilis_bench_billing")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/utilis")
    os.environ["DATABASE_URL"] = _fresh_database(base, args.database)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, connections
    from django.utils import timezone

    from billing.services import runs
    from billing.models import Bill, BillCycle, BillLine, LedgerEntry

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    call_command("seed_billing", "--start", "2026-01", "--months", "3", verbosity=0, stdout=io.StringIO())
    built = build_utility(args.accounts, args.seed)
    rows = load_intervals(built["channels"], built["kinds"], args.seed, settings.UTILIS_LOCAL_TIME_ZONE)
    print(f"set-up: {args.accounts} accounts, {rows} channel-days of 15-minute data in {time.perf_counter() - t0:.1f} s")

    cycle = BillCycle.objects.get(code="C01")
    before = os.times()
    cpu_before = before.user + before.system + before.children_user + before.children_system
    started = time.perf_counter()
    run = runs.bill_run_start(cycle=cycle, bill_date=BILL_DATE, now=timezone.now(), chunk_size=args.chunk_size,
                              enqueue=False)
    numbers = runs.bill_run_pending_chunks(bill_run_id=run.pk)
    if args.workers <= 1:
        _chunks((run.pk, numbers))
    else:
        connections.close_all()  # forked workers must not share the parent's connection
        with multiprocessing.get_context("fork").Pool(args.workers) as pool:
            pool.map(_chunks, [(run.pk, numbers[w::args.workers]) for w in range(args.workers)])
    drafted = time.perf_counter()
    run.refresh_from_db()
    assert run.status == "completed", (run.status, run.errors)
    runs.bill_run_approve(bill_run_id=run.pk)
    runs.bill_run_issue(bill_run_id=run.pk, now=timezone.now())
    issued = time.perf_counter()
    cpu = os.times()
    run.refresh_from_db()

    bills = Bill.objects.filter(run=run).count()
    lines = BillLine.objects.filter(segment__bill__run=run).count()
    ledger = LedgerEntry.objects.count()
    draft_s, issue_s, total_s = drafted - started, issued - drafted, issued - started
    print(f"bill run: {bills} bills ({run.exceptions} held by pre-bill edits), {lines} lines, {ledger} ledger entries")
    print(f"  draft (determinants, rating, pre-bill, write) {draft_s:8.1f} s  {bills / draft_s:8.0f} bills/s "
          f"on {args.workers} worker process(es), chunks of {args.chunk_size}")
    print(f"  approve + issue (numbers, ledger, billed-through) {issue_s:8.1f} s  {bills / issue_s:8.0f} bills/s")
    print(f"  total {total_s:8.1f} s  {bills / total_s:8.0f} bills/s")
    python_cpu = cpu.user + cpu.system + cpu.children_user + cpu.children_system - cpu_before
    print(f"  Python CPU (this process and the workers; PostgreSQL not included) {python_cpu:8.1f} s, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    summed = sum(v for k, v in run.timings.items() if k != "issue")
    print("where the drafting time went (seconds summed over the workers' chunks):")
    for phase, seconds in sorted(run.timings.items(), key=lambda kv: -kv[1]):
        if phase != "issue":
            print(f"  {phase:<14}{seconds:8.1f} s  {100 * seconds / summed:5.1f} %")
    print(f"  issue         {run.timings.get('issue', 0):8.1f} s")
    connection.close()


if __name__ == "__main__":
    main()
