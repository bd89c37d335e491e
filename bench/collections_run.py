"""Collections benchmark: the daily collections run and a lockbox file, at scale.

    .venv/bin/python bench/collections_run.py --accounts 100000 --workers 2

1. Creates a fresh database (default utilis_bench_collections) on DATABASE_URL's server,
   migrates it (the migration loads the default dunning plans and Ontario's rules).
2. Builds N accounts with COPY (set-up, not timed; triggers off while loading, as a
   conversion's bulk load would): a customer, premise, service point, agreement and account
   each, monthly bills (one of 30 cycle days) with their ledger entries, the payments that paid
   them and their allocations, and collections state as earlier runs would have left it for
   the run date (Wednesday 2026-06-17). The mix (--help lists the categories): most accounts
   current; some overdue a few days (a case, no step yet); some at each step's age today
   (reminder, late charge, final notice, disconnection notice, disconnect order: the steps
   before it taken, a contact attempt 3 days ago for 80 % of the disconnections); some
   between steps (waiting); some protected (medical, staff hold, dispute); some with a
   promise to pay (kept, broken, pending) or a payment arrangement (kept, broken); closed
   accounts with an unpaid final bill (20 % of them at the write-off age); cases paid since the
   last run (30 % of them disconnected: a reconnect order). 10 % commercial (their plan).
3. Times the run: `collections_run_start` (the accounts and chunks), then every chunk through
   `collections_run_chunk_process`, as the Celery chunk tasks run it, over --workers forked
   processes (no broker in the timing; --workers 1: inline, in this process). Notice emails go
   to Django's dummy backend (handed over and marked sent; no SMTP in the timing).
   With --per-account the chunks use the per-account reference path (accounts_collect_each:
   what the run did before it was set-based).
4. Times a lockbox CSV of N/10 payments (integrations' lockbox-csv writer; 1 % of lines with
   an unknown account number, for suspense) imported through
   billing.payments.remittance.remittance_import, the Billing Hub upload's service.

Prints accounts/s for each phase of the run, what the run did (steps by kind, holds, cases
closed), payments/s of the lockbox import, and the load average. Dropped at the end unless --keep."""
from __future__ import annotations

import argparse
import datetime as dt
import io
import multiprocessing
import os
import sys
import time
from decimal import Decimal
from urllib.parse import urlsplit, urlunsplit

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(_HERE))

RUN = dt.date(2026, 6, 17)  # a Wednesday, outside the winter ban, no holiday near
NOW = dt.datetime(2026, 6, 17, 10, 0, tzinfo=dt.timezone.utc)
TS = "2026-06-16 05:00:00+00"
STEPS = {  # the presets' delays (billing/collections/presets.py)
    "residential": [("reminder", 5), ("late_charge", 16), ("final_notice", 30), ("disconnect_notice", 45),
                    ("disconnect", 60), ("write_off", 120)],
    "commercial": [("reminder", 3), ("late_charge", 16), ("final_notice", 21), ("disconnect_notice", 30),
                   ("disconnect", 45), ("write_off", 120)],
}
MIX = [  # (category, share)
    ("current", 0.855), ("young", 0.03), ("waiting", 0.05),
    ("today_reminder", 0.005), ("today_late_charge", 0.003), ("today_final_notice", 0.002),
    ("today_disconnect_notice", 0.0015), ("today_disconnect", 0.001),
    ("protected", 0.005), ("promise", 0.004), ("arrangement", 0.003), ("closed", 0.01), ("paid", 0.0055),
]


def _fresh_database(url: str, name: str, template: str) -> tuple[str, bool]:
    """Drop and create `name`; with `template`, as a copy of that database (migrated once by
    the first such run, kept for the next). Returns the URL and whether it is migrated."""
    import subprocess

    import psycopg

    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not template:
            conn.execute(f'CREATE DATABASE "{name}"')
            return urlunsplit(parts._replace(path=f"/{name}")), False
        schema = template
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [schema]).fetchone():
            conn.execute(f'CREATE DATABASE "{schema}"')
            env = dict(os.environ, DATABASE_URL=urlunsplit(parts._replace(path=f"/{schema}")))
            subprocess.run([sys.executable, os.path.join(os.path.dirname(_HERE), "manage.py"), "migrate", "-v0"],
                           env=env, check=True)
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{schema}"')
    return urlunsplit(parts._replace(path=f"/{name}")), True


