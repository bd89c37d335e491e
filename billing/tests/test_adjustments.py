"""Maker-checker for credit adjustments: a credit above UTILIS_ADJUSTMENT_APPROVAL_LIMIT waits
for a second person (billing or administrator, never the maker); approving posts it through the
ledger, rejecting posts nothing; the database refuses a checker who is the maker, a second
decision, a change of what was asked and a delete."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pghistory.models
import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError, ProgrammingError, connection, transaction
from django.utils import timezone

from billing.models import AdjustmentRequest, LedgerEntry
from billing.services import AdjustmentError, adjustment_approve, adjustment_reject, adjustment_submit, ledger
from cis.tests.factories import AccountFactory
from conftest import PASSWORD
from core.actors import Actor

pytestmark = pytest.mark.django_db
D = Decimal
DAY = dt.date(2026, 3, 2)
NOW = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def account():
    return AccountFactory()


def ask(account, csr, amount, reason="billing error last cycle"):
    return adjustment_submit(account_id=account.pk, amount=amount, effective_date=DAY, reason=reason,
                             actor=Actor.of(csr), now=NOW)


def test_a_credit_at_the_limit_and_any_charge_post_at_once(account, csr):
    at_limit = ask(account, csr, "-250.00")
    charge = ask(account, csr, "900.00")
    assert at_limit.posted and charge.posted and at_limit.request is None
    assert ledger.account_balance(account_id=account.pk) == D("650.00")
    assert AdjustmentRequest.objects.count() == 0
    assert at_limit.entry is not None and at_limit.entry.created_by == csr


def test_a_credit_above_the_limit_waits_and_posts_nothing(account, csr):
    outcome = ask(account, csr, "-250.01")
    assert not outcome.posted and outcome.entry is None
    request = outcome.request
    assert request is not None and request.status == AdjustmentRequest.Status.PENDING
    assert (request.amount, request.requested_by, request.account_id, request.effective_date) == (
        D("-250.01"), csr, account.pk, DAY)
    assert LedgerEntry.objects.filter(account_id=account.pk).count() == 0


def test_the_limit_is_a_setting(account, csr, settings):
    settings.UTILIS_ADJUSTMENT_APPROVAL_LIMIT = D("50.00")
    assert not ask(account, csr, "-60.00").posted
    assert ask(account, csr, "-50.00").posted


def test_bad_input_is_refused_before_anything_is_written(account, csr):
    with pytest.raises(ValidationError, match="reason"):
        ask(account, csr, "-900.00", reason="  ")
    with pytest.raises(ValidationError):
        ask(account, csr, "-900.001")
    with pytest.raises(ValidationError):
        ask(account, csr, "0")
    assert AdjustmentRequest.objects.count() == 0


def test_a_billing_user_approves_and_the_ledger_names_both_people(account, csr, billing_user):
    request = ask(account, csr, "-400.00").request
    done = adjustment_approve(request_id=request.pk, actor=Actor.of(billing_user), now=NOW)
    assert done.status == AdjustmentRequest.Status.APPROVED and done.decided_by == billing_user
    entry = done.ledger_entry
    assert (entry.amount, entry.kind, entry.effective_date, entry.created_by) == (
        D("-400.00"), LedgerEntry.Kind.ADJUSTMENT, DAY, billing_user)
    assert entry.idempotency_key == f"adjustment-request:{request.pk}"
    assert "asked by csr1" in entry.reason and "approved by billing1" in entry.reason
    assert ledger.account_balance(account_id=account.pk) == D("-400.00")
    # The audit trail: the request's insert by the maker, its approval by the checker.
    events = pghistory.models.Events.objects.tracks(done).order_by("pgh_created_at", "pgh_id")
    who = [(e.pgh_label, e.pgh_context["user"], e.pgh_context["action"]) for e in events]
    assert who == [("insert", csr.pk, "billing.adjustment.request"),
                   ("update", billing_user.pk, "billing.adjustment.approve")]


def test_an_administrator_may_approve(account, csr, admin_user_role):
    request = ask(account, csr, "-400.00").request
    assert adjustment_approve(request_id=request.pk, actor=Actor.of(admin_user_role), now=NOW).status == "approved"


def test_the_maker_can_never_be_the_checker(account, billing_user):
    request = ask(account, billing_user, "-400.00").request
    with pytest.raises(AdjustmentError, match="another person"):
        adjustment_approve(request_id=request.pk, actor=Actor.of(billing_user), now=NOW)
    with pytest.raises(AdjustmentError, match="another person"):
        adjustment_reject(request_id=request.pk, reason="no", actor=Actor.of(billing_user), now=NOW)
    # And at the database, whatever the Python says.
    with pytest.raises(IntegrityError, match="adjreq_checker_is_not_maker"), transaction.atomic():
        AdjustmentRequest.objects.filter(pk=request.pk).update(
            status="rejected", decided_by=billing_user, decided_at=NOW, decision_reason="self")
    assert AdjustmentRequest.objects.get(pk=request.pk).status == "pending"


def test_a_csr_may_not_decide(account, csr, make_user):
    other_csr = make_user("csr2", "csr")
    request = ask(account, csr, "-400.00").request
    with pytest.raises(AdjustmentError, match="billing staff or an administrator"):
        adjustment_approve(request_id=request.pk, actor=Actor.of(other_csr), now=NOW)
    with pytest.raises(AdjustmentError, match="by a person"):
        adjustment_approve(request_id=request.pk, actor=Actor.system(), now=NOW)
    assert LedgerEntry.objects.count() == 0


def test_a_request_is_decided_once(account, csr, billing_user, make_user):
    second = make_user("billing2", "billing")
    request = ask(account, csr, "-400.00").request
    adjustment_reject(request_id=request.pk, reason="the credit was already given by cheque",
                      actor=Actor.of(billing_user), now=NOW)
    with pytest.raises(AdjustmentError, match="already rejected by billing1"):
        adjustment_approve(request_id=request.pk, actor=Actor.of(second), now=NOW)
    assert LedgerEntry.objects.count() == 0
    # The database refuses any change to a decided request, and any delete.
    with pytest.raises(ProgrammingError, match="Cannot update"), transaction.atomic():
        AdjustmentRequest.objects.filter(pk=request.pk).update(status="pending", decided_by=None, decided_at=None)
    with pytest.raises(ProgrammingError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM billing_adjustmentrequest WHERE id = %s", [request.pk])
    request.refresh_from_db()
    assert (request.status, request.decided_by, request.decision_reason) == (
        "rejected", billing_user, "the credit was already given by cheque")


def test_what_was_asked_cannot_be_changed_while_pending(account, csr):
    request = ask(account, csr, "-400.00").request
    with pytest.raises(ProgrammingError, match="Cannot update"), transaction.atomic():
        AdjustmentRequest.objects.filter(pk=request.pk).update(amount=D("-4000.00"))
    with pytest.raises(IntegrityError, match="adjreq_status_fields"), transaction.atomic():
        AdjustmentRequest.objects.filter(pk=request.pk).update(status="approved")  # approved needs an entry


def test_a_rejection_needs_a_reason(account, csr, billing_user):
    request = ask(account, csr, "-400.00").request
    with pytest.raises(ValidationError, match="rejected"):
        adjustment_reject(request_id=request.pk, reason="", actor=Actor.of(billing_user), now=NOW)
    assert AdjustmentRequest.objects.get(pk=request.pk).status == "pending"


# ---- through the hub ----------------------------------------------------------------------

def test_a_csr_asks_from_the_account_page_and_is_told_it_waits(client, account, csr):
    client.login(username=csr.username, password=PASSWORD)
    response = client.post(f"/billing/accounts/{account.account_number}/adjustment/",
                           {"amount": "-300.00", "effective_date": "2026-03-01", "reason": "meter misread"})
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert said == [f"Credit of $300.00 is above the $250.00 limit: not posted yet. Request "
                    f"{AdjustmentRequest.objects.get().pk} waits for approval by billing staff."]
    assert ledger.account_balance(account_id=account.pk) == D("0")
    # The account's panel shows it waiting; its forms are the hub's styled fields, not as_p.
    page = client.get(f"/hub/accounts/{account.account_number}/").content.decode()
    assert "Awaiting approval" in page and "meter misread" in page
    assert 'class="field' in page and '<p><label for="adjustment_amount">' not in page
    # CSRs do not decide.
    assert client.get("/billing/adjustments/").status_code == 403
    request = AdjustmentRequest.objects.get()
    assert client.post(f"/billing/adjustments/{request.pk}/approve/").status_code == 403


def test_billing_sees_the_count_confirms_and_approves(client, account, csr, billing_user):
    request = ask(account, csr, "-300.00").request
    client.login(username=billing_user.username, password=PASSWORD)
    listing = client.get("/billing/adjustments/").content.decode()
    assert "Adjustments awaiting approval" in listing and 'aria-label="1 waiting"' in listing
    assert "1 request waiting · $300.00 of credits" in listing
    confirm = client.get(f"/billing/adjustments/{request.pk}/approve/").content.decode()
    assert "Approve and post" in confirm and LedgerEntry.objects.count() == 0
    response = client.post(f"/billing/adjustments/{request.pk}/approve/")
    assert response.status_code == 302
    assert ledger.account_balance(account_id=account.pk) == D("-300.00")
    assert 'aria-label="1 waiting"' not in client.get("/billing/adjustments/").content.decode()
    # A second post (a double click) changes nothing.
    client.post(f"/billing/adjustments/{request.pk}/approve/")
    assert LedgerEntry.objects.count() == 1


def test_the_maker_is_not_offered_their_own_request(client, account, billing_user):
    request = ask(account, billing_user, "-300.00").request
    client.login(username=billing_user.username, password=PASSWORD)
    assert "Yours: another person decides" in client.get("/billing/adjustments/").content.decode()
    response = client.post(f"/billing/adjustments/{request.pk}/approve/")
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert said == [f"You asked for adjustment request {request.pk}: another person must approve or reject it."]
    assert AdjustmentRequest.objects.get(pk=request.pk).status == "pending"


def test_reject_without_a_reason_is_a_form_error(client, account, csr, billing_user):
    request = ask(account, csr, "-300.00").request
    client.login(username=billing_user.username, password=PASSWORD)
    response = client.post(f"/billing/adjustments/{request.pk}/reject/", {"reason": ""})
    assert response.status_code == 200 and "Not rejected: reason" in response.content.decode()
    client.post(f"/billing/adjustments/{request.pk}/reject/", {"reason": "duplicate of a cheque refund"})
    request.refresh_from_db()
    assert request.status == "rejected" and request.decided_at is not None
    assert request.decided_at <= timezone.now()


def test_admin_shows_requests_read_only_with_their_history(client, account, csr, django_user_model):
    request = ask(account, csr, "-300.00").request
    root = django_user_model.objects.create_superuser("root-adj", "root@example.org", PASSWORD)
    client.force_login(root)
    assert client.get("/admin/billing/adjustmentrequest/").status_code == 200
    page = client.get(f"/admin/billing/adjustmentrequest/{request.pk}/change/")
    assert page.status_code == 200 and "Audit history" in page.content.decode()
    assert client.get("/admin/billing/adjustmentrequest/add/").status_code == 403
    assert client.post(f"/admin/billing/adjustmentrequest/{request.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AdjustmentRequest.objects.filter(pk=request.pk).exists()
