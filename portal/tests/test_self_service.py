"""Move requests (portal -> the CSR's Pending Moves -> the move services -> what the customer
sees) and contacting the utility (a contact or complaint on the account, seen by CSRs)."""
from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from billing.models import RateSchedule
from cis.models import Complaint, Contact, Move, MoveRequest, ServiceAgreement
from cis.tests.factories import PremiseFactory, ServicePointFactory
from core.clock import utility_today
from core.roles import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def csr(client, django_user_model):
    def make():
        user = django_user_model.objects.create_user(username="csr-1", password=None)
        user.groups.add(Group.objects.get_or_create(name=Role.CSR)[0])
        return user
    return make


def _day(n: int) -> str:
    return f"{utility_today() + dt.timedelta(days=n):%Y-%m-%d}"


def test_a_move_date_in_the_past_is_refused_precisely_and_nothing_is_saved(client, alice, portal_user):
    client.force_login(portal_user(alice))
    url = reverse("portal:moves", args=[alice.account.account_number])
    response = client.post(url, {"kind": "move_out", "service_point": alice.service_point.sp_number,
                                 "move_out_date": _day(-1)})
    assert response.status_code == 400
    assert f"The stop date is in the past: choose {_day(0)} or later.".encode() in response.content
    missing = client.post(url, {"kind": "move_in", "move_in_date": _day(5)})
    assert missing.status_code == 400 and b"Give the address where service starts." in missing.content
    assert not MoveRequest.objects.exists()


def test_a_transfer_request_reaches_pending_moves_and_a_csr_completes_it(client, alice, portal_user, csr):
    customer = portal_user(alice)
    client.force_login(customer)
    new_sp = ServicePointFactory(premise=PremiseFactory(address_line1="12 Elm Street", postal_code="M4C 2B2"))
    RateSchedule.objects.create(code="RES-TOU", name="Residential time of use")
    moves_url = reverse("portal:moves", args=[alice.account.account_number])
    sent = client.post(moves_url, {
        "kind": "transfer", "service_point": alice.service_point.sp_number, "move_out_date": _day(10),
        "move_in_date": _day(10), "new_address": "12 Elm Street", "forwarding_address": "12 Elm Street",
        "phone": "416-555-0100"})
    assert sent.status_code == 302
    request = MoveRequest.objects.get()
    assert (request.kind, request.status, request.requested_by) == ("transfer", "submitted", customer)
    assert b"Waiting for us" in client.get(moves_url).content
    assert not Move.objects.exists()  # nothing about service changes before a CSR acts

    client.force_login(csr())
    pending = client.get(reverse("cis:pending-moves"))
    assert b"Requests from customers (1)" in pending.content and alice.account.account_number.encode() in pending.content
    page = client.get(reverse("cis:move-request", args=[request.pk]), {"sp_query": "12 Elm"})
    assert new_sp.sp_number.encode() in page.content
    done = client.post(reverse("cis:move-request", args=[request.pk]), {
        "action": "complete", "service_point": new_sp.sp_number, "rate_code": "RES-TOU",
        "move_out_date": _day(10), "move_in_date": _day(10)})
    assert done.status_code == 302
    request.refresh_from_db()
    assert request.status == "completed" and request.handled_at is not None
    assert (request.move_out.kind, request.move_out.service_point, request.move_out.status) == (
        "move_out", alice.service_point, "pending")
    assert (request.move_in.kind, request.move_in.service_point, request.move_in.rate_code) == (
        "move_in", new_sp, "RES-TOU")
    assert Move.objects.filter(status="pending").count() == 2  # the existing services' moves, on their date

    client.force_login(customer)
    mine = client.get(moves_url).content.decode()
    assert "Done" in mine and "Pending: agreement" in mine


def test_a_csr_declines_with_a_reason_the_customer_reads_and_a_second_try_is_refused(client, alice, portal_user, csr):
    customer = portal_user(alice)
    client.force_login(customer)
    moves_url = reverse("portal:moves", args=[alice.account.account_number])
    client.post(moves_url, {"kind": "move_in", "move_in_date": _day(3), "new_address": "99 Nowhere Road"})
    request = MoveRequest.objects.get()
    again = client.post(moves_url, {"kind": "move_in", "move_in_date": _day(4), "new_address": "98 Nowhere Road"})
    assert again.status_code == 400 and b"already waiting" in again.content

    client.force_login(csr())
    url = reverse("cis:move-request", args=[request.pk])
    assert client.post(url, {"action": "decline", "reason": ""}).status_code == 400
    assert client.post(url, {"action": "complete", "rate_code": "RES-TOU"}).status_code == 400  # no service point
    assert client.post(url, {"action": "decline", "reason": "That address is outside our territory."}).status_code == 302
    client.force_login(customer)
    assert b"That address is outside our territory." in client.get(moves_url).content
    assert not ServiceAgreement.objects.filter(account=alice.account).exclude(service_point=alice.service_point).exists()


def test_a_customer_withdraws_a_request_no_csr_has_handled(client, alice, portal_user, csr):
    client.force_login(portal_user(alice))
    client.post(reverse("portal:moves", args=[alice.account.account_number]),
                {"kind": "move_out", "service_point": alice.service_point.sp_number, "move_out_date": _day(7)})
    request = MoveRequest.objects.get()
    url = reverse("portal:move-withdraw", args=[alice.account.account_number, request.pk])
    assert client.get(url).status_code == 200
    assert client.post(url).status_code == 302
    request.refresh_from_db()
    assert request.status == "withdrawn"
    client.force_login(csr())
    assert b"Requests from customers" not in client.get(reverse("cis:pending-moves")).content


def test_a_message_and_a_complaint_land_on_the_account_for_csrs_and_the_customer_sees_their_own(
        client, alice, bob, portal_user, csr):
    alice_user = portal_user(alice)
    bob_user = portal_user(bob, "bob@example.test")
    client.force_login(bob_user)
    client.post(reverse("portal:contact", args=[bob.account.account_number]),
                {"kind": "message", "subject": "Bob's question", "details": "Private to Bob"})
    client.force_login(alice_user)
    url = reverse("portal:contact", args=[alice.account.account_number])
    assert client.post(url, {"kind": "message", "subject": "", "details": "x"}).status_code == 400
    assert client.post(url, {"kind": "message", "subject": "Meter reading", "details": "When is my meter read?"}).status_code == 302
    assert client.post(url, {"kind": "complaint", "category": "billing", "subject": "Bill too high",
                             "details": "My February bill doubled."}).status_code == 302

    contact = Contact.objects.get(account=alice.account)
    assert (contact.channel, contact.status, contact.created_by, contact.subject) == ("portal", "open", alice_user,
                                                                                      "Meter reading")
    complaint = Complaint.objects.get(account=alice.account)
    assert (complaint.category, complaint.status, complaint.created_by) == ("billing", "open", alice_user)
    assert complaint.description.startswith("Bill too high")

    page = client.get(url).content.decode()
    assert "Meter reading" in page and "Bill too high" in page and "Bob&#x27;s question" not in page

    client.force_login(csr())
    hub = client.get(reverse("cis:account", args=[alice.account.account_number])).content.decode()
    assert "Meter reading" in hub and "My February bill doubled." in hub
