"""Lockbox benchmark: a remittance file of M payments posted against N accounts with open bills.

    .venv/bin/python bench/lockbox.py --accounts 100000 --payments 100000 --format both

1. Creates a fresh database (default utilis_bench_lf) on DATABASE_URL's server and migrates it.
2. Builds N customers and accounts (bulk inserts) and COPYs each account's open charges into
   the ledger: a bill on January 1 for every account, a second on February 1 for half of them,
   a returned-payment fee (a charge of kind "fee") for 5 %, and an unapplied credit for 3 %.
   Not timed.
3. Writes the lockbox file(s) of --payments lines (the Utilis CSV layout and/or BAI2, through
   integrations.services): 93 % an account number as printed, 3 % the bill stub's scan line,
   1 % the number without its leading zeros; amounts that pay a bill exactly, part of it or
   more than it (credit); and 1 % unknown account numbers, 0.5 % items repeated in the file,
   0.3 % bad lines (CSV). BAI2 carries one as-of date for the whole file.
4. Times billing.services.remittance_import (parse, match, post, allocate: the service the
   Billing Hub calls) per file, on its own clock, and prints lines/s and payments posted/s.
   --reference K also times the one-by-one path (payment_post per line,
   billing/payments/tests/lockbox_reference.py) on a separate file of K lines, for comparison.

Prints the load average at the start and the end of each timed import (the machine is
shared: read the figures with it). The database is dropped at the end unless --keep."""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
from decimal import Decimal
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

JAN, FEB = dt.date(2026, 1, 1), dt.date(2026, 2, 1)
PAID = [dt.date(2026, 3, d) for d in (2, 3, 4, 5, 6)]


def _fresh_database(url: str, name: str) -> str:
    import psycopg

    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def _load() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def build_accounts(n: int, rng: random.Random) -> list[tuple[int, str, Decimal]]:
    """N accounts, each with its open charges in the ledger (COPY). Returns (id, number, amount due)."""
    from django.db import connection

    from billing.models import LedgerEntry
    from billing.payments.models import Fee
    from cis.models import Account, Customer

    batch = 5000
    customers = Customer.objects.bulk_create([
        Customer(customer_number=f"LC{i:08d}", first_name="Lockbox", last_name=f"Customer{i}",
                 display_name=f"Lockbox Customer{i}", search_name=f"lockbox customer{i}") for i in range(n)],
        batch_size=batch)
    accounts = Account.objects.bulk_create([
        Account(account_number=f"7{i:09d}", customer=customers[i], bill_cycle_code="C01",
                opened_date=dt.date(2025, 1, 1)) for i in range(n)], batch_size=batch)
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('billing_ledgerentry', 'id')) "
                       "FROM generate_series(1, %s)", [int(n * 1.6) + 10])
        ids = iter(sorted(r[0] for r in cursor.fetchall()))
    now = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
    entries, fees, due = [], [], []
    for account in accounts:
        owed = Decimal(rng.randint(3000, 25000)).scaleb(-2)
        entries.append((next(ids), account.pk, "bill", owed, JAN, "Bill (bench)", "", None, "", now))
        total = owed
        if rng.random() < 0.5:
            second = Decimal(rng.randint(3000, 25000)).scaleb(-2)
            entries.append((next(ids), account.pk, "bill", second, FEB, "Bill (bench)", "", None, "", now))
            total += second
        roll = rng.random()
        if roll < 0.05:
            entry_id = next(ids)
            entries.append((entry_id, account.pk, "adjustment", Decimal("25.00"), FEB, "Charge adjustment",
                            "Returned payment fee (bench)", None, "", now))
            fees.append((account.pk, "returned_payment", Decimal("25.00"), entry_id, now))
            total += Decimal("25.00")
        elif roll < 0.08:
            entries.append((next(ids), account.pk, "adjustment", Decimal("-15.00"), FEB, "Credit adjustment",
                            "Goodwill credit (bench)", None, "", now))
            total -= Decimal("15.00")
        due.append((account.pk, account.account_number, total))
    with connection.cursor() as cursor:
        with cursor.copy(f"COPY {LedgerEntry._meta.db_table} (id, account_id, kind, amount, effective_date, "
                         "description, reason, idempotency_key, payment_reference, posted_at) FROM STDIN") as copy:
            for row in entries:
                copy.write_row(row)
        with cursor.copy(f"COPY {Fee._meta.db_table} (account_id, kind, amount, ledger_entry_id, created_at) "
                         "FROM STDIN") as copy:
            for row in fees:
                copy.write_row(row)
        for table in ("cis_customer", "cis_account", LedgerEntry._meta.db_table, Fee._meta.db_table,
                      "billing_allocation", "billing_payment"):
            cursor.execute(f"ANALYZE {table}")
    return due


