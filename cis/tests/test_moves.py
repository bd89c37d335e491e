import datetime as dt

import pytest
from django.db import IntegrityError

from cis import services
from cis.models import Account, Move, ServiceAgreement
from cis.tests.factories import AccountFactory, ServiceAgreementFactory, ServicePointFactory
from service_orders.models import ServiceOrder

pytestmark = pytest.mark.django_db


def test_database_refuses_overlapping_agreements_on_one_service_point():
    first = ServiceAgreementFactory(start_date=dt.date(2025, 1, 1), end_date=dt.date(2025, 6, 1))
    with pytest.raises(IntegrityError, match="agreement_no_overlap_per_service_point"):
        ServiceAgreementFactory(service_point=first.service_point, start_date=dt.date(2025, 5, 31))


def test_back_to_back_agreements_are_allowed_because_end_is_exclusive():
    first = ServiceAgreementFactory(start_date=dt.date(2025, 1, 1), end_date=dt.date(2025, 6, 1))
    second = ServiceAgreementFactory(service_point=first.service_point, start_date=dt.date(2025, 6, 1))
    assert second.pk


def test_open_ended_agreement_blocks_any_later_one():
    first = ServiceAgreementFactory(start_date=dt.date(2025, 1, 1))
    with pytest.raises(IntegrityError):
        ServiceAgreementFactory(service_point=first.service_point, start_date=dt.date(2030, 1, 1))


def test_agreement_create_service_names_the_overlap():
    first = ServiceAgreementFactory(start_date=dt.date(2025, 1, 1))
    with pytest.raises(services.AgreementOverlapError, match=first.service_point.sp_number):
        services.agreement_create(
            account=AccountFactory(), service_point=first.service_point, rate_code="R", start_date=dt.date(2025, 3, 1)
        )


def test_move_out_today_stops_agreement_orders_final_read_and_closes_account(today):
    agreement = ServiceAgreementFactory(start_date=dt.date(2025, 1, 1))
    result = services.move_out_request(
        account=agreement.account, service_point=agreement.service_point, move_out_date=today, today=today
    )
    agreement.refresh_from_db()
    assert result.applied
    assert agreement.end_date == today
    order = ServiceOrder.objects.get(source=f"cis.move:{result.move.pk}")
    assert order.order_type == "final_read" and order.due_date == today
    account = Account.objects.get(pk=agreement.account_id)
    assert account.status == Account.Status.CLOSED and account.closed_date == today
    assert "last day served 2026-03-14" in result.move.outcome


def test_move_in_onto_occupied_service_point_clears_the_old_agreement_the_day_before(today):
    old = ServiceAgreementFactory(start_date=dt.date(2025, 1, 1))
    newcomer = AccountFactory(opened_date=today)
    result = services.move_in_request(
        account=newcomer, service_point=old.service_point, move_in_date=today, rate_code="RES", today=today
    )
    old.refresh_from_db()
    assert old.end_date == today  # exclusive end: last day served is the day before
    assert result.stopped_agreements == [old]
    assert result.agreement.start_date == today and result.agreement.account == newcomer
    assert "Move clearing house" in result.move.outcome
    types = sorted(ServiceOrder.objects.values_list("order_type", flat=True))
    assert types == ["final_read", "initial_read"]


def test_future_move_in_waits_pending_and_applies_on_its_date(today):
    sp = ServicePointFactory()
    account = AccountFactory()
    later = today + dt.timedelta(days=10)
    result = services.move_in_request(account=account, service_point=sp, move_in_date=later, rate_code="RES", today=today)
    assert not result.applied and result.move.status == Move.Status.PENDING
    assert not ServiceAgreement.objects.filter(service_point=sp).exists()
    assert services.moves_apply_due(today=later - dt.timedelta(days=1)) == 0
    assert services.moves_apply_due(today=later) == 1
    assert services.moves_apply_due(today=later) == 0  # idempotent
    agreement = ServiceAgreement.objects.get(service_point=sp)
    assert agreement.start_date == later
    assert ServiceOrder.objects.filter(order_type="initial_read").count() == 1


def test_move_out_without_service_is_refused_with_a_reason(today):
    sp = ServicePointFactory()
    with pytest.raises(services.MoveError, match="has no agreement"):
        services.move_out_request(account=AccountFactory(), service_point=sp, move_out_date=today, today=today)


def test_cancelling_a_pending_move_cancels_its_read_order(today):
    sp = ServicePointFactory()
    result = services.move_in_request(
        account=AccountFactory(), service_point=sp, move_in_date=today + dt.timedelta(days=3), rate_code="RES", today=today
    )
    services.move_cancel(move=result.move)
    assert ServiceOrder.objects.get().status == "cancelled"


def test_system_can_log_a_contact_and_open_a_complaint_without_a_user():
    account = AccountFactory()
    contact = services.contact_log(account=account, subject="Outage call (IVR)", channel="phone")
    complaint = services.complaint_open(account=account, category="service", description="Lights flicker")
    assert contact.created_by is None and complaint.created_by is None


def test_same_day_move_out_and_move_in_both_apply(today):
    old = ServiceAgreementFactory(start_date=dt.date(2025, 1, 1))
    later = today + dt.timedelta(days=5)
    out = services.move_out_request(account=old.account, service_point=old.service_point, move_out_date=later, today=today)
    newcomer = AccountFactory()
    into = services.move_in_request(account=newcomer, service_point=old.service_point, move_in_date=later,
                                    rate_code="RES", today=today)
    assert services.moves_apply_due(today=later) == 2
    out.move.refresh_from_db()
    into.move.refresh_from_db()
    assert (out.move.status, into.move.status) == ("completed", "completed")
    old.refresh_from_db()
    assert old.end_date == later
