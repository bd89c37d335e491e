"""Customer portal benchmark: page latency at N accounts, each with a portal login.

    .venv/bin/python bench/portal.py --accounts 100000 --template utilis_bench_portal_100k --keep

1. Creates a fresh database (default utilis_bench_portal) on the DATABASE_URL's server and
   migrates it. --template NAME builds the set-up once in NAME and keeps it; every run then
   starts from a file copy of it (CREATE DATABASE ... TEMPLATE, seconds instead of the build)
   and migrates the copy. --reuse measures --database as a run with --keep left it.
2. Builds N customers, each with a premise, an electric service point, an account, an
   agreement, a meter with a 15-minute kWh channel, --bills issued monthly bills (one segment,
   a customer charge and a delivery line each, and their ledger rows) and a customer portal
   login linked to the account: one INSERT ... SELECT over generate_series per table (set-up
   only, audit triggers off, as a conversion's bulk load; the product creates these through
   its services). Then 35 local days of 15-minute data per channel (2 % of the meter-days with
   two hours the head-end estimated) through mdm's own writer, mdm.services.interval_days_merge
   (the import's COPY-and-merge), in --workers forked processes: the bench does not know the
   interval store's encoding.
3. Times, through Django's test Client in this process (no HTTP server, no network), for
   --samples accounts drawn with --seed, each signed in: the account home, the bills list, a
   bill, the usage page by month / day (35 days) and by hour (7 and 31 days), the usage CSV
   of the 35 days (one row per interval), the Green Button file of February,
   the usage compared with last year and the similar premises (35 days by day and by
   month) and the rate comparison (its first request prices the year on three residential
   rates; the second reads the cache). Before timing, the similar premises' day rows of the
   35 days are refreshed once (mdm.services.usage_class_days_refresh, timed). One untimed
   request per page first (templates, caches).

Prints p50/p95/max in milliseconds per page, the SQL statements per request and the slowest
statement seen for each page (--explain: its EXPLAIN ANALYZE), and the load average with
every table of figures. DEBUG is forced off."""
from __future__ import annotations

import argparse
import datetime as dt
import io
import logging
import multiprocessing
import os
import statistics
import sys
import time
from unittest import mock
from urllib.parse import urlsplit, urlunsplit

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

DATA_START = dt.date(2026, 2, 1)
DAYS = 35
DATA_END = DATA_START + dt.timedelta(days=DAYS)  # exclusive
LAST_BILLED = dt.date(2026, 1, 1)  # the last bill's period is January 2026 (the data's months are not billed yet)
PASSWORD = "bench-portal-pass-1"
NOW = dt.datetime(2026, 3, 10, tzinfo=dt.timezone.utc)  # when the set-up's interval data was written
# The pages are measured as of the day after the data (the clock is set there): the home page's
# charges to date then rate the 35 unbilled days since the last bill (January's).
AS_OF = dt.datetime(2026, 3, 8, 17, tzinfo=dt.timezone.utc)
CHANNELS_PER_WRITE = 600  # channels x 35 days = 21,000 channel-days per interval_days_merge call


