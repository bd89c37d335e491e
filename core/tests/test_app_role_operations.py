"""The application's normal work, done as the app role (utilis_app in production): connected as
the role that owns nothing and has only the grants core.db_roles gives it, one representative
operation of each family runs to the end and writes what it should: a read-file import (with a
quarantined line), a VEE run (an estimate, its findings and worklist counts, a superseded
interval version), a bill run drafted, approved and issued (bills, ledger charges), ledger
postings and a reversal, an adjustment request approved by a second person, a move out and a
move in, the sweeper's log, and the audit events of each. A missing GRANT fails here with
"permission denied" instead of in production.

The roles and the app-role connection are test_db_roles' fixtures (one rolled-back transaction
per test)."""
from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

import numpy as np

from billing.models import AdjustmentRequest, Bill, BillRun, LedgerEntry
from billing.services import adjustment_approve, adjustment_submit, ledger, runs as bill_runs
from billing.tests.test_runs_helpers import metered_agreement, setup_billing
from cis import services as cis_services
from cis.models import Move, ServiceAgreement
from cis.tests.factories import AccountFactory, ServicePointFactory
from cis.tests.test_conversion import _base as conversion_records
from core.actors import Actor
from core.runs.models import RunSweep
from core.runs.registry import runs_sweep
from core.tests.test_db_roles import APP, as_app, db, refused, roles, sql  # noqa: F401  (pytest fixtures)
from mdm import importing
from mdm.importing import pipeline
from mdm.models import (
    ImportRun,
    IntervalDay,
    IntervalDayVersion,
    QuarantinedRecord,
    VeeFinding,
    VeeRuleSet,
    VeeRuleSetAssignment,
    VeeWorklistItem,
)
from mdm.services import StagedDay, interval_days_merge, vee_runs
from mdm.tests.factories import ChannelFactory, MeterFactory

NOW = dt.datetime(2026, 6, 20, 12, 0, tzinfo=dt.timezone.utc)
DAY = dt.date(2026, 6, 10)


def connected_as_app() -> None:
    assert sql("SELECT session_user, current_user") == [(APP, APP)]


def events_of(table: str, obj_id: Any) -> list[tuple[str, Any, str | None]]:
    """(label, user id, action) of an object's audit events, oldest first."""
    return [(label, user, action) for label, user, action in sql(
        f"SELECT e.pgh_label, (c.metadata->>'user')::int, c.metadata->>'action' FROM {table} e "
        "LEFT JOIN pghistory_context c ON c.id = e.pgh_context_id WHERE e.pgh_obj_id = %s ORDER BY e.pgh_id",
        [obj_id])]


def test_a_read_file_import_loads_and_quarantines_as_the_app_role(as_app: None, monkeypatch) -> None:
    connected_as_app()
    serials = ["AR-1", "AR-2"]
    channels = [ChannelFactory(meter=MeterFactory(serial_number=s), interval_minutes=60) for s in serials]
    good = "".join(f"{s},kWh,delivered,60,2026-06-10T{h + 5:02d}:00:00Z,{n + 1}.5\n"
                   for n, s in enumerate(serials) for h in range(3))
    content = ("meter_serial,unit,direction,interval_minutes,interval_end,value\n" + good
               + "AR-1,kWh,delivered,60,2026-06-10T09:00:00Z,not-a-number\n").encode()
    monkeypatch.setattr(pipeline, "CHUNK_RECORDS", 1)
    run = importing.import_run_create(content=content, file_name="role.csv", format="csv", now=NOW)
    for number in pipeline.import_run_prepare(import_run_id=run.pk, now=NOW):
        assert importing.import_chunk_load(import_run_id=run.pk, chunk=number, now=NOW)
    run = ImportRun.objects.get(pk=run.pk)
    assert (run.status, run.intervals_loaded, run.quarantined) == ("done", 6, 1)
    assert QuarantinedRecord.objects.filter(import_run=run).count() == 1
    assert sorted(IntervalDay.objects.filter(channel__in=channels).values_list("channel_id", "version")) == sorted(
        (c.pk, 1) for c in channels)


def test_a_vee_run_validates_estimates_and_files_worklist_items_as_the_app_role(as_app: None) -> None:
    connected_as_app()
    VeeRuleSetAssignment.objects.all().delete()
    rule_set = VeeRuleSet.objects.create(name="role test", rules={
        "validations": [{"kind": "gaps"}], "estimations": [{"kind": "linear", "max_gap_minutes": 180}]})
    VeeRuleSetAssignment.objects.create(rule_set=rule_set, scope="default", start_date=dt.date(2020, 1, 1))
    channel = ChannelFactory(interval_minutes=60)
    values = np.full(24, 2.0)
    values[12] = math.nan
    interval_days_merge(days=[StagedDay(channel.pk, DAY, 60, values, np.where(np.isnan(values), 1, 0).astype(np.int16))],
                        now=NOW)
    run = vee_runs.vee_run_create(channel_ids=[channel.pk], start_date=DAY, end_date=DAY + dt.timedelta(days=1),
                                  scope="role test", now=NOW, chunk_size=1)
    for number in vee_runs.vee_run_begin(vee_run_id=run.pk, now=NOW):
        assert vee_runs.vee_run_chunk_process(vee_run_id=run.pk, chunk=number, now=NOW)
    run.refresh_from_db()
    assert (run.status, run.intervals_estimated) == ("done", 1)
    assert run.findings_count == VeeFinding.objects.filter(vee_run=run).count()
    assert run.worklist_items == VeeWorklistItem.objects.filter(channel=channel).count()
    assert IntervalDay.objects.get(channel=channel, local_date=DAY).version == 2
    assert IntervalDayVersion.objects.filter(channel_id=channel.pk, local_date=DAY).count() == 1