class Table:
    """Rows of one table as COPY text, with ids handed out here."""

    def __init__(self, name: str, columns: str, start: int = 1) -> None:
        self.name, self.columns, self.next_id, self.buf, self.rows = name, columns, start, io.StringIO(), 0

    def add(self, *values) -> int:
        pk = self.next_id
        self.next_id += 1
        self.buf.write("\t".join([str(pk)] + ["\\N" if v is None else str(v) for v in values]) + "\n")
        self.rows += 1
        return pk


def _d(day: dt.date) -> str:
    return day.isoformat()


def build(n: int, seed: int) -> dict:
    """Every row of the synthetic utility as COPY text (see the module docstring)."""
    rng = np.random.default_rng(seed)
    names = [m[0] for m in MIX]
    category = rng.choice(len(MIX), size=n, p=np.array([m[1] for m in MIX]) / sum(m[1] for m in MIX))
    commercial = rng.random(n) < 0.10
    has_email = rng.random(n) < 0.7
    amounts = np.maximum(np.round(rng.lognormal(np.log(130), 0.45, n), 2), 40.0)
    amounts = np.where(commercial, np.round(amounts * 5, 2), amounts)
    offsets = rng.integers(1, 30, n)
    t = {
        "customer": Table("cis_customer", "id, customer_number, kind, first_name, last_name, organisation_name, "
                          "display_name, id_type, id_number, phone, phone_alt, email, mailing_address_line1, "
                          "mailing_address_line2, mailing_city, mailing_region, mailing_postal_code, mailing_country, "
                          "preferred_language, preferred_contact_method, search_name, phone_search, id_number_search, "
                          "created_at, updated_at"),
        "premise": Table("cis_premise", "id, address_line1, address_line2, city, region, postal_code, country, "
                         "premise_number, premise_type, meter_chamber, search_address, created_at, updated_at"),
        "sp": Table("cis_servicepoint", "id, sp_number, commodity, status, route, rate_class, created_at, updated_at, "
                    "premise_id"),
        "account": Table("cis_account", "id, account_number, status, bill_cycle_code, billing_address_line1, "
                         "billing_address_line2, billing_city, billing_region, billing_postal_code, billing_country, "
                         "opened_date, closed_date, created_at, updated_at, customer_id"),
        "agreement": Table("cis_serviceagreement", "id, agreement_number, rate_code, start_date, end_date, created_at, "
                           "updated_at, account_id, service_point_id"),
        "bill": Table("billing_bill", "id, bill_number, account_id, kind, status, period_start, period_end, bill_date, "
                      "due_date, total, balance_forward, amount_due, cancel_reason, issued_at, created_at, consumption, "
                      "estimated_intervals, interval_count"),
        "ledger": Table("billing_ledgerentry", "id, account_id, kind, amount, effective_date, description, reason, "
                        "idempotency_key, payment_reference, posted_at, bill_id"),
        "payment": Table("billing_payment", "id, receipt_number, channel, tender_type, amount, received_date, "
                         "external_reference, reference, reason, actor, created_at, account_id, ledger_entry_id"),
        "allocation": Table("billing_allocation", "id, amount, reason, allocated_date, created_at, account_id, charge_id, "
                            "credit_id"),
        "fee": Table("billing_fee", "id, kind, amount, created_at, account_id, ledger_entry_id"),
        "case": Table("billing_collectioncase", "id, status, customer_class, opened_on, oldest_due_date, overdue_amount, "
                      "last_step, disconnected, held_by, evaluated_on, account_id"),
        "action": Table("billing_collectionaction", "id, kind, action_date, overdue_amount, detail, order_number, "
                        "email_to, email_sent_at, created_at, account_id, case_id"),
        "late": Table("billing_latecharge", "id, month, base, percent, amount, created_at, account_id, case_id, fee_id"),
        "protection": Table("billing_accountprotection", "id, kind, start_date, end_date, renewal_number, reference, "
                            "reason, created_at, account_id"),
        "promise": Table("billing_promisetopay", "id, promised_date, amount, made_on, status, note, created_at, "
                         "account_id"),
        "arrangement": Table("billing_paymentarrangement", "id, arrears, made_on, status, note, created_at, account_id"),
        "instalment": Table("billing_arrangementinstalment", "id, number, due_date, amount, arrangement_id"),
        "contact": Table("billing_contactattempt", "id, attempted_at, method, note, account_id"),
    }
    receipt = [0]

    def pay(account_id: int, amount: float, day: dt.date, charges: list[tuple[int, float]]) -> None:
        """A cashier payment of `amount`, allocated to `charges` (id, open) oldest first."""
        receipt[0] += 1
        entry = t["ledger"].add(account_id, "payment", f"{-amount:.2f}", _d(day), f"Payment R{receipt[0]:09d}", "",
                                None, f"R{receipt[0]:09d}", TS, None)
        t["payment"].add(f"R{receipt[0]:09d}", "cashier", "cash", f"{amount:.2f}", _d(day), "", "", "", "bench", TS,
                         account_id, entry)
        left = round(amount, 2)
        for charge_id, open_amount in charges:
            part = round(min(left, open_amount), 2)
            if part <= 0:
                break
            t["allocation"].add(f"{part:.2f}", "", _d(day), TS, account_id, charge_id, entry)
            left = round(left - part, 2)

    counts: dict[str, int] = {}
    for i in range(n):
        cat = names[category[i]]
        counts[cat] = counts.get(cat, 0) + 1
        klass = "commercial" if commercial[i] else "residential"
        steps = STEPS[klass]
        delay = dict(steps)
        org = bool(commercial[i])
        email = f"c{i}@bench.example" if has_email[i] else ""
        cust = t["customer"].add(f"BC{i:08d}", "organisation" if org else "person", "" if org else "Bench",
                                 "" if org else f"Customer{i}", f"Bench Co {i}" if org else "", f"Bench Customer{i}",
                                 "", "", "", "", email, "", "", "", "", "", "CA", "en", "email",
                                 f"bench customer{i}", "", "", TS, TS)
        prem = t["premise"].add(f"{i + 1} Bench Street", "", "Toronto", "ON", "M5V 1A1", "CA", f"BP{i:08d}",
                                "residential", "", f"{i + 1} bench street toronto", TS, TS)
        sp = t["sp"].add(f"BS{i:08d}", "electric", "active", "", klass, TS, TS, prem)
        closed = cat == "closed"
        # The age of the oldest unpaid bill on the run date (0: nothing past due).
        age = 0
        if cat == "young":
            age = int(rng.integers(1, delay["reminder"]))
        elif cat.startswith("today_"):
            age = delay[cat[6:]]
        elif cat == "waiting":
            age = int(rng.integers(delay["reminder"] + 1, 100))
            while age in delay.values():
                age += 1
        elif cat in ("protected", "promise"):
            age = delay["reminder"] if rng.random() < 0.6 else delay["final_notice"]
        elif cat == "arrangement":
            age = int(rng.integers(20, 41))
        elif cat == "closed":
            age = 120 if rng.random() < 0.2 else int(rng.integers(1, 120))
        elif cat == "paid":
            age = int(rng.integers(6, 90))
        oldest_index, offset = (age // 30, age % 30) if age else (-1, int(offsets[i]))
        acct = t["account"].add(f"8{i:09d}", "closed" if closed else "active", "C01", "", "", "", "", "", "CA",
                                "2025-01-01", _d(RUN - dt.timedelta(days=age + 25)) if closed else None, TS, TS, cust)
        t["agreement"].add(f"BA{i:08d}", "RES" if not org else "GS", "2025-01-01",
                           _d(RUN - dt.timedelta(days=age + 25)) if closed else None, TS, TS, acct, sp)
        # Bills: due every 30 days back from the run date (minus the cycle offset), the one due
        # next month too when it is already issued; a closed account's last is its final bill.
        count = max(2, oldest_index + 1)
        dues = [RUN - dt.timedelta(days=offset + 30 * j) for j in range(count)]
        if not closed and RUN - dt.timedelta(days=offset - 30 + 21) <= RUN:
            dues = [RUN - dt.timedelta(days=offset - 30)] + dues
            oldest_index += 1 if age else 0
        bills = []
        for j, due in enumerate(dues):
            amount = float(round(amounts[i] * (0.85 + 0.3 * ((i * 7 + j * 13) % 10) / 10), 2))
            bill_date = due - dt.timedelta(days=21)
            bill = t["bill"].add(f"BB{t['bill'].next_id:010d}", acct, "final" if closed and j == 0 else "regular", "issued",
                                 _d(bill_date - dt.timedelta(days=30)), _d(bill_date), _d(bill_date), _d(due),
                                 f"{amount:.2f}", "0.00", f"{amount:.2f}", "", TS, TS, "0", "0", "0")
            entry = t["ledger"].add(acct, "bill", f"{amount:.2f}", _d(bill_date), f"Bill BB{bill:010d}", "",
                                    f"bill:{bill}", "", TS, bill)
            bills.append((entry, amount, due))
        unpaid = bills[:oldest_index + 1] if age else [b for b in bills if b[2] >= RUN]
        for entry, amount, due in bills:
            if (entry, amount, due) not in unpaid:
                pay(acct, amount, due - dt.timedelta(days=int(rng.integers(0, 15))), [(entry, amount)])
        arrears = round(sum(a for _, a, due in unpaid if due < RUN), 2)
        if not age:
            continue
        oldest_due = RUN - dt.timedelta(days=age)
        # Steps earlier runs took (one a day, at each step's age), those closed accounts take.
        taken = [(k, d) for k, d in steps if d < age and (k != "write_off") and not (closed and k.startswith("disconnect"))]
        late_base = arrears
        fees = []
        case = t["case"].add("open", klass, _d(oldest_due + dt.timedelta(days=1)), _d(oldest_due), f"{arrears:.2f}",
                             taken[-1][0] if taken else "", "t" if any(k == "disconnect" for k, _ in taken) else "f",
                             "", _d(RUN - dt.timedelta(days=1)), acct)
        for kind, d in taken:
            day = oldest_due + dt.timedelta(days=d)
            detail = f"Disconnection possible from {day + dt.timedelta(days=14)}" if kind == "disconnect_notice" else ""
            sent = TS if email and kind in ("reminder", "final_notice", "disconnect_notice") else None
            t["action"].add(kind, _d(day), f"{arrears:.2f}", detail, f"SO{case:08d}" if kind == "disconnect" else "",
                            email if kind in ("reminder", "final_notice", "disconnect_notice") else "", sent, TS, acct,
                            case)
            if kind == "late_charge":  # then every month's first run while the case stays open
                month = day.replace(day=1)
                while month <= RUN:
                    charged = round(late_base * 0.015, 2)
                    effective = max(day, month)
                    entry = t["ledger"].add(acct, "adjustment", f"{charged:.2f}", _d(effective), "Charge adjustment",
                                            f"Late payment charge 1.50% of {late_base:.2f} overdue ({month:%Y-%m})",
                                            f"late-charge:{acct}:{month.isoformat()}", "", TS, None)
                    fee = t["fee"].add("late_payment", f"{charged:.2f}", TS, acct, entry)
                    fees.append((entry, charged))
                    t["late"].add(_d(month), f"{late_base:.2f}", "1.50", f"{charged:.2f}", TS, acct, case, fee)
                    month = (month + dt.timedelta(days=32)).replace(day=1)
        if cat == "paid":  # bills and late charges paid yesterday: the run closes the case
            owed = [(e, a) for e, a, due in reversed(unpaid) if due < RUN] + fees
            pay(acct, round(sum(a for _, a in owed), 2), RUN - dt.timedelta(days=1), owed)
        if cat == "today_disconnect" and rng.random() < 0.8:
            t["contact"].add(f"{RUN - dt.timedelta(days=3)} 15:00:00+00", "phone", "", acct)
        elif cat == "waiting" and age > delay["disconnect_notice"]:
            t["contact"].add(f"{oldest_due + dt.timedelta(days=delay['disconnect_notice'] + 2)} 15:00:00+00", "phone", "", acct)
        if cat == "protected":
            kind = ["medical", "medical", "staff_hold", "dispute"][i % 4]
            t["protection"].add(kind, _d(RUN - dt.timedelta(days=10)), _d(RUN + dt.timedelta(days=19)), "0", "",
                                "bench protection", TS, acct)
        elif cat == "promise":
            roll = rng.random()
            made = RUN - dt.timedelta(days=4)
            if roll < 0.6:  # pending: holds the step due today
                t["promise"].add(_d(RUN + dt.timedelta(days=5)), f"{arrears:.2f}", _d(made), "open", "", TS, acct)
            elif roll < 0.85:  # broken yesterday: the plan resumes
                t["promise"].add(_d(RUN - dt.timedelta(days=1)), f"{arrears:.2f}", _d(made), "open", "", TS, acct)
            else:  # kept: half paid as promised, the rest still overdue
                half = round(arrears / 2, 2)
                t["promise"].add(_d(RUN + dt.timedelta(days=3)), f"{half:.2f}", _d(made), "open", "", TS, acct)
                pay(acct, half, RUN - dt.timedelta(days=2), [(e, a) for e, a, due in reversed(unpaid) if due < RUN])
        elif cat == "arrangement":
            made = RUN - dt.timedelta(days=10)
            arrangement = t["arrangement"].add(f"{arrears:.2f}", _d(made), "active", "", TS, acct)
            each = round(arrears / 3, 2)
            for number in range(3):
                t["instalment"].add(number + 1, _d(RUN - dt.timedelta(days=5 - 30 * number)),
                                    f"{each if number < 2 else round(arrears - 2 * each, 2):.2f}", arrangement)
            if rng.random() < 0.7:  # the first instalment paid: kept (and it holds the next step)
                pay(acct, each, RUN - dt.timedelta(days=6), [(e, a) for e, a, due in reversed(unpaid) if due < RUN])
    return {"tables": t, "counts": counts}


def load(tables: dict[str, Table]) -> dict[str, int]:
    """COPY every table (triggers and foreign key checks off: set-up only), set the sequences, ANALYZE."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        for table in tables.values():
            with cursor.copy(f"COPY {table.name} ({table.columns}) FROM STDIN") as copy:
                copy.write(table.buf.getvalue())
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), {max(table.next_id, 2)})")
        cursor.execute("SET session_replication_role = DEFAULT")
        # The set-up's payments carry receipt numbers of their own (R000000001...): the receipt
        # sequence must start past them, or the lockbox import's first receipt collides (at 1M
        # accounts the 1.8M set-up receipts pass the sequence's start).
        cursor.execute(
            "SELECT setval(%s, GREATEST((SELECT last_value FROM billing_payment_receipt_seq),"
            " (SELECT COALESCE(max(substr(receipt_number, 2)::bigint), 0) + 1 FROM billing_payment)))",
            ["billing_payment_receipt_seq"])
        for table in tables.values():
            cursor.execute(f"ANALYZE {table.name}")
    return {table.name: table.rows for table in tables.values()}


def _chunks(args) -> list[str]:
    run_id, numbers, per_account = args
    import django
    from django.db import connections

    django.setup()
    from django.conf import settings

    settings.EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
    from billing.collections.services import collections_run_chunk_process

    try:
        return [collections_run_chunk_process(run_id=run_id, chunk_number=number, now=NOW, per_account=per_account)
                for number in numbers]
    finally:
        connections.close_all()


def _spread(run_id: int, numbers: list[int], workers: int, per_account: bool) -> list[str]:
    from django.db import connections

    if workers <= 1:
        return _chunks((run_id, numbers, per_account))
    connections.close_all()  # forked workers must not share the parent's connection
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        parts = pool.map(_chunks, [(run_id, numbers[w::workers], per_account) for w in range(workers)])
    return [o for part in parts for o in part]


def _load() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def lockbox_file(n_payments: int, account_numbers: list[str], seed: int) -> bytes:
    from integrations.services import LockboxItem, write_lockbox_csv

    rng = np.random.default_rng(seed + 2)
    picks = rng.choice(len(account_numbers), size=n_payments, replace=n_payments > len(account_numbers))
    amounts = np.maximum(np.round(rng.lognormal(np.log(110), 0.5, n_payments), 2), 5.0)
    items = []
    for k in range(n_payments):
        number = account_numbers[picks[k]] if k % 100 != 99 else f"99{k:08d}"  # 1 %: no such account (suspense)
        items.append(LockboxItem(account_number=number, amount=Decimal(f"{amounts[k]:.2f}"), paid_date=RUN,
                                 item_reference=f"LBX0617-{k:07d}", tender_type="cheque" if k % 3 else "eft",
                                 payer_name=f"Payer {k}"))
    return write_lockbox_csv(items).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2, help="Forked processes doing chunks, like Celery workers "
                                                               "(1: inline, in this process).")
    parser.add_argument("--chunk-size", type=int, default=500, help="Accounts per chunk (the run's default: 500).")
    parser.add_argument("--per-account", action="store_true",
                        help="Chunks through the per-account reference path (what the run did before).")
    parser.add_argument("--payments", type=int, default=None, help="Lockbox lines (default N/10; 0: skip).")
    parser.add_argument("--database", default="utilis_bench_collections")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--keep", action="store_true", help="Keep the benchmark database (dropped by default).")
    parser.add_argument("--schema-template", nargs="?", const="utilis_bench_collections_schema", default="",
                        metavar="NAME", help="Copy a migrated database NAME (default utilis_bench_collections_schema; "
                                             "made and kept by the first such run) instead of migrating: drop it "
                                             "after changing migrations.")
    args = parser.parse_args()

    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/utilis")
    url, migrated_already = _fresh_database(base, args.database, args.schema_template)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections, transaction
    from django.db.models import Count

    settings.EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
    from billing.collections.models import (
        CollectionAction,
        CollectionCase,
        CollectionRun,
        CollectionRunChunk,
        CollectionSkip,
    )
    from billing.collections.services import collections_run_start
    from billing.payments.remittance import remittance_import
    from core.actors import Actor
    from core.runs import engine as run_engine

    print(f"load average at start {_load()} ({os.cpu_count()} cores)")
    t0 = time.perf_counter()
    if not migrated_already:
        call_command("migrate", verbosity=0)
    migrated = time.perf_counter()
    built = build(args.accounts, args.seed)
    generated = time.perf_counter()
    with transaction.atomic():
        rows = load(built["tables"])
    print(f"set-up: migrate {migrated - t0:.1f} s; rows generated in {generated - migrated:.1f} s, COPYed in "
          f"{time.perf_counter() - generated:.1f} s: " + ", ".join(f"{k.split('_', 1)[1]} {v}" for k, v in rows.items()))
    print("mix: " + ", ".join(f"{k} {v}" for k, v in sorted(built["counts"].items(), key=lambda kv: -kv[1])))
    numbers_of_accounts = [f"8{i:09d}" for i in range(args.accounts)]
    del built

    load_before = _load()
    before = os.times()
    started = time.perf_counter()
    run = collections_run_start(run_date=RUN, now=NOW, chunk_size=args.chunk_size, enqueue=False)
    planned = time.perf_counter()
    numbers = run_engine.pending_chunks(CollectionRunChunk, run_id=run.pk)
    outcomes = _spread(run.pk, numbers, args.workers, args.per_account)
    finished = time.perf_counter()
    cpu = os.times()
    python_cpu = (cpu.user + cpu.system + cpu.children_user + cpu.children_system
                  - before.user - before.system - before.children_user - before.children_system)
    load_after = _load()
    run.refresh_from_db()
    assert run.status == CollectionRun.Status.DONE, (run.status, outcomes.count("failed"), run.error)
    evaluated = run.accounts_total
    steps = dict(CollectionAction.objects.filter(run=run).order_by().values_list("kind").annotate(n=Count("id"))
                 .values_list("kind", "n"))
    skips = CollectionSkip.objects.filter(on_date=RUN).count()
    print(f"collections run of {RUN}: {evaluated} accounts evaluated, {run.chunks_total} chunks of {args.chunk_size}, "
          f"{args.workers} worker process(es){', per-account path' if args.per_account else ''}")
    print(f"  steps taken {run.actions_taken} (" + ", ".join(f"{k} {v}" for k, v in sorted(steps.items())) +
          f"), held {run.holds} (skips {skips}), cases closed {run.cases_closed}, cases open "
          f"{CollectionCase.objects.filter(status='open').count()}")
    plan_s, chunks_s, total_s = planned - started, finished - planned, finished - started
    print(f"{'phase':<40}{'s':>9}{'accounts/s':>12}")
    for label, seconds in (("start (accounts, chunks)", plan_s), ("chunks (evaluate and act)", chunks_s),
                           ("total", total_s)):
        print(f"  {label:<38}{seconds:9.1f}{evaluated / seconds:12.0f}")
    print(f"  Python CPU (this process and the workers; PostgreSQL not included) {python_cpu:.1f} s: "
          f"{evaluated / python_cpu:.0f} accounts per CPU second")
    print(f"  load average: start of run {load_before}, end of run {load_after}")

    # The same day again: the run exists, nothing new.
    before = CollectionAction.objects.count()
    again = collections_run_start(run_date=RUN, now=NOW, chunk_size=args.chunk_size, enqueue=False)
    assert again.pk == run.pk and CollectionAction.objects.count() == before

    payments = args.accounts // 10 if args.payments is None else args.payments
    if payments:
        content = lockbox_file(payments, numbers_of_accounts, args.seed)
        load_before = _load()
        started = time.perf_counter()
        batch = remittance_import(format="lockbox-csv", content=content, file_name="bench-lockbox.csv",
                                  actor=Actor.system("bench"), now=NOW)
        seconds = time.perf_counter() - started
        print(f"lockbox CSV of {payments} lines ({len(content) / 1e6:.1f} MB) through remittance_import: "
              f"{batch.posted} posted, {batch.suspense} to suspense, {batch.duplicates} duplicates, "
              f"{batch.rejected} rejected in {seconds:.1f} s: {payments / seconds:.0f} payments/s "
              f"(load {load_before} -> {_load()})")
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
