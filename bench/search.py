"""Hub-search benchmark: one command sets up its own database, seeds the demo utility and
prints p50/p95 search latency per kind of query.

    .venv/bin/python bench/search.py --accounts 100000 --seed 1 [--queries 50] [--reuse] [--explain]

The database is DATABASE_URL's server with the name --database (default utilis_bench);
it is dropped and created afresh unless --reuse is given and it already holds data.

Measured per kind (name, account, address, phone, email, id_number, and as CSRs also type them:
account_partial = the number without its leading zeros, address_pasted = "159 Sydenham Blvd,
Suite 107", meter = a meter serial in any case; --meters N puts N meters in mdm, 1M by default):
  hub  GET /hub/?q=...               Django test Client (in process, no HTTP server), logged in
                                     as the demo CSR; the one box classifies the query itself.
  api  GET /api/search/?q=&kind=...  DRF token auth as the demo CSR, when that URL exists;
                                     otherwise cis.selectors.search_accounts(q, kind=...)
                                     directly, labelled "selector".
Queries are drawn from the seeded rows with the same seed, so runs compare like with like."""
from __future__ import annotations

import argparse
import json
import logging
import os
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("name", "account", "address", "phone", "email", "id_number", "account_partial", "address_pasted", "meter")
# The kind the API is asked for, for the kinds that are one kind typed another way.
API_KIND = {"account_partial": "account", "address_pasted": "address"}
STREET_ABBREVIATIONS = {"Street": "St", "Avenue": "Ave", "Boulevard": "Blvd", "Road": "Rd", "Drive": "Dr",
                        "Crescent": "Cres", "Court": "Ct", "Lane": "Ln", "Place": "Pl"}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--queries", type=int, default=50, help="Queries per kind (at least 50 for the report).")
    parser.add_argument("--database", default="utilis_bench")
    parser.add_argument("--reuse", action="store_true", help="Keep an already seeded benchmark database.")
    parser.add_argument("--keep", action="store_true",
                        help="Keep the benchmark database at the end (dropped otherwise, unless --reuse).")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the slowest SQL of each kind.")
    parser.add_argument("--json", type=Path, help="Also write the figures here as JSON.")
    parser.add_argument("--meters", type=int, default=1_000_000,
                        help="Meters in mdm: one installed at each electric service point with a current agreement, "
                             "the rest in stock (the serial lookup at a utility's fleet size).")
    return parser.parse_args(argv)


def database_urls(name: str) -> tuple[str, str]:
    """(the benchmark database's URL, the server's maintenance database URL)."""
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/utilis")
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/{name}")), urlunsplit(parts._replace(path="/postgres"))


def prepare_database(args) -> tuple[bool, str]:
    """Create the benchmark database unless reusing it. Returns (fresh, its URL)."""
    import psycopg

    url, admin_url = database_urls(args.database)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [args.database]).fetchone()
        if exists and args.reuse:
            return False, url
        if exists:
            conn.execute(f'DROP DATABASE "{args.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{args.database}"')
    return True, url


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile: the smallest value with at least pct% of values at or below it."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


