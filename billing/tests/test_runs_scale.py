"""Correctness of the parts of a bill run rewritten so their cost per bill does not grow with the
run (timings live in bench/billing.py, not here): the agreement lookup in two indexed queries,
issue by chunk and keyset, the ANALYZE schedule, and two workers claiming chunks of one run at
the same time."""
from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connections

from billing.models import Bill, BillRun, BillRunChunk, LedgerEntry
from billing.services import runs
from billing.services.runs import lifecycle
from billing.tests.test_runs_helpers import MAR, NOW, metered_agreement, setup_billing
from cis.selectors import agreements_for_bill_accounts
from cis.tests.factories import AccountFactory
from core import runs as run_engine
from core.runs import engine as run_engine_module


def _drafted_run(cycle, *, chunk_size: int) -> BillRun:
    run = runs.bill_run_start(cycle=cycle, bill_date=MAR, now=NOW, chunk_size=chunk_size, enqueue=False)
    for number in runs.bill_run_pending_chunks(bill_run_id=run.pk):
        assert runs.bill_run_chunk_process(bill_run_id=run.pk, chunk_number=number, now=NOW) == "done"
    run.refresh_from_db()
    return run


@pytest.mark.django_db
def test_the_agreement_lookup_finds_own_and_childrens_agreements_once_each_in_id_order():
    parent = AccountFactory(bill_cycle_code="C01")
    child_a, _ = metered_agreement(rate_code="T-TIER", account=AccountFactory(parent=parent, bill_cycle_code="C01"))
    child_b, _ = metered_agreement(rate_code="T-TOU", account=AccountFactory(parent=parent, bill_cycle_code="C01"))
    alone, _ = metered_agreement(rate_code="T-TIER")
    own_of_parent, _ = metered_agreement(rate_code="T-TIER", account=parent)
    metered_agreement(rate_code="T-TIER", account=parent, start=MAR)  # starts on the period end: not billed
    metered_agreement(rate_code="T-TIER")  # another bill account, not asked for

    rows = agreements_for_bill_accounts(bill_account_ids=[parent.pk, alone.account_id, parent.pk], before=MAR)

    assert [r.id for r in rows] == sorted([child_a.pk, child_b.pk, alone.pk, own_of_parent.pk])
    by_id = {r.id: r for r in rows}
    assert {by_id[a.pk].bill_account_id for a in (child_a, child_b, own_of_parent)} == {parent.pk}
    assert by_id[alone.pk].bill_account_id == alone.account_id
    assert agreements_for_bill_accounts(bill_account_ids=[], before=MAR) == []


@pytest.mark.django_db
def test_issue_by_chunks_in_small_batches_issues_every_bill_exactly_once(monkeypatch):
    cycle = setup_billing()
    parent = AccountFactory(bill_cycle_code="C01")
    for _ in range(2):
        metered_agreement(rate_code="T-TIER", account=AccountFactory(parent=parent, bill_cycle_code="C01"))
    for _ in range(6):
        metered_agreement(rate_code="T-TIER", kwh_per_hour=2)
    run = _drafted_run(cycle, chunk_size=3)
    assert run.bills_created == 7 and run.chunks_total == 3
    runs.bill_run_approve(bill_run_id=run.pk)
    monkeypatch.setattr(lifecycle, "ISSUE_BATCH", 2)  # batches smaller than a chunk, and a chunk issued twice

    assert runs.bill_run_issue_chunk(bill_run_id=run.pk, chunk_number=1, now=NOW) == 3
    assert runs.bill_run_issue_chunk(bill_run_id=run.pk, chunk_number=1, now=NOW) == 0
    run = runs.bill_run_issue(bill_run_id=run.pk, now=NOW)
    run = runs.bill_run_issue(bill_run_id=run.pk, now=NOW)  # again: nothing more

    bills = list(Bill.objects.filter(run=run))
    assert run.status == "issued" and {b.status for b in bills} == {"issued"}
    assert len({b.bill_number for b in bills}) == 7
    assert Counter(LedgerEntry.objects.filter(kind="bill").values_list("bill_id", flat=True)) == {b.pk: 1 for b in bills}


@pytest.mark.django_db
def test_the_keyset_sweep_alone_issues_every_approved_bill_once(monkeypatch):
    cycle = setup_billing()
    for _ in range(5):
        metered_agreement(rate_code="T-TIER")
    run = _drafted_run(cycle, chunk_size=2)
    runs.bill_run_approve(bill_run_id=run.pk)
    # A bill of the run whose account is in no chunk (what the sweep is there for) and a held
    # one, which issue leaves alone.
    first, held = Bill.objects.filter(run=run).order_by("id")[:2]
    BillRunChunk.objects.filter(run=run, number=0).update(account_ids=[])
    Bill.objects.filter(pk=held.pk).update(status="held")
    monkeypatch.setattr(lifecycle, "ISSUE_BATCH", 2)

    run = runs.bill_run_issue(bill_run_id=run.pk, now=NOW, chunks=False)

    statuses = dict(Bill.objects.filter(run=run).values_list("id", "status"))
    assert statuses.pop(held.pk) == "held" and set(statuses.values()) == {"issued"} and first.pk in statuses
    assert sorted(LedgerEntry.objects.filter(kind="bill").values_list("bill_id", flat=True)) == sorted(statuses)


