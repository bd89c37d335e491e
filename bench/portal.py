"""Customer portal benchmark: page latency at N accounts, each with a portal login.

    .venv/bin/python bench/portal.py --accounts 100000

1. Creates a fresh database (default utilis_bench_portal) on the DATABASE_URL's server and
   migrates it (--reuse keeps one built before, --keep keeps it at the end).
2. Builds N customers, each with a premise, an electric service point, an account, an
   agreement, a meter with a 15-minute kWh channel, 35 local days of interval data (2 % of the
   meter-days with two estimated hours) COPYed into the interval store, BILLS issued monthly
   bills (one segment, a customer charge and a delivery line each, and their ledger rows),
   and a customer portal login linked to the account. Bulk inserts, not timed: the product
   creates these through its services.
3. Times, through Django's test Client in this process (no HTTP server, no network), for
   --samples accounts drawn with --seed, each signed in: the account home, the bills list, a
   bill, the usage page over the 35 days by day and the last 7 days by hour, and the Green
   Button file of the 35 days. One untimed request per page first (templates, caches).

Prints p50/p95/max in milliseconds per page, the SQL statements per request and the slowest
statement seen for each page, and the load average. DEBUG is forced off."""
from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import statistics
import sys
import time
from urllib.parse import urlsplit, urlunsplit

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

DATA_START = dt.date(2026, 2, 1)
DAYS = 35
DATA_END = DATA_START + dt.timedelta(days=DAYS)  # exclusive
PASSWORD = "bench-portal-pass-1"