def draw_queries(rng: random.Random, count: int) -> dict[str, list[tuple[str, str]]]:
    """(query, account number it should find) per kind, from the seeded data."""
    from cis.models import Account, Customer, ServiceAgreement

    def sample(qs, n):
        ids = list(qs.values_list("pk", flat=True))
        return rng.sample(ids, min(n, len(ids)))

    queries: dict[str, list[tuple[str, str]]] = {k: [] for k in KINDS}
    people = Customer.objects.filter(kind=Customer.Kind.PERSON, accounts__isnull=False).distinct()
    for c in Customer.objects.filter(pk__in=sample(people, count)).prefetch_related("accounts").order_by("pk"):
        account = c.accounts.all()[0].account_number
        # Partial names as CSRs type them: a surname's start, or first name and a surname's start.
        if rng.random() < 0.5:
            q = c.last_name[: max(4, len(c.last_name) - 2)]
        else:
            q = f"{c.first_name} {c.last_name[:3]}"
        queries["name"].append((q, account))
        phone = "".join(ch for ch in c.phone if ch.isdigit())[-10:]
        queries["phone"].append((rng.choice((c.phone, phone, f"{phone[3:6]}-{phone[6:]}")), account))
    for a in Account.objects.filter(pk__in=sample(Account.objects.all(), count)).order_by("pk"):
        queries["account"].append((a.account_number, a.account_number))
    with_email = Customer.objects.exclude(email="").filter(accounts__isnull=False).distinct()
    for c in Customer.objects.filter(pk__in=sample(with_email, count)).prefetch_related("accounts").order_by("pk"):
        q = c.email if rng.random() < 0.5 else c.email.split("@")[0] + "@"
        queries["email"].append((q, c.accounts.all()[0].account_number))
    with_id = Customer.objects.exclude(id_number="").filter(accounts__isnull=False).distinct()
    for c in Customer.objects.filter(pk__in=sample(with_id, count)).prefetch_related("accounts").order_by("pk"):
        queries["id_number"].append((c.id_number, c.accounts.all()[0].account_number))
    current = ServiceAgreement.objects.filter(end_date__isnull=True, service_point__commodity="electric")
    for ag in current.filter(pk__in=sample(current, count)).select_related("service_point__premise", "account").order_by("pk"):
        premise = ag.service_point.premise
        number, _, street = premise.address_line1.partition(" ")
        # "12 King" or "12 King Street": the number and the street's first word or two.
        words = street.split()
        queries["address"].append((f"{number} {' '.join(words[: rng.choice((1, 2))])}", ag.account.account_number))
    # Addresses pasted as written: "159 Sydenham Boulevard, Suite 107" (street type abbreviated
    # half the time, the city added a third of the time), suites preferred (they are the hard case).
    suites = current.exclude(service_point__premise__address_line2="")
    for ag in current.filter(pk__in=sample(suites, count // 2) + sample(current, count - count // 2)) \
            .select_related("service_point__premise", "account").order_by("pk"):
        premise = ag.service_point.premise
        line1 = premise.address_line1
        if rng.random() < 0.5:
            words = line1.split()
            line1 = " ".join(STREET_ABBREVIATIONS.get(w, w) for w in words)
        pasted = ", ".join(p for p in (line1, premise.address_line2) if p)
        if rng.random() < 1 / 3:
            pasted += f", {premise.city}"
        queries["address_pasted"].append((pasted, ag.account.account_number))
    for q, account in queries["account"]:
        queries["account_partial"].append((q.lstrip("0") or q, account))
    from django.db import connection

    with connection.cursor() as cursor:  # meters installed at current electric service points
        cursor.execute(
            "SELECT m.serial_number, a.account_number FROM mdm_installation i JOIN mdm_meter m ON m.id = i.meter_id "
            "JOIN cis_serviceagreement g ON g.service_point_id = i.service_point_id AND g.end_date IS NULL "
            "JOIN cis_account a ON a.id = g.account_id WHERE i.removed_at IS NULL ORDER BY i.id"
        )
        installed = cursor.fetchall()
    for serial, account in rng.sample(installed, min(count, len(installed))):
        queries["meter"].append((serial.lower() if rng.random() < 0.5 else serial, account))
    return queries


def add_meters(total: int) -> int:
    """Meters for the serial lookup, in SQL (setup, not timed): one installed at each electric
    service point with a current agreement, then in-stock meters up to `total`."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        # Foreign keys checked row by row, not queued to the commit: Django's are DEFERRABLE
        # INITIALLY DEFERRED, and a million deferred checks in one transaction grew
        # quadratically (see "Seeding the demo utility" in docs/performance.md).
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SELECT count(*) FROM mdm_meter")
        if cursor.fetchone()[0]:
            return 0
        cursor.execute(
            "CREATE TEMP TABLE bench_sp ON COMMIT DROP AS SELECT DISTINCT g.service_point_id AS sp, "
            "row_number() OVER (ORDER BY g.service_point_id) AS n FROM cis_serviceagreement g "
            "JOIN cis_servicepoint s ON s.id = g.service_point_id WHERE g.end_date IS NULL AND s.commodity = 'electric'"
        )
        # Statistics for the join below: without them (a fresh temp table, meters just
        # inserted) the planner took both for empty and joined them in a nested loop of
        # sequential scans, quadratic in the meters (15-20 s at 100k accounts, more than 30
        # minutes at 1M without finishing).
        cursor.execute("ANALYZE bench_sp")
        cursor.execute("SELECT count(*) FROM bench_sp")
        installed = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO mdm_meter (serial_number, manufacturer, model, kind, ami_capable, status, created_at, updated_at) "
            "SELECT 'BM' || lpad(n::text, 8, '0'), 'Itron', 'OpenWay Riva', 'electric_single_phase', true, "
            "CASE WHEN n <= %s THEN 'installed' ELSE 'in_stock' END, now(), now() FROM generate_series(1, %s) n",
            [installed, max(total, installed)],
        )
        cursor.execute("ANALYZE mdm_meter")
        cursor.execute(
            "INSERT INTO mdm_installation (meter_id, service_point_id, commodity, installed_at, created_at) "
            "SELECT m.id, b.sp, 'electric', now() - interval '400 days', now() FROM bench_sp b "
            "JOIN mdm_meter m ON m.serial_number = 'BM' || lpad(b.n::text, 8, '0')"
        )
        cursor.execute("ANALYZE mdm_meter")
        cursor.execute("ANALYZE mdm_installation")
    return max(total, installed)


def timed(call) -> tuple[float, object]:
    start = time.perf_counter()
    result = call()
    return (time.perf_counter() - start) * 1000, result


def measure(args, queries) -> dict:
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import Resolver404, resolve
    from knox.models import get_token_model
    from rest_framework.test import APIClient

    from cis.selectors import search_accounts

    csr = get_user_model().objects.get(username="csr")
    hub = Client()
    hub.force_login(csr)
    try:
        resolve("/api/search/")
        api_mode = "api"
    except Resolver404:
        api_mode = "selector"
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {get_token_model().objects.create(user=csr, name='bench')[1]}")

    def hub_get(q, kind):
        response = hub.get("/hub/?" + urlencode({"q": q}))
        return response.status_code, response.content.decode()

    def api_get(q, kind):
        kind = API_KIND.get(kind, kind)
        if api_mode == "selector":
            hits = search_accounts(q, kind=kind)
            return 200, " ".join(h.account.account_number for h in hits)
        response = api.get("/api/search/?" + urlencode({"q": q, "kind": kind}))
        return response.status_code, response.content.decode()

    results = {"api_mode": api_mode, "kinds": {}}
    # The floor a search is compared to: the same surfaces answering without searching (the hub
    # with an empty box, the API refusing an empty query), so the p95s above it are the search.
    floor = {}
    request_log = logging.getLogger("django.request")  # the empty API query's 400, once per request
    level = request_log.level
    request_log.setLevel(logging.ERROR)
    try:
        for surface, get in (("hub", lambda: hub.get("/hub/")), (api_mode, lambda: api.get("/api/search/?q="))):
            if api_mode == "selector" and surface == "selector":
                continue
            for _ in range(3):
                get()
            times = [timed(get)[0] for _ in range(max(10, args.queries))]
            floor[surface] = {"p50_ms": round(percentile(times, 50), 1), "p95_ms": round(percentile(times, 95), 1)}
    finally:
        request_log.setLevel(level)
    results["floor"] = floor
    for kind in KINDS:
        for q, _ in queries[kind][:3]:  # warm caches and connections; not counted
            hub_get(q, kind)
            api_get(q, kind)
        row = {}
        for surface, get in (("hub", hub_get), (api_mode, api_get)):
            times, found, statuses = [], 0, set()
            for q, expected in queries[kind]:
                ms, (status, body) = timed(lambda: get(q, kind))
                times.append(ms)
                statuses.add(status)
                found += expected in body
            row[surface] = {
                "n": len(times), "p50_ms": round(percentile(times, 50), 1), "p95_ms": round(percentile(times, 95), 1),
                "max_ms": round(max(times), 1), "mean_ms": round(statistics.fmean(times), 1),
                "found": found, "statuses": sorted(statuses),
            }
        results["kinds"][kind] = row
    return results


def explain(queries) -> None:
    """EXPLAIN ANALYZE the slowest SQL statement the selector runs for one query of each kind."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from cis.selectors import search_accounts

    for kind in KINDS:
        if not queries[kind]:
            continue
        q = queries[kind][0][0]
        with CaptureQueriesContext(connection) as captured:
            search_accounts(q, kind=API_KIND.get(kind, kind))
        slowest = max(captured.captured_queries, key=lambda c: float(c["time"]), default=None)
        if slowest is None:
            continue
        print(f"\n== {kind}: {q!r} slowest statement {float(slowest['time']) * 1000:.1f} ms\n{slowest['sql']}\n")
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + slowest["sql"])
            print("\n".join(row[0] for row in cursor.fetchall()))


def meter_count() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM mdm_meter")
        return cursor.fetchone()[0]


def main(argv=None) -> int:
    args = parse_args(argv)
    fresh, url = prepare_database(args)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("UTILIS_DEBUG", "false")  # DEBUG keeps every SQL string: not what production does
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    from cis.models import Account

    seed_seconds = None
    if fresh or not Account.objects.exists():
        call_command("migrate", verbosity=0)
        load = os.getloadavg()[0]
        started = time.perf_counter()
        # Customers and accounts only: meters and AMI data (mdm) play no part in account search.
        call_command("seed_demo", accounts=args.accounts, seed=args.seed, with_meters=False)
        seed_seconds = time.perf_counter() - started
        print(f"seed_demo --accounts {args.accounts} --no-meters: {seed_seconds:.1f} s (load average before: {load:.1f})")
    started = time.perf_counter()
    if meters := add_meters(args.meters):
        print(f"{meters} meters inserted for the serial lookup: {time.perf_counter() - started:.1f} s")
    accounts = Account.objects.count()
    queries = draw_queries(random.Random(args.seed), args.queries)
    results = measure(args, queries)
    results.update(meters=meter_count(), accounts=accounts, seed=args.seed, seed_seconds=seed_seconds, load_average=os.getloadavg()[0])

    second = results["api_mode"]
    print(f"\n{accounts} accounts, {results['meters']} meters, {args.queries} queries per kind; hub = GET /hub/?q= via Django test Client; "
          f"{second} = " + ("GET /api/search/?q=&kind= with token auth" if second == "api"
                            else "cis.selectors.search_accounts(q, kind=...) (no /api/search/ yet)"))
    print(f"{'kind':<15} {'hub p50':>9} {'hub p95':>9} {'hub found':>10} {second + ' p50':>13} {second + ' p95':>13} {'found':>6}")
    for kind, row in results["kinds"].items():
        h, a = row["hub"], row[second]
        print(f"{kind:<15} {h['p50_ms']:>9.1f} {h['p95_ms']:>9.1f} {h['found']:>5}/{h['n']:<4} "
              f"{a['p50_ms']:>13.1f} {a['p95_ms']:>13.1f} {a['found']:>3}/{a['n']}")
    for surface, f in results["floor"].items():
        print(f"floor ({surface} answering without a search): p50 {f['p50_ms']:.1f} ms, p95 {f['p95_ms']:.1f} ms; "
              "worst search p95 / floor p95 = "
              f"{max(row[surface]['p95_ms'] for row in results['kinds'].values()) / max(f['p95_ms'], 0.1):.1f}x")
    print(f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    if args.explain:
        explain(queries)
    if not (args.keep or args.reuse):
        import psycopg
        from django.db import connections

        connections.close_all()
        with psycopg.connect(database_urls(args.database)[1], autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
    else:
        print(f"kept database {args.database}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