def test_analyze_runs_when_the_run_passes_1_2_4_8_chunks(monkeypatch):
    ran = []

    class Cursor:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def execute(self, sql):
            ran.append(sql)

    monkeypatch.setattr(run_engine_module.connection, "cursor", lambda: Cursor())
    chunk = 100
    fired = [done for done in range(chunk, 20 * chunk + 1, chunk)
             if lifecycle._analyze_if_grown(before=done - chunk, after=done, chunk_size=chunk)]
    assert fired == [100, 200, 400, 800, 1600]
    # A last, smaller chunk that crosses a mark fires too; one that does not, does not.
    assert lifecycle._analyze_if_grown(before=350, after=420, chunk_size=chunk)
    assert not lifecycle._analyze_if_grown(before=420, after=470, chunk_size=chunk)
    assert len(ran) == 6 and ran[0].startswith("ANALYZE (SKIP_LOCKED) ") and "billing_billsegment" in ran[0]


@pytest.mark.django_db(transaction=True)
def test_a_chunk_held_by_one_worker_does_not_hide_the_runs_other_chunks_from_another():
    """Two workers on one run: while one holds chunk 0 (inside its claim), another claims
    chunk 1. The claim once locked the run row too (a join through the chunk's ordering), so
    the second worker's SKIP LOCKED skipped chunk 1 and left it pending."""
    cycle = setup_billing()
    for _ in range(2):
        metered_agreement(rate_code="T-TIER")
    run = runs.bill_run_start(cycle=cycle, bill_date=MAR, now=NOW, chunk_size=1, enqueue=False)
    holding, release, seen = threading.Event(), threading.Event(), {}

    def first_worker():
        try:
            with run_engine.chunk_claim(BillRunChunk, run_id=run.pk, number=0, now=NOW) as claim:
                seen["first"] = claim is not None
                holding.set()
                release.wait(10)
        finally:
            holding.set()
            connections.close_all()

    worker = threading.Thread(target=first_worker)
    worker.start()
    try:
        assert holding.wait(10)
        with run_engine.chunk_claim(BillRunChunk, run_id=run.pk, number=1, now=NOW) as claim:
            seen["second"] = claim is not None
    finally:
        release.set()
        worker.join(10)
    assert seen == {"first": True, "second": True}
    assert set(BillRunChunk.objects.filter(run=run).values_list("status", flat=True)) == {"done"}
    assert BillRun.objects.get(pk=run.pk).status == "completed"


@pytest.mark.django_db
def test_approve_and_issue_chunks_mark_each_chunk_once_and_the_last_one_closes_the_run():
    cycle = setup_billing()
    for _ in range(5):
        metered_agreement(rate_code="T-TIER")
    run = _drafted_run(cycle, chunk_size=2)  # chunks of 2, 2, 1
    assert runs.bill_run_approve_begin(bill_run_id=run.pk, now=NOW) == [0, 1, 2]
    assert runs.bill_run_approve_chunk(bill_run_id=run.pk, chunk_number=1, now=NOW) == "done"
    assert runs.bill_run_approve_chunk(bill_run_id=run.pk, chunk_number=1, now=NOW) == "skipped"
    run.refresh_from_db()
    assert run.status == "approving"
    assert runs.bill_run_approve_begin(bill_run_id=run.pk, now=NOW) == [0, 2]  # asked again: what is left
    for number in (0, 2):
        runs.bill_run_approve_chunk(bill_run_id=run.pk, chunk_number=number, now=NOW)
    run.refresh_from_db()
    assert run.status == "approved" and not Bill.objects.filter(run=run, status="draft").exists()

    # A bill of the run whose account is in no chunk: the last issue chunk sweeps it up.
    outside = Bill.objects.filter(run=run).order_by("id").first()
    BillRunChunk.objects.filter(run=run, number=0).update(account_ids=[a for a in BillRunChunk.objects.get(
        run=run, number=0).account_ids if a != outside.account_id])
    assert runs.bill_run_issue_begin(bill_run_id=run.pk, now=NOW) == [0, 1, 2]
    issued = [runs.bill_run_issue_chunk(bill_run_id=run.pk, chunk_number=n, now=NOW) for n in (2, 0, 1, 1)]
    run.refresh_from_db()
    assert issued == [1, 1, 3, 0] and run.status == "issued"
    assert set(Bill.objects.filter(run=run).values_list("status", flat=True)) == {"issued"}
    assert Counter(LedgerEntry.objects.filter(kind="bill").values_list("bill_id", flat=True)) == {
        b: 1 for b in Bill.objects.filter(run=run).values_list("id", flat=True)}
    assert not BillRunChunk.objects.filter(run=run, issued_at__isnull=True).exists()
    assert runs.bill_run_issue_begin(bill_run_id=run.pk, now=NOW) == []  # issued: nothing to queue