def test_a_bill_run_is_drafted_approved_and_issued_as_the_app_role(as_app: None, make_user) -> None:
    connected_as_app()
    clerk = make_user("role-billing", "billing")
    cycle = setup_billing()
    agreements = [metered_agreement(rate_code="T-TIER")[0] for _ in range(2)]
    now = dt.datetime(2026, 3, 1, 12, tzinfo=dt.timezone.utc)
    run = bill_runs.bill_run_start(cycle=cycle, bill_date=dt.date(2026, 3, 1), now=now, chunk_size=1, enqueue=False)
    for number in bill_runs.bill_run_pending_chunks(bill_run_id=run.pk):
        assert bill_runs.bill_run_chunk_process(bill_run_id=run.pk, chunk_number=number, now=now) == "done"
    bill_runs.bill_run_approve(bill_run_id=run.pk, actor=Actor.of(clerk), now=now)
    bill_runs.bill_run_issue(bill_run_id=run.pk, now=now, actor=Actor.of(clerk))
    assert BillRun.objects.get(pk=run.pk).status == "issued"
    bills = Bill.objects.filter(segments__agreement__in=agreements, segments__live=True).distinct()
    assert sorted(b.status for b in bills) == ["issued", "issued"]
    assert all(b.issued_by_id == clerk.pk for b in bills)
    assert LedgerEntry.objects.filter(kind="bill", bill__in=bills).count() == 2
    bill = bills.first()
    assert ("update", clerk.pk) in [(label, user) for label, user, _ in events_of("billing_billevent", bill.pk)]


def test_ledger_postings_a_reversal_and_an_approved_adjustment_request_as_the_app_role(
    as_app: None, csr, billing_user,
) -> None:
    connected_as_app()
    account = AccountFactory()
    payment = ledger.ledger_post_payment(account_id=account.pk, amount="40.00", received_date=DAY, reference="R-9")
    ledger.ledger_post_adjustment(account_id=account.pk, amount="15.00", effective_date=DAY, reason="late fee")
    ledger.ledger_reverse(entry=payment, reason="cheque bounced", effective_date=DAY)
    outcome = adjustment_submit(account_id=account.pk, amount="-600.00", effective_date=DAY, reason="storm credit",
                                actor=Actor.of(csr), now=NOW)
    assert outcome.request is not None
    approved = adjustment_approve(request_id=outcome.request.pk, actor=Actor.of(billing_user), now=NOW)
    assert approved.status == AdjustmentRequest.Status.APPROVED and approved.ledger_entry is not None
    assert ledger.account_balance(account_id=account.pk) == Decimal("-585.00")
    assert [(label, user) for label, user, _ in events_of("billing_adjustmentrequestevent", approved.pk)] == [
        ("insert", csr.pk), ("update", billing_user.pk)]
    # Requests are updated (decided) but never deleted: the grant holds that too.
    assert "permission denied for table billing_adjustmentrequest" in refused(
        "DELETE FROM billing_adjustmentrequest WHERE id = %s", [approved.pk])


def test_a_move_out_and_a_move_in_as_the_app_role(as_app: None, csr) -> None:
    connected_as_app()
    today = dt.date(2026, 3, 10)
    setup_billing()
    old_agreement, _ = metered_agreement(rate_code="T-TIER", start=dt.date(2025, 6, 1))
    service_point = old_agreement.service_point
    out = cis_services.move_out_request(account=old_agreement.account, service_point=service_point,
                                        move_out_date=today, today=today, user=csr)
    newcomer = AccountFactory(bill_cycle_code="C01")
    into = cis_services.move_in_request(account=newcomer, service_point=service_point, move_in_date=today,
                                        rate_code="T-TIER", today=today, user=csr)
    assert out.applied and into.applied
    assert ServiceAgreement.objects.get(pk=old_agreement.pk).end_date == today
    assert into.agreement is not None and into.agreement.account_id == newcomer.pk
    assert sorted(Move.objects.filter(service_point=service_point).values_list("status", flat=True)) == [
        "completed", "completed"]
    assert ("insert", csr.pk) in [(label, user) for label, user, _ in
                                  events_of("cis_serviceagreementevent", into.agreement.pk)]


def test_a_conversion_load_copies_reserves_ids_and_moves_sequences_as_the_app_role(as_app: None) -> None:
    # COPY into every cis table, LOCK TABLE + setval to reserve ids, number sequences moved on.
    connected_as_app()
    result = cis_services.conversion_load(name="role-conversion", **conversion_records())
    assert (result.counts["customers"], result.counts["accounts"], result.counts["agreements"]) == (2, 2, 3)
    assert sorted(ServiceAgreement.objects.filter(agreement_number__startswith="SA9").values_list(
        "agreement_number", flat=True)) == ["SA90000001", "SA90000002", "SA90000003"]


def test_the_sweeper_logs_and_resumes_as_the_app_role(as_app: None) -> None:
    connected_as_app()
    assert runs_sweep(now=NOW, stale_minutes=15) == {}
    RunSweep.objects.create(kind="mdm.import", run_id=1, action="resumed", progress_done=0, swept_at=NOW)
    assert RunSweep.objects.count() == 1


def test_a_new_service_point_is_audited_with_its_actor(as_app: None, csr) -> None:
    connected_as_app()
    with Actor.of(csr, reason="new subdivision").audit("cis.service_point.create"):
        point = ServicePointFactory()
    assert events_of("cis_servicepointevent", point.pk) == [("insert", csr.pk, "cis.service_point.create")]