def _load() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def _database(url: str, name: str, *, fresh: bool) -> str:
    import psycopg

    parts = urlsplit(url)
    if fresh:
        with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def build(n: int, bills_per_account: int, seed: int, tz: str) -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.db import connection

    from billing.models import Bill, BillLine, BillSegment, LedgerEntry
    from cis.models import Account, Customer, Premise, ServiceAgreement, ServicePoint
    from core.roles import Role
    from mdm.models import Channel, Installation, Meter
    from portal.models import AccountLink

    rng = np.random.default_rng(seed)
    batch = 5000
    t = time.perf_counter()
    customers = Customer.objects.bulk_create([
        Customer(customer_number=f"PC{i:08d}", first_name="Bench", last_name=f"Customer{i}",
                 display_name=f"Bench Customer{i}", search_name=f"bench customer{i}") for i in range(n)], batch_size=batch)
    premises = Premise.objects.bulk_create([
        Premise(premise_number=f"PP{i:08d}", address_line1=f"{i + 1} Portal Street", city="Toronto", region="ON",
                postal_code="M5V 1A1", search_address=f"{i + 1} portal street toronto") for i in range(n)],
        batch_size=batch)
    sps = ServicePoint.objects.bulk_create([
        ServicePoint(sp_number=f"PS{i:08d}", premise=premises[i], commodity="electric", rate_class="residential")
        for i in range(n)], batch_size=batch)
    accounts = Account.objects.bulk_create([
        Account(account_number=f"7{i:09d}", customer=customers[i], bill_cycle_code="C01",
                opened_date=dt.date(2025, 1, 1)) for i in range(n)], batch_size=batch)
    agreements = ServiceAgreement.objects.bulk_create([
        ServiceAgreement(agreement_number=f"PA{i:08d}", account=accounts[i], service_point=sps[i],
                         rate_code="RES-TIERED", start_date=dt.date(2025, 1, 1)) for i in range(n)], batch_size=batch)
    meters = Meter.objects.bulk_create([
        Meter(serial_number=f"PM{i:08d}", kind="electric_single_phase", status="installed") for i in range(n)],
        batch_size=batch)
    channels = Channel.objects.bulk_create([
        Channel(meter=meters[i], unit="kWh", direction="delivered", interval_minutes=15) for i in range(n)],
        batch_size=batch)
    installed = dt.datetime(2025, 1, 1, 5, tzinfo=dt.timezone.utc)
    Installation.objects.bulk_create([
        Installation(meter=meters[i], service_point_id=sps[i].pk, commodity="electric", installed_at=installed)
        for i in range(n)], batch_size=batch)
    print(f"  customers to installations: {time.perf_counter() - t:.1f} s", flush=True)

    t = time.perf_counter()
    for month in range(bills_per_account):
        # Monthly periods ending with January 2026 (the data's month is not billed yet).
        back = bills_per_account - month
        index = 2026 * 12 - (back - 1)  # months since year 0, January 2026 first
        start = dt.date(index // 12, index % 12 + 1, 1)
        end = (start + dt.timedelta(days=32)).replace(day=1)
        totals = np.round(rng.lognormal(4, 0.3, n), 2)
        bills = Bill.objects.bulk_create([
            Bill(account=accounts[i], bill_number=f"PB{month:02d}{i:08d}", status=Bill.Status.ISSUED,
                 period_start=start, period_end=end, bill_date=end, due_date=end + dt.timedelta(days=21),
                 total=totals[i], amount_due=totals[i],
                 issued_at=dt.datetime.combine(end, dt.time(12), tzinfo=dt.timezone.utc)) for i in range(n)],
            batch_size=batch)
        segments = BillSegment.objects.bulk_create([
            BillSegment(bill=bills[i], account=accounts[i], agreement=agreements[i], service_point=sps[i],
                        rate_code="RES-TIERED", period_start=start, period_end=end,
                        determinants={"consumption": str(round((totals[i] - 10) / 0.1, 1))}, subtotal=totals[i])
            for i in range(n)], batch_size=batch)
        lines = []
        for i in range(n):
            lines.append(BillLine(segment=segments[i], sequence=1, description="Customer charge", component_kind="fixed",
                                  component_code="customer", quantity=1, unit="bill", price=10, amount=10))
            lines.append(BillLine(segment=segments[i], sequence=2, description="Delivery charge", component_kind="flat",
                                  component_code="delivery", quantity=round((totals[i] - 10) / 0.1, 1), unit="kWh",
                                  price="0.1", amount=round(totals[i] - 10, 2)))
        BillLine.objects.bulk_create(lines, batch_size=batch)
        LedgerEntry.objects.bulk_create([
            LedgerEntry(account=accounts[i], kind=LedgerEntry.Kind.BILL, amount=totals[i], effective_date=end,
                        description=f"Bill PB{month:02d}{i:08d}", bill=bills[i]) for i in range(n)], batch_size=batch)
        print(f"  bills of {start:%Y-%m}: {time.perf_counter() - t:.1f} s", flush=True)

    t = time.perf_counter()
    User = get_user_model()
    password = make_password(PASSWORD)  # one hash for all: hashing 100,000 would take an hour
    users = User.objects.bulk_create([
        User(username=f"portal{i}@bench.test", email=f"portal{i}@bench.test", password=password) for i in range(n)],
        batch_size=batch)
    group = Group.objects.get_or_create(name=Role.CUSTOMER)[0]
    Membership = User.groups.through
    Membership.objects.bulk_create([Membership(user_id=u.pk, group_id=group.pk) for u in users], batch_size=batch)
    linked = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    AccountLink.objects.bulk_create([
        AccountLink(user=users[i], account=accounts[i], linked_at=linked, proof="postal_code") for i in range(n)],
        batch_size=batch)
    print(f"  portal logins: {time.perf_counter() - t:.1f} s", flush=True)

    t = time.perf_counter()
    rows = load_intervals([c.pk for c in channels], seed, tz)
    print(f"  {rows} channel-days of 15-minute data: {time.perf_counter() - t:.1f} s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def load_intervals(channel_ids: list[int], seed: int, tz: str) -> int:
    """35 local days of 15-minute kWh per channel, COPYed straight into the store."""
    from django.db import connection

    from mdm import timeutil
    from mdm.services import interval_partitions_ensure

    day = DATA_START
    months = sorted({DATA_START + dt.timedelta(days=i) for i in range(DAYS)})
    interval_partitions_ensure(dates=months)
    rng = np.random.default_rng(seed + 1)
    n = len(channel_ids)
    scale = rng.lognormal(0, 0.35, n)
    rows = 0
    step = 20_000
    while day < DATA_END:
        slots = timeutil.slots_in_day(day, tz, 15)
        hours = (np.arange(slots) + 0.5) * 24 / slots
        shape = 0.05 + 0.08 * np.exp(-((hours - 19) ** 2) / 8) + 0.04 * np.exp(-((hours - 7.5) ** 2) / 2)
        for lo in range(0, n, step):
            hi = min(lo + step, n)
            values = np.round(shape[None, :] * scale[lo:hi, None] * rng.lognormal(0, 0.2, (hi - lo, slots)), 3)
            estimated = rng.random(hi - lo) < 0.02
            buf = io.StringIO()
            # the store's encoding (mdm.interval_store): int4 thousandths, one byte a flag (bytea hex)
            milli = np.rint(values * 1000).astype(np.int64)
            actual_flags = "\\\\x" + bytes(slots).hex()
            estimated_flags = "\\\\x" + bytes([12] * 8 + [0] * (slots - 8)).hex()
            for j, cid in enumerate(channel_ids[lo:hi]):
                buf.write(f"{cid}\t{day}\t15\t{{{','.join(map(str, milli[j].tolist()))}}}\t"
                          f"{estimated_flags if estimated[j] else actual_flags}\t1\t2026-03-10 00:00:00+00\t\n")
            with connection.cursor() as cursor:
                with cursor.copy("COPY mdm_interval_day (channel_id, local_date, interval_minutes, \"values\", flags, "
                                 "version, updated_at, reason) FROM STDIN") as copy:
                    copy.write(buf.getvalue())
            rows += hi - lo
        day += dt.timedelta(days=1)
    return rows


class _Statements:
    """Counts the SQL statements of a request and keeps the slowest (execute_wrapper)."""

    def __init__(self) -> None:
        self.count = 0
        self.slowest = (0.0, "")

    def __call__(self, execute, sql, params, many, context):
        t = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent = time.perf_counter() - t
            self.count += 1
            if spent > self.slowest[0]:
                self.slowest = (spent, sql)


def measure(samples: int, seed: int, n: int) -> None:
    from django.db import connection
    from django.test import Client

    from billing.models import Bill
    from portal.models import AccountLink

    rng = np.random.default_rng(seed + 2)
    picks = sorted(set(rng.choice(n, size=min(samples, n), replace=False).tolist()))
    links = {link.account.account_number: link.user for link in AccountLink.objects.select_related("account", "user")
             .filter(account__account_number__in=[f"7{i:09d}" for i in picks])}
    start, end = DATA_START, DATA_END - dt.timedelta(days=1)
    week = end - dt.timedelta(days=6)

    def urls(number: str) -> dict[str, str]:
        bill = Bill.objects.filter(account__account_number=number).order_by("-bill_date").values_list("pk", flat=True)[0]
        base = f"/portal/a/{number}"
        return {
            "home": f"{base}/",
            "bills": f"{base}/bills/",
            "bill": f"{base}/bills/{bill}/",
            "usage 35 days by day": f"{base}/usage/?start={start}&end={end}&by=day",
            "usage 7 days by hour": f"{base}/usage/?start={week}&end={end}&by=hour",
            "green button 35 days": f"{base}/greenbutton.xml?start={start}&end={end}",
        }

    times: dict[str, list[float]] = {}
    statements: dict[str, list[int]] = {}
    slowest: dict[str, tuple[float, str]] = {}
    sizes: dict[str, int] = {}
    for k, (number, user) in enumerate(sorted(links.items())):
        client = Client()
        client.force_login(user)
        for page, url in urls(number).items():
            if k == 0:
                assert client.get(url).status_code == 200, (page, url)  # warm-up, not timed
            counter = _Statements()
            with connection.execute_wrapper(counter):
                t = time.perf_counter()
                response = client.get(url)
                spent = time.perf_counter() - t
            assert response.status_code == 200, (page, url, response.status_code)
            times.setdefault(page, []).append(spent * 1000)
            statements.setdefault(page, []).append(counter.count)
            sizes[page] = len(response.content)
            if counter.slowest[0] > slowest.get(page, (0.0, ""))[0]:
                slowest[page] = counter.slowest
    print(f"{len(links)} signed-in customers, one request per page each (load average now {_load()}):")
    print(f"  {'page':<24}{'p50 ms':>8}{'p95 ms':>8}{'max ms':>8}{'SQL':>5}{'size':>9}")
    for page, values in times.items():
        values.sort()
        p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
        print(f"  {page:<24}{statistics.median(values):8.1f}{p95:8.1f}{values[-1]:8.1f}"
              f"{max(statements[page]):5d}{sizes[page] / 1000:8.0f}k")
    print("slowest statement per page:")
    for page, (spent, sql) in slowest.items():
        print(f"  {page}: {spent * 1000:.1f} ms  {' '.join(sql.split())[:220]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--bills", type=int, default=3, help="Issued bills per account (monthly).")
    parser.add_argument("--samples", type=int, default=100, help="Accounts timed (one request per page each).")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--database", default="utilis_bench_portal")
    parser.add_argument("--reuse", action="store_true", help="Measure a database built before (with --keep).")
    parser.add_argument("--keep", action="store_true", help="Keep the benchmark database (dropped by default).")
    args = parser.parse_args()

    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/utilis")
    url = os.environ["DATABASE_URL"] = _database(base, args.database, fresh=not args.reuse)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    settings.DEBUG = False  # DEBUG keeps every SQL statement in memory
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    print(f"load average at start {_load()} ({os.cpu_count()} cores)", flush=True)
    if not args.reuse:
        t = time.perf_counter()
        call_command("migrate", verbosity=0)
        print(f"set-up: migrate {time.perf_counter() - t:.1f} s", flush=True)
        t = time.perf_counter()
        build(args.accounts, args.bills, args.seed, settings.UTILIS_LOCAL_TIME_ZONE)
        print(f"set-up: {args.accounts} accounts with logins, {args.bills} bills each and {DAYS} days of "
              f"15-minute data in {time.perf_counter() - t:.1f} s", flush=True)
    measure(args.samples, args.seed, args.accounts)
    print(f"load average at end {_load()}")
    connections.close_all()
    if not args.keep and not args.reuse:
        import psycopg

        parts = urlsplit(url)
        with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
    else:
        print(f"kept database {args.database}")


if __name__ == "__main__":
    main()