def _load() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def _admin(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/postgres"))


def _named(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def _exists(url: str, name: str) -> bool:
    import psycopg

    with psycopg.connect(_admin(url), autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def _create(url: str, name: str, template: str | None = None) -> str:
    """`name` afresh: empty, or a file copy of `template` (CREATE DATABASE ... TEMPLATE)."""
    import psycopg

    with psycopg.connect(_admin(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return _named(url, name)


def _drop(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(_admin(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _point_django_at(name: str) -> None:
    from django.db import connections

    connections.close_all()
    connections["default"].settings_dict["NAME"] = name


# ---- set-up: set-based SQL -------------------------------------------------------------------


def _insert_select(cursor, model, values: dict[str, str], params: dict,
                   source: str = "generate_series(1, %(n)s) AS g(i)") -> int:
    """One INSERT ... SELECT into `model`'s table: `values` gives SQL expressions for some
    columns (over the source's columns); every other non-null column gets the model field's
    default (auto_now fields: now()), so a field added later with a default needs no change
    here, and one without a default stops the bench with its name."""
    from django.db import connection

    columns, exprs, bound = [], [], dict(params)
    for f in model._meta.concrete_fields:
        if f.column in values:
            columns.append(f'"{f.column}"')
            exprs.append(values[f.column])
        elif f.primary_key or (f.null and not f.has_default()):
            continue
        elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            columns.append(f'"{f.column}"')
            exprs.append("now()")
        else:
            default = f.get_default()
            if default is None:
                raise ValueError(f"{model.__name__}.{f.name}: not null, no default: the bench must give it a value")
            key = f"default_{f.column}"
            bound[key] = f.get_db_prep_save(default, connection)
            columns.append(f'"{f.column}"')
            exprs.append(f"%({key})s")
    cursor.execute(f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) SELECT {', '.join(exprs)} "
                   f"FROM {source}", bound)
    return cursor.rowcount


def build(n: int, bills_per_account: int) -> list[int]:
    """The synthetic utility of the module docstring, without interval data. Row i (1..n) of
    every table is the i-th customer's; ids are each table's current maximum + i (+ n per
    earlier month for the bills). Returns the channel ids in order."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db import connection, transaction

    from billing.models import Bill, BillLine, BillSegment, LedgerEntry
    from cis.models import Account, Customer, Premise, ServiceAgreement, ServicePoint
    from core.roles import Role
    from mdm.models import Channel, Installation, Meter
    from portal.models import AccountLink

    User = get_user_model()
    Membership = User.groups.through
    models = [Customer, Premise, ServicePoint, Account, ServiceAgreement, Meter, Channel, Installation,
              Bill, BillSegment, BillLine, LedgerEntry, User, Membership, AccountLink]
    group = Group.objects.get_or_create(name=Role.CUSTOMER)[0]
    # Cycles with monthly windows and the demo rates (RES-TIERED), as bench/billing.py has them.
    call_command("seed_billing", "--start", "2025-11", "--months", "6", verbosity=0, stdout=io.StringIO())
    with transaction.atomic(), connection.cursor() as cursor:
        base = {}
        for model in models:
            cursor.execute(f"SELECT coalesce(max(id), 0) FROM {model._meta.db_table}")
            base[model] = int(cursor.fetchone()[0])
        # Set-up only, as a conversion's bulk load: no audit rows, no per-row foreign key checks.
        cursor.execute("SET LOCAL session_replication_role = replica")
        index = LAST_BILLED.year * 12 + LAST_BILLED.month - 1 - (bills_per_account - 1)
        first_month = dt.date(index // 12, index % 12 + 1, 1)
        p = {"n": n, "installed": dt.datetime(2025, 1, 1, 5, tzinfo=dt.timezone.utc), "opened": dt.date(2025, 1, 1),
             "password": make_password(PASSWORD), "group": group.pk, "months": bills_per_account,
             "first": first_month, "linked": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
             **{f"b_{m._meta.db_table}": base[m] for m in models}}

        def id_of(model, offset: str = "i") -> str:
            return f"%(b_{model._meta.db_table})s + {offset}"

        k = "lpad((i - 1)::text, 8, '0')"  # the customer's number in every natural key
        t = time.perf_counter()
        rows = {
            Customer: _insert_select(cursor, Customer, {
                "id": id_of(Customer), "customer_number": f"'PC' || {k}", "first_name": "'Bench'",
                "last_name": "'Customer' || (i - 1)", "display_name": "'Bench Customer' || (i - 1)",
                "search_name": "'bench customer' || (i - 1)"}, p),
            Premise: _insert_select(cursor, Premise, {
                "id": id_of(Premise), "premise_number": f"'PP' || {k}", "address_line1": "i || ' Portal Street'",
                "city": "'Toronto'", "region": "'ON'", "postal_code": "'M5V 1A1'",
                "search_address": "i || ' portal street toronto'"}, p),
            ServicePoint: _insert_select(cursor, ServicePoint, {
                "id": id_of(ServicePoint), "sp_number": f"'PS' || {k}", "premise_id": id_of(Premise),
                "commodity": "'electric'", "rate_class": "'residential'"}, p),
            Account: _insert_select(cursor, Account, {
                "id": id_of(Account), "account_number": "'7' || lpad((i - 1)::text, 9, '0')",
                "customer_id": id_of(Customer), "bill_cycle_code": "'C01'", "opened_date": "%(opened)s"}, p),
            ServiceAgreement: _insert_select(cursor, ServiceAgreement, {
                "id": id_of(ServiceAgreement), "agreement_number": f"'PA' || {k}", "account_id": id_of(Account),
                "service_point_id": id_of(ServicePoint), "rate_code": "'RES-TIERED'", "start_date": "%(opened)s"}, p),
            Meter: _insert_select(cursor, Meter, {
                "id": id_of(Meter), "serial_number": f"'PM' || {k}", "kind": "'electric_single_phase'",
                "status": "'installed'"}, p),
            Channel: _insert_select(cursor, Channel, {
                "id": id_of(Channel), "meter_id": id_of(Meter), "unit": "'kWh'", "direction": "'delivered'",
                "interval_minutes": "15"}, p),
            Installation: _insert_select(cursor, Installation, {
                "id": id_of(Installation), "meter_id": id_of(Meter), "service_point_id": id_of(ServicePoint),
                "commodity": "'electric'", "installed_at": "%(installed)s"}, p),
        }
        print(f"  customers to installations: {time.perf_counter() - t:.1f} s", flush=True)

        # Monthly bills: month m (0 = the oldest) of customer i is row m * n + i of each table.
        t = time.perf_counter()
        months = ("generate_series(0, %(months)s - 1) AS mm(m) CROSS JOIN generate_series(1, %(n)s) AS g(i) "
                  "CROSS JOIN LATERAL (SELECT (%(first)s::date + make_interval(months => m))::date AS start, "
                  "(%(first)s::date + make_interval(months => m + 1))::date AS stop, "
                  "round((40 + ((i::bigint * 7919 + m * 104729) %% 12000) / 100.0)::numeric, 2) AS total) x")
        row = "m * %(n)s + i"
        number = f"'PB' || lpad(m::text, 2, '0') || {k}"
        rows[Bill] = _insert_select(cursor, Bill, {
            "id": id_of(Bill, row), "account_id": id_of(Account), "bill_number": number, "status": "'issued'",
            "period_start": "start", "period_end": "stop", "bill_date": "stop", "due_date": "stop + 21",
            "total": "total", "amount_due": "total", "consumption": "(total - 10) * 10",
            "interval_count": "(stop - start) * 96",
            "issued_at": "stop::timestamp AT TIME ZONE 'UTC' + interval '12 hours'"}, p, months)
        rows[BillSegment] = _insert_select(cursor, BillSegment, {
            "id": id_of(BillSegment, row), "bill_id": id_of(Bill, row), "account_id": id_of(Account),
            "agreement_id": id_of(ServiceAgreement), "service_point_id": id_of(ServicePoint),
            "rate_code": "'RES-TIERED'", "period_start": "start", "period_end": "stop",
            "determinants": "jsonb_build_object('consumption', ((total - 10) * 10)::text)", "subtotal": "total"},
            p, months)
        rows[BillLine] = _insert_select(cursor, BillLine, {
            "id": id_of(BillLine, f"2 * ({row}) - 1"), "segment_id": id_of(BillSegment, row), "sequence": "1",
            "description": "'Customer charge'", "component_kind": "'fixed'", "component_code": "'customer'",
            "quantity": "1", "unit": "'bill'", "price": "10", "amount": "10"}, p, months)
        rows[BillLine] += _insert_select(cursor, BillLine, {
            "id": id_of(BillLine, f"2 * ({row})"), "segment_id": id_of(BillSegment, row), "sequence": "2",
            "description": "'Delivery charge'", "component_kind": "'flat'", "component_code": "'delivery'",
            "quantity": "(total - 10) * 10", "unit": "'kWh'", "price": "0.1", "amount": "total - 10"}, p, months)
        rows[LedgerEntry] = _insert_select(cursor, LedgerEntry, {
            "id": id_of(LedgerEntry, row), "account_id": id_of(Account), "kind": "'bill'", "amount": "total",
            "effective_date": "stop", "description": f"'Bill ' || {number}", "bill_id": id_of(Bill, row),
            "posted_at": "stop::timestamp AT TIME ZONE 'UTC' + interval '12 hours'"}, p, months)
        print(f"  {rows[Bill]} bills, {rows[BillLine]} lines, {rows[LedgerEntry]} ledger entries: "
              f"{time.perf_counter() - t:.1f} s", flush=True)

        t = time.perf_counter()
        email = "'portal' || (i - 1) || '@bench.test'"  # one hash for all: hashing 100,000 would take an hour
        rows[User] = _insert_select(cursor, User, {
            "id": id_of(User), "username": email, "email": email, "password": "%(password)s"}, p)
        rows[Membership] = _insert_select(cursor, Membership, {
            "id": id_of(Membership), "user_id": id_of(User), "group_id": "%(group)s"}, p)
        rows[AccountLink] = _insert_select(cursor, AccountLink, {
            "id": id_of(AccountLink), "user_id": id_of(User), "account_id": id_of(Account),
            "linked_at": "%(linked)s", "proof": "'postal_code'"}, p)
        print(f"  portal logins: {time.perf_counter() - t:.1f} s", flush=True)
        for model in models:
            table = model._meta.db_table
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                           f"(SELECT greatest(max(id), 1) FROM {table}))")
        cursor.execute("SET LOCAL session_replication_role = DEFAULT")
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"ANALYZE {model._meta.db_table}")
    return list(range(base[Channel] + 1, base[Channel] + n + 1))


def _interval_block(args) -> int:
    """35 local days of 15-minute kWh for these channels, written by mdm's importer's writer
    (one interval_days_merge call per CHANNELS_PER_WRITE channels)."""
    channel_ids, seed, block, tz = args
    import django
    from django.db import connection, connections

    django.setup()
    from mdm.flags import Flag
    from mdm.services import StagedDay, interval_days_merge, slots_in_day

    rng = np.random.default_rng([seed, block])
    n = len(channel_ids)
    scale = rng.lognormal(0, 0.35, n)
    days = []
    for d in range(DAYS):
        day = DATA_START + dt.timedelta(days=d)
        slots = slots_in_day(day, tz, 15)
        hours = (np.arange(slots) + 0.5) * 24 / slots
        shape = 0.05 + 0.08 * np.exp(-((hours - 19) ** 2) / 8) + 0.04 * np.exp(-((hours - 7.5) ** 2) / 2)
        values = np.round(shape[None, :] * scale[:, None] * rng.lognormal(0, 0.2, (n, slots)), 3)
        flags = np.zeros((n, slots), dtype=np.int16)
        flags[rng.random(n) < 0.02, :8] = int(Flag.ESTIMATED_HEAD_END)  # two hours the head-end estimated
        days.append((day, values, flags))
    staged = [StagedDay(cid, day, 15, values[j], flags[j])
              for j, cid in enumerate(channel_ids) for day, values, flags in days]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit = off")  # set-up: durability of each commit is not timed
        counts = interval_days_merge(days=staged, now=NOW, reason="bench set-up")
        return counts.days_inserted
    finally:
        connections.close_all()


def load_intervals(channel_ids: list[int], seed: int, tz, workers: int) -> int:
    from django.db import connection, connections

    from mdm.services import interval_partitions_ensure

    interval_partitions_ensure(dates=[DATA_START + dt.timedelta(days=d) for d in range(DAYS)])
    blocks = [(channel_ids[lo: lo + CHANNELS_PER_WRITE], seed, b, tz)
              for b, lo in enumerate(range(0, len(channel_ids), CHANNELS_PER_WRITE))]
    rows, t, report = 0, time.perf_counter(), max(1, len(blocks) // 10)
    connections.close_all()  # forked workers must not share the parent's connection
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        for done, inserted in enumerate(pool.imap(_interval_block, blocks), 1):
            rows += inserted
            if done % report == 0:
                print(f"    {rows} channel-days, {rows / (time.perf_counter() - t):.0f}/s (load {_load()})", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE mdm_interval_day")
    return rows


# ---- measuring ------------------------------------------------------------------------------


class _Statements:
    """Counts the SQL statements of a request and keeps the slowest (execute_wrapper)."""

    def __init__(self) -> None:
        self.count = 0
        self.spent = 0.0  # wall seconds in the statements (the server's work and the waits for it)
        self.slowest: tuple[float, str, object] = (0.0, "", None)

    def __call__(self, execute, sql, params, many, context):
        t = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent = time.perf_counter() - t
            self.count += 1
            self.spent += spent
            if spent > self.slowest[0]:
                self.slowest = (spent, sql, params)


def insights_prepare(tz: str) -> None:
    """Three residential rates to compare, and the similar premises' day rows of the data's days."""
    from zoneinfo import ZoneInfo

    from django.core.cache import cache
    from django.utils import timezone

    from billing.models import RateSchedule
    from billing.services.rates import rate_schedule_create, rate_version_add
    from mdm.services import usage_class_days_refresh

    fixed = {"kind": "fixed", "code": "customer", "params": {"amount": "10.00"}, "description": "Customer charge"}
    for code, energy in (
        ("RES-TIERED", {"kind": "flat", "code": "energy", "params": {"price": "0.10"}, "description": "Delivery charge"}),
        ("RES-FLAT", {"kind": "flat", "code": "energy", "params": {"price": "0.09"}, "description": "Delivery charge"}),
        ("RES-LOW", {"kind": "flat", "code": "energy", "params": {"price": "0.12"}, "description": "Delivery charge"}),
    ):
        if not RateSchedule.objects.filter(code=code).exists():
            schedule = rate_schedule_create(code=code, name=code, rate_class="residential")
            rate_version_add(schedule=schedule, start_date=dt.date(2020, 1, 1), components=[fixed, energy])
    cache.clear()
    t = time.perf_counter()
    rows = usage_class_days_refresh(start_date=DATA_START, end_date=DATA_END, tz=ZoneInfo(tz), now=timezone.now())
    print(f"similar premises: {rows} rate-class day rows from {DAYS} days of every meter in "
          f"{time.perf_counter() - t:.1f} s (load average {_load()})", flush=True)



def _clock_from(start: dt.datetime):
    """django.utils.timezone.now moved to `start`, then going on in real time."""
    offset = start - dt.datetime.now(dt.timezone.utc)
    return lambda: dt.datetime.now(dt.timezone.utc) + offset


def _pages(number: str, bill: int) -> dict[str, str]:
    start, end = DATA_START, DATA_END - dt.timedelta(days=1)  # the forms' end dates are inclusive
    base = f"/portal/a/{number}"
    return {
        "home (account page)": f"{base}/",
        "bills list": f"{base}/bills/",
        "a bill": f"{base}/bills/{bill}/",
        "usage 35 d by month": f"{base}/usage/?start={start}&end={end}&by=month",
        "usage 35 d by day": f"{base}/usage/?start={start}&end={end}&by=day",
        "usage 7 d by hour": f"{base}/usage/?start={end - dt.timedelta(days=6)}&end={end}&by=hour",
        "usage 31 d by hour": f"{base}/usage/?start={end - dt.timedelta(days=30)}&end={end}&by=hour",
        "usage CSV 35 d (15 min)": f"{base}/usage.csv?start={start}&end={end}",
        "Green Button, February": f"{base}/greenbutton.xml?start={start}&end=2026-02-28",
        "compared 35 d by day": f"{base}/usage/compare/?start={start}&end={end}&by=day",
        "compared 35 d by month": f"{base}/usage/compare/?start={start}&end={end}&by=month",
        "rates (priced)": f"{base}/rates/",
        "rates (cached)": f"{base}/rates/",
    }


def measure(samples: int, seed: int, n: int, explain: bool) -> None:
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client

    from billing.models import Bill
    from portal.models import AccountLink

    rng = np.random.default_rng(seed + 2)
    picks = sorted(set(rng.choice(n, size=min(samples, n), replace=False).tolist()))
    links = {link.account.account_number: link for link in AccountLink.objects.select_related("account", "user")
             .filter(account__account_number__in=[f"7{i:09d}" for i in picks])}
    times: dict[str, list[float]] = {}
    cpus: dict[str, list[float]] = {}  # this process's CPU per request (Python: views, templates, numpy)
    in_sql: dict[str, list[float]] = {}
    statements: dict[str, list[int]] = {}
    slowest: dict[str, tuple[float, str, object]] = {}
    sizes: dict[str, int] = {}
    load_before = _load()
    clock = mock.patch("django.utils.timezone.now", _clock_from(AS_OF))
    clock.start()
    for k, (number, link) in enumerate(sorted(links.items())):
        bill = Bill.objects.filter(account_id=link.account_id).order_by("-bill_date").values_list("pk", flat=True)[0]
        client = Client()
        client.force_login(link.user)
        for page, url in _pages(number, bill).items():
            if k == 0:
                assert client.get(url).status_code == 200, (page, url)  # warm-up, not timed
                if page == "rates (priced)":
                    cache.clear()  # the timed request prices again
            counter = _Statements()
            with connection.execute_wrapper(counter):
                cpu, t = time.process_time(), time.perf_counter()
                response = client.get(url)
                spent, cpu = time.perf_counter() - t, time.process_time() - cpu
            assert response.status_code == 200, (page, url, response.status_code)
            times.setdefault(page, []).append(spent * 1000)
            cpus.setdefault(page, []).append(cpu * 1000)
            in_sql.setdefault(page, []).append(counter.spent * 1000)
            statements.setdefault(page, []).append(counter.count)
            sizes[page] = len(response.content)
            if counter.slowest[0] > slowest.get(page, (0.0, "", None))[0]:
                slowest[page] = counter.slowest
    clock.stop()
    print(f"{len(links)} signed-in customers of {n}, one request per page each, as of {AS_OF:%Y-%m-%d %H:%M} UTC "
          f"(load average before {load_before}, after {_load()}):")
    print(f"  {'page':<26}{'p50 ms':>8}{'p95 ms':>8}{'max ms':>8}{'CPU p50':>8}{'SQL p50':>8}{'SQL':>5}{'size':>9}")
    for page, values in times.items():
        values.sort()
        p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
        print(f"  {page:<26}{statistics.median(values):8.1f}{p95:8.1f}{values[-1]:8.1f}"
              f"{statistics.median(cpus[page]):8.1f}{statistics.median(in_sql[page]):8.1f}"
              f"{max(statements[page]):5d}{sizes[page] / 1000:8.0f}k")
    print("  (CPU p50: this process's CPU time per request; SQL p50: wall time inside the statements counted, "
          "the interval store's COPY reads not among them)")
    print("slowest statement per page:")
    for page, (spent, sql, params) in slowest.items():
        print(f"  {page}: {spent * 1000:.1f} ms  {' '.join(sql.split())[:220]}")
        if explain and sql.lstrip().upper().startswith("SELECT"):
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
                for (line,) in cursor.fetchall():
                    print(f"      {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--bills", type=int, default=3, help="Issued bills per account (monthly).")
    parser.add_argument("--samples", type=int, default=100, help="Accounts timed (one request per page each).")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--workers", type=int, default=2, help="Forked processes writing the interval data.")
    parser.add_argument("--database", default="utilis_bench_portal")
    parser.add_argument("--template", help="Build the set-up in this database and keep it; each run then happens in "
                                           "--database cloned from it. If it exists already, the set-up is skipped "
                                           "(its size must be --accounts).")
    parser.add_argument("--setup-only", action="store_true", help="Build the set-up (with --template: and stop).")
    parser.add_argument("--reuse", action="store_true", help="Measure --database as a run with --keep left it.")
    parser.add_argument("--keep", action="store_true", help="Keep the benchmark database (dropped by default).")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the slowest statement of each page.")
    args = parser.parse_args()

    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/utilis")
    cloned = bool(args.template) and not args.reuse and _exists(base, args.template)
    if args.reuse:
        if not _exists(base, args.database):
            sys.exit(f"--reuse: no database {args.database} (run once with --keep)")
        os.environ["DATABASE_URL"] = _named(base, args.database)
    elif cloned:
        t = time.perf_counter()
        os.environ["DATABASE_URL"] = _create(base, args.database, args.template)
        print(f"set-up: {args.database} cloned from {args.template} in {time.perf_counter() - t:.1f} s", flush=True)
    else:
        os.environ["DATABASE_URL"] = _create(base, args.template or args.database)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    from core.clock import utility_zone

    settings.DEBUG = False  # DEBUG keeps every SQL statement in memory
    logging.getLogger("axes").setLevel(logging.WARNING)  # a line per sign-in otherwise
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    print(f"load average at start {_load()} ({os.cpu_count()} cores)", flush=True)
    if not args.reuse:
        t = time.perf_counter()
        call_command("migrate", verbosity=0)
        print(f"set-up: migrate {time.perf_counter() - t:.1f} s (load {_load()})", flush=True)
    if cloned or args.reuse:
        from cis.models import Account

        found = Account.objects.count()
        if found != args.accounts:
            sys.exit(f"{args.template if cloned else args.database} holds {found} accounts, not --accounts "
                     f"{args.accounts}")
    else:
        t = time.perf_counter()
        channels = build(args.accounts, args.bills)
        built = time.perf_counter()
        rows = load_intervals(channels, args.seed, utility_zone(), args.workers)
        print(f"set-up: {args.accounts} accounts with logins and {args.bills} bills each in {built - t:.1f} s; "
              f"{rows} channel-days of 15-minute data through interval_days_merge in "
              f"{time.perf_counter() - built:.1f} s (load {_load()})", flush=True)
        if args.template:
            connections.close_all()
            if args.setup_only:
                print(f"kept the set-up in {args.template}")
                return
            t = time.perf_counter()
            _create(base, args.database, args.template)
            _point_django_at(args.database)
            print(f"set-up: {args.database} cloned from {args.template} in {time.perf_counter() - t:.1f} s")
        elif args.setup_only:
            print(f"kept the set-up in {args.database}")
            return
    insights_prepare(settings.UTILIS_LOCAL_TIME_ZONE)
    measure(args.samples, args.seed, args.accounts, args.explain)
    print(f"load average at end {_load()}")
    connections.close_all()
    if args.keep or args.reuse:
        print(f"kept database {args.database}")
    else:
        _drop(base, args.database)


if __name__ == "__main__":
    main()