def lockbox_items(due: list[tuple[int, str, Decimal]], m: int, rng: random.Random, tag: str) -> tuple[list, list[str]]:
    from billing.payments.scanline import scan_line
    from integrations.services import LockboxItem

    items = []
    for k in range(m):
        _, number, owed = due[rng.randrange(len(due))]
        roll = rng.random()
        amount = owed if roll < 0.6 else (owed / 2).quantize(Decimal("0.01")) if roll < 0.85 else owed + Decimal("40.00")
        amount = max(amount, Decimal("1.00"))
        written = number
        form = rng.random()
        if form < 0.03:
            written = scan_line(account_number=number, amount_due=owed)
        elif form < 0.04:
            written = number.lstrip("7").lstrip("0") or number
        elif form < 0.05:
            written = f"9{rng.randrange(10**9):09d}"  # no such account
        reference = f"{tag}-{k:07d}"
        if items and rng.random() < 0.005:
            reference = items[rng.randrange(len(items))].item_reference  # the same item twice
        items.append(LockboxItem(written, amount, rng.choice(PAID), reference,
                                 "eft" if rng.random() < 0.2 else "cheque", f"Payer {k}"))
    bad = [f"{due[0][1]},12.345,2026-03-04,{tag}-BAD-{i},cheque," for i in range(max(1, m * 3 // 1000))]
    return items, bad


def timed_import(label: str, fmt: str, content: bytes, batch_size: int, reference: bool = False) -> dict:
    from django.utils import timezone

    from billing.payments.models import Payment
    from billing.payments.tests.lockbox_reference import remittance_import_one_by_one
    from billing.services import remittance_import
    from core.actors import Actor

    actor = Actor.system("lockbox bench")
    before = Payment.objects.count()
    load_start = _load()
    cpu0 = os.times()
    started = time.perf_counter()
    if reference:
        batch = remittance_import_one_by_one(format=fmt, content=content, file_name=f"{label}.{fmt}", actor=actor,
                                             now=timezone.now())
    else:
        seen = [0]

        def progress(file) -> None:  # every 10th batch: lines done and the rate so far (does it hold?)
            seen[0] += 1
            if seen[0] % 10 == 0:
                done = file.posted + file.suspense + file.duplicates + file.rejected
                elapsed = time.perf_counter() - started
                print(f"  {label}: {done} lines in {elapsed:.1f} s ({done / elapsed:.0f} lines/s), load {_load()}")

        batch = remittance_import(format=fmt, content=content, file_name=f"{label}.{fmt}", actor=actor,
                                  now=timezone.now(), batch_size=batch_size, progress=progress)
    seconds = time.perf_counter() - started
    cpu1 = os.times()
    posted = Payment.objects.count() - before
    assert posted == batch.posted, (posted, batch.posted)
    return {"label": label, "format": fmt, "seconds": seconds, "lines": batch.lines_total, "posted": batch.posted,
            "suspense": batch.suspense, "duplicates": batch.duplicates, "rejected": batch.rejected,
            "python_cpu": cpu1.user + cpu1.system - cpu0.user - cpu0.system, "load_start": load_start,
            "load_end": _load(), "path": "one by one (payment_post)" if reference else f"bulk, batches of {batch_size}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--payments", type=int, default=100_000)
    parser.add_argument("--format", choices=("csv", "bai2", "both"), default="csv")
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--reference", type=int, default=0, metavar="K",
                        help="Also time payment_post one by one on a file of K lines.")
    parser.add_argument("--database", default="utilis_bench_lf")
    parser.add_argument("--seed", type=int, default=10)
    parser.add_argument("--keep", action="store_true", help="Keep the benchmark database (dropped by default).")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # each figure as it is measured, also into a file

    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/utilis")
    os.environ["DATABASE_URL"] = _fresh_database(base, args.database)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    settings.DEBUG = False  # after set-up (the settings' checks): DEBUG would keep every SQL string

    from integrations.services import write_bai2_lockbox, write_lockbox_csv

    print(f"load average at start {_load()} ({os.cpu_count()} cores)")
    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    migrated = time.perf_counter()
    due = build_accounts(args.accounts, rng)
    print(f"set-up: migrate {migrated - t0:.1f} s; {args.accounts} accounts with open charges in "
          f"{time.perf_counter() - migrated:.1f} s")

    files = []
    formats = ("csv", "bai2") if args.format == "both" else (args.format,)
    for fmt in formats:
        items, bad = lockbox_items(due, args.payments, rng, tag=f"LB{fmt.upper()}")
        if fmt == "csv":
            content = (write_lockbox_csv(items) + "\n".join(bad) + "\n").encode()
            files.append(("lockbox-csv", f"box-{fmt}", content))
        else:  # BAI2: one as-of date per file, no bad lines (a bad record's file loses its control totals)
            content = write_bai2_lockbox(items, as_of=PAID[0]).encode()
            files.append(("bai2", f"box-{fmt}", content))
    results = []
    if args.reference:
        items, bad = lockbox_items(due, args.reference, rng, tag="LBREF")
        content = (write_lockbox_csv(items) + "\n".join(bad) + "\n").encode()
        results.append(timed_import("reference", "lockbox-csv", content, args.batch_size, reference=True))
    for fmt, label, content in files:
        results.append(timed_import(label, fmt, content, args.batch_size))

    print(f"{'file':<12}{'path':<30}{'lines':>8}{'posted':>8}{'susp.':>7}{'dup.':>6}{'rej.':>6}"
          f"{'s':>8}{'lines/s':>9}{'paid/s':>8}{'py cpu s':>9}  load start -> end")
    for r in results:
        print(f"{r['label']:<12}{r['path']:<30}{r['lines']:>8}{r['posted']:>8}{r['suspense']:>7}{r['duplicates']:>6}"
              f"{r['rejected']:>6}{r['seconds']:>8.1f}{r['lines'] / r['seconds']:>9.0f}"
              f"{r['posted'] / r['seconds']:>8.0f}{r['python_cpu']:>9.1f}  {r['load_start']} -> {r['load_end']}")
    print(f"load average now {_load()}")
    connections.close_all()
    if not args.keep:
        import psycopg

        parts = urlsplit(os.environ["DATABASE_URL"])
        with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
    else:
        print(f"kept database {args.database}")


if __name__ == "__main__":
    main()
