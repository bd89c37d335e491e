"""Python CPU of drafting chunks of a kept bill-run benchmark database, without changing it.

    .venv/bin/python bench/billing_chunk_cpu.py --database utilis_bench_billing --chunks 5,12,20

For each chunk of the database's latest run: its bills' live segments are set aside and
`bills_draft` drafts the chunk's accounts again, inside a transaction that is rolled back;
prints `time.process_time()` (this process's CPU: Python and the client library, not
PostgreSQL), wall time per bill and the drafting phases; `--profile N` adds a CPU-clock profile. Run it from another tree (e.g. `git archive <commit> | tar
-x -C /tmp/old`, then `cd /tmp/old && python /path/to/bench/billing_chunk_cpu.py ...`) to
compare two versions of the code on the same rows at the same load: the code imported is the
current directory's."""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from urllib.parse import urlsplit, urlunsplit


class _Rollback(Exception):
    pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="utilis_bench_billing")
    parser.add_argument("--chunks", default="1,2,3", help="Chunk numbers, comma-separated.")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="Also profile each chunk (cProfile on a CPU-time clock) and print its N costliest "
                             "functions by own time.")
    parser.add_argument("--read-transport", action="store_true",
                        help="Also time the chunk's channel-day read (mdm.interval_store.read_channel_days's COPY) "
                             "as psycopg's Copy iterator does it and drained by libpq directly, same bytes.")
    args = parser.parse_args()
    sys.path.insert(0, os.getcwd())
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/utilis")
    os.environ["DATABASE_URL"] = urlunsplit(urlsplit(base)._replace(path=f"/{args.database}"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import transaction

    from billing.models import BillRun, BillRunChunk, BillSegment
    from billing.services.runs.drafting import Timings, bills_draft
    from billing.services.runs.planning import plan_bills
    from cis.selectors import agreements_for_bill_accounts

    run = BillRun.objects.order_by("-pk").first()
    for number in (int(n) for n in args.chunks.split(",")):
        chunk = BillRunChunk.objects.only("account_ids").get(run=run, number=number)
        timings = Timings()
        try:
            with transaction.atomic():
                BillSegment.objects.filter(bill__run=run, bill__account_id__in=chunk.account_ids).update(live=False)
                agreements = agreements_for_bill_accounts(bill_account_ids=chunk.account_ids,
                                                          before=run.period_end_date)
                plans = plan_bills(agreements, billed_to={}, period_end=run.period_end_date)
                profiler = cProfile.Profile(time.process_time) if args.profile else None
                cpu, wall = time.process_time(), time.perf_counter()
                if profiler:
                    profiler.enable()
                bills = bills_draft(plans=plans, bill_date=run.bill_date, due_date=run.due_date, kind="regular",
                                    as_of=run.bill_date, run=run, timings=timings)
                if profiler:
                    profiler.disable()
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                raise _Rollback
        except _Rollback:
            pass
        with open("/proc/loadavg") as f:
            load = " ".join(f.read().split()[:3])
        print(f"chunk {number}: {len(bills)} bills, Python CPU {1000 * cpu / len(bills):.3f} ms a bill, "
              f"wall {1000 * wall / len(bills):.2f} ms a bill (load {load})"
              + ("; phases (wall, ms a bill): " + ", ".join(f"{k} {1000 * v / len(bills):.3f}"
                                                          for k, v in timings.seconds.items())))
        if args.read_transport:
            _read_transport(run, chunk.account_ids)
        if profiler:
            stats = pstats.Stats(profiler)
            stats.sort_stats("tottime").print_stats(args.profile)
            stats.sort_stats("cumulative").print_stats(args.profile)


def _read_transport(run, account_ids) -> None:
    """CPU of the chunk's one COPY of channel-days: `b"".join(copy)` (psycopg's iterator: a
    Python generator step and a wait per row, what the reader does today) against a loop of
    libpq's blocking `get_copy_data` (one C call per row) with the final result read after it.
    The same statement and bytes; the decode (numpy) is not included."""
    from django.db import connection, transaction

    from cis.selectors import agreements_for_bill_accounts
    from mdm import interval_store
    from mdm.models import Channel, Installation

    sps = [a.service_point_id for a in agreements_for_bill_accounts(bill_account_ids=account_ids,
                                                                    before=run.period_end_date)]
    meters = Installation.objects.filter(service_point_id__in=sps).values_list("meter_id", flat=True)
    ids = sorted(Channel.objects.filter(meter_id__in=list(meters)).values_list("id", flat=True))
    start = min(a.start_date for a in agreements_for_bill_accounts(bill_account_ids=account_ids,
                                                                   before=run.period_end_date))
    params = [ids, start, run.period_end_date]

    def iterator() -> bytes:
        with connection.cursor() as cursor:
            with cursor.cursor.copy(interval_store._COPY_OUT, params) as copy:
                return b"".join(copy)

    def libpq() -> bytes:
        import psycopg
        from psycopg import pq

        with connection.cursor() as cursor:
            raw = cursor.cursor
            with raw.copy(interval_store._COPY_OUT, params):
                pgconn = raw.connection.pgconn
                parts = []
                while True:
                    nbytes, data = pgconn.get_copy_data(0)
                    if nbytes <= 0:
                        break
                    parts.append(data)
                while (result := pgconn.get_result()) is not None:
                    if result.status != pq.ExecStatus.COMMAND_OK:
                        raise psycopg.DatabaseError(pgconn.error_message.decode(errors="replace"))
                return b"".join(parts)

    with transaction.atomic():
        sizes = set()
        for read in (iterator, libpq, iterator, libpq):
            cpu = time.process_time()
            sizes.add(len(read()))
            print(f"  read {len(ids)} channels' days, {read.__name__}: Python CPU "
                  f"{1000 * (time.process_time() - cpu):.1f} ms")
        assert len(sizes) == 1, "the two reads differ"


if __name__ == "__main__":
    main()
