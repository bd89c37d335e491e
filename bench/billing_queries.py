"""The per-chunk lookups of a bill run whose cost could grow with the run, timed on a database
kept by `bench/billing.py --keep` (after its run was issued): the old and the new form of each,
so their growth from one run size to another can be compared query by query, whatever the
machine's load does to the whole run's wall time.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/utilis .venv/bin/python bench/billing_queries.py \\
        --database utilis_bench_billing

Each statement runs --repeat times under EXPLAIN (ANALYZE) and the median execution time (the
server's own figure: no client, no network) is printed, with the plan's top node. The chunks
are the run's own (BillRunChunk.account_ids), the first, middle and last one."""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from urllib.parse import urlsplit, urlunsplit

import psycopg

AGREEMENTS_OR = """SELECT sa.id FROM cis_serviceagreement sa JOIN cis_account a ON a.id = sa.account_id
  WHERE (sa.account_id = ANY(%(ids)s) OR a.parent_id = ANY(%(ids)s)) AND sa.start_date < %(before)s"""
AGREEMENTS_OWN = """SELECT id, agreement_number, account_id, service_point_id, rate_code, start_date, end_date
  FROM cis_serviceagreement WHERE account_id = ANY(%(ids)s) AND start_date < %(before)s ORDER BY id"""
AGREEMENTS_JOINED = """SELECT sa.id, a.account_number, a.parent_id, sp.commodity, sp.rate_class FROM cis_serviceagreement sa
  JOIN cis_account a ON a.id = sa.account_id JOIN cis_servicepoint sp ON sp.id = sa.service_point_id
  WHERE sa.account_id = ANY(%(ids)s) AND sa.start_date < %(before)s"""
ACCOUNTS = """SELECT id, account_number, parent_id FROM cis_account WHERE id = ANY(%(ids)s)"""
POINTS = """SELECT id, commodity, rate_class FROM cis_servicepoint WHERE id = ANY(%(points)s)"""
AGREEMENTS_CHILDREN = """SELECT id FROM cis_account WHERE parent_id = ANY(%(ids)s)"""
# The old issue batch at its worst (the last one): every bill of the run is walked to find none.
ISSUE_OLD = """SELECT id FROM billing_bill WHERE run_id = %(run)s AND status = 'approved' ORDER BY id LIMIT 1000"""
ISSUE_NEW = """SELECT id FROM billing_bill WHERE run_id = %(run)s AND account_id = ANY(%(ids)s)
  AND status = 'approved' ORDER BY id LIMIT 1000"""
BILLED_TO = """SELECT agreement_id, max(period_end) FROM billing_billsegment
  WHERE agreement_id = ANY(%(agreements)s) AND live GROUP BY agreement_id"""
HISTORY = """SELECT account_id, period_start, period_end FROM billing_bill
  WHERE account_id = ANY(%(ids)s) AND status = 'issued' AND period_end <= %(before)s
  AND period_end > %(before)s::date - 400"""
RUN_ROW = """SELECT * FROM billing_billrun WHERE id = %(run)s"""


def timed(conn, sql: str, params: dict, repeat: int) -> tuple[float, str]:
    times = []
    for _ in range(repeat):
        top = ""
        (plan,) = conn.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params).fetchone()
        plan = plan[0] if isinstance(plan, list) else json.loads(plan)[0]
        times.append(plan["Execution Time"])
        node = plan["Plan"]
        while node.get("Plans") and node["Node Type"] in ("Limit", "Sort", "Aggregate", "Hash Join", "Nested Loop",
                                                          "Gather", "Incremental Sort"):
            top = top or node["Node Type"]
            node = node["Plans"][0]
        top = f"{top + ' > ' if top else ''}{node['Node Type']} {node.get('Relation Name', '')} {node.get('Index Name', '')}".strip()
    return statistics.median(times), top


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="utilis_bench_billing")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/utilis")
    url = urlunsplit(urlsplit(base)._replace(path=f"/{args.database}"))
    with psycopg.connect(url, autocommit=True) as conn:
        run, before = conn.execute("SELECT id, period_end_date FROM billing_billrun ORDER BY id DESC LIMIT 1").fetchone()
        bills = conn.execute("SELECT count(*) FROM billing_bill WHERE run_id = %s", [run]).fetchone()[0]
        chunks = [row[0] for row in conn.execute(
            "SELECT account_ids FROM billing_billrunchunk WHERE run_id = %s ORDER BY number", [run])]
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"{args.database}: run {run}, {bills} bills, {len(chunks)} chunks; load average {load}")
        picks = sorted({0, len(chunks) // 2, len(chunks) - 1})
        rows: dict[str, list[float]] = {}
        plans: dict[str, str] = {}
        for i in picks:
            ids = chunks[i]
            found = list(conn.execute(AGREEMENTS_OWN, {"ids": ids, "before": before}))
            agreements, points = [r[0] for r in found], sorted({r[3] for r in found})
            params = {"ids": ids, "before": before, "run": run, "agreements": agreements, "points": points}
            for label, sql in (("agreements: OR over account and parent (old)", AGREEMENTS_OR),
                               ("agreements: own, joined to account + service point", AGREEMENTS_JOINED),
                               ("agreements: own (new, 1 of 3)", AGREEMENTS_OWN),
                               ("agreements: their accounts by id (new, 2 of 3)", ACCOUNTS),
                               ("agreements: their service points by id (new, 3 of 3)", POINTS),
                               ("agreements: child accounts (new; theirs looked up the same way when any)", AGREEMENTS_CHILDREN),
                               ("issue batch: run + status, ORDER BY id (old, last batch)", ISSUE_OLD),
                               ("issue batch: the chunk's accounts (new)", ISSUE_NEW),
                               ("billed-to of the chunk's agreements", BILLED_TO),
                               ("history of the chunk's accounts", HISTORY),
                               ("the run row (a chunk claim reads it)", RUN_ROW)):
                ms, top = timed(conn, sql, params, args.repeat)
                rows.setdefault(label, []).append(ms)
                plans[label] = top
        print(f"{'statement (median of ' + str(args.repeat) + ', chunks ' + ', '.join(map(str, picks)) + ')':<62}"
              f"{'ms':>8}  plan")
        for label, values in rows.items():
            print(f"  {label:<60}{statistics.median(values):8.2f}  {plans[label]}")


if __name__ == "__main__":
    sys.exit(main())
