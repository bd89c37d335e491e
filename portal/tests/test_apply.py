"""Applying for service as a new customer (the public page, no sign-in): the request reaches the
CSR's Pending Moves, and a CSR completes it into a customer, an account and a move-in with the
existing services. Bad input is refused precisely with nothing saved; floods are throttled."""
from __future__ import annotations

import datetime as dt

import pghistory.models
import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from billing.models import RateSchedule
from cis.models import Account, Customer, Move, MoveRequest, Premise, ServiceAgreement
from cis.tests.factories import PremiseFactory, ServicePointFactory
from core.clock import utility_today
from core.roles import Role
from portal import applications
from portal.models import ServiceApplication

pytestmark = pytest.mark.django_db
APPLY = "/portal/apply/"


def _day(n: int) -> dt.date:
    return utility_today() + dt.timedelta(days=n)


@pytest.fixture
def premise():
    place = PremiseFactory(address_line1="48 Birch Crescent", city="Toronto", postal_code="M4E 1A1")
    ServicePointFactory(premise=place, sp_number="SP-BIRCH-E")
    return place


@pytest.fixture
def csr(django_user_model):
    user = django_user_model.objects.create_user(username="csr-apply", password=None)
    user.groups.add(Group.objects.get_or_create(name=Role.CSR)[0])
    return user


def _form(place, **changes) -> dict:
    data = {"address": "48 Birch", "premise": str(place.pk), "move_in_date": _day(14).isoformat(),
            "applicant_kind": "person", "first_name": "Marie", "last_name": "Lavoie",
            "email": "Marie.Lavoie@example.test", "phone": "(416) 555-0142", "id_type": "", "id_number": "",
            "message": "Moving in with a dog."}
    data.update(changes)
    return data


def test_the_address_finder_lists_only_premises_open_to_applications(client, premise):
    PremiseFactory(address_line1="50 Birch Crescent", postal_code="M4E 1A2")  # no service point
    lamp = PremiseFactory(address_line1="52 Birch Crescent", premise_type=Premise.PremiseType.STREETLIGHT_DISTRICT)
    ServicePointFactory(premise=lamp)
    page = client.get(APPLY, {"address": "birch cres"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "48 Birch Crescent" in text and "50 Birch" not in text and "52 Birch" not in text
    assert "1 address found" in text
    assert "We do not serve an address like that" in client.get(APPLY, {"address": "Nowhere Lane"}).content.decode()
    assert client.get(APPLY).status_code == 200


def test_an_application_reaches_pending_moves_and_a_csr_completes_it_into_a_new_account(client, premise, csr):
    sp = premise.service_points.get()
    RateSchedule.objects.create(code="RES", name="Residential")
    sent = client.post(APPLY, _form(premise), headers={"accept-language": "fr"})
    assert sent.status_code == 200
    request = MoveRequest.objects.get()
    assert f"{request.pk}".encode() in sent.content and "marie.lavoie@example.test".encode() in sent.content
    assert (request.kind, request.status, request.account, request.premise) == ("new_customer", "submitted", None, premise)
    assert (request.applicant_last_name, request.applicant_email, request.applicant_language) == (
        "Lavoie", "marie.lavoie@example.test", "fr")
    assert not Customer.objects.exists() and not Move.objects.exists()
    assert ServiceApplication.objects.get().move_request == request
    # Audited: the insert is in the trail, with why.
    event = pghistory.models.Events.objects.filter(pgh_obj_model="cis.MoveRequest").get()
    assert event.pgh_context["reason"] == "move_request_apply"

    client.force_login(csr)
    pending = client.get(reverse("cis:pending-moves")).content.decode()
    assert "Requests from customers (1)" in pending and "Marie Lavoie" in pending and "New customer" in pending
    page = client.get(reverse("cis:move-request", args=[request.pk])).content.decode()
    assert "marie.lavoie@example.test" in page and sp.sp_number in page and "48 Birch Crescent" in page
    refused = client.post(reverse("cis:move-request", args=[request.pk]), {
        "action": "complete", "service_point": ServicePointFactory().sp_number, "rate_code": "RES"})
    assert refused.status_code == 400 and b"is not at the address applied for" in refused.content
    assert not Customer.objects.exists()
    done = client.post(reverse("cis:move-request", args=[request.pk]), {
        "action": "complete", "service_point": sp.sp_number, "rate_code": "RES", "bill_cycle_code": ""})
    assert done.status_code == 302
    request.refresh_from_db()
    customer = Customer.objects.get()
    assert request.status == "completed" and request.account.customer == customer and request.handled_by == csr
    assert (customer.last_name, customer.email, customer.phone, customer.preferred_language) == (
        "Lavoie", "marie.lavoie@example.test", "(416) 555-0142", "fr")
    assert customer.mailing_address_line1 == "48 Birch Crescent"  # bills to the service address
    assert request.account.status == Account.Status.PENDING and request.account.opened_date == _day(14)
    assert (request.move_in.kind, request.move_in.service_point, request.move_in.status) == ("move_in", sp, "pending")
    assert request.account.account_number in request.response
    assert not ServiceAgreement.objects.exists()  # the move-in waits for its date, as any other


def test_a_declined_application_keeps_no_customer(client, premise, csr):
    client.post(APPLY, _form(premise))
    request = MoveRequest.objects.get()
    client.force_login(csr)
    declined = client.post(reverse("cis:move-request", args=[request.pk]), {
        "action": "decline", "reason": "This address is served by another utility."})
    assert declined.status_code == 302
    request.refresh_from_db()
    assert request.status == "declined" and request.account is None and not Customer.objects.exists()


@pytest.mark.parametrize(("changes", "field_message"), [
    ({"move_in_date": ""}, "Say the first day you need service."),
    ({"premise": ""}, "Choose the address where you need service from the list."),
    ({"last_name": ""}, "Give your last name."),
    ({"applicant_kind": "organisation", "organisation_name": ""}, "Give the business name."),
    ({"email": "not-an-email"}, "Give an email address we can write to."),
    ({"phone": "12"}, "Give a phone number we can call about your application."),
    ({"id_type": "passport"}, "Give the number of the ID, or leave both empty."),
    ({"id_number": "X123"}, "Say which kind of ID this number is."),
    ({"mailing_address_line1": "PO Box 12"}, "Give the whole mailing address"),
])
def test_bad_input_is_refused_precisely_and_nothing_is_saved(client, premise, changes, field_message):
    response = client.post(APPLY, _form(premise, **changes))
    assert response.status_code == 400
    assert field_message in response.content.decode()
    assert not MoveRequest.objects.exists() and not ServiceApplication.objects.exists()


def test_a_start_date_in_the_past_or_too_far_ahead_is_refused(client, premise):
    past = client.post(APPLY, _form(premise, move_in_date=_day(-1).isoformat()))
    assert past.status_code == 400
    assert f"The start date is in the past: choose {_day(0):%Y-%m-%d} or later." in past.content.decode()
    far = client.post(APPLY, _form(premise, move_in_date=_day(200).isoformat()))
    assert far.status_code == 400 and "Apply at most 120 days before you need service." in far.content.decode()
    assert not MoveRequest.objects.exists()


def test_a_premise_not_open_to_applications_is_refused_even_if_posted(client, premise):
    empty = PremiseFactory(address_line1="50 Birch Crescent")
    response = client.post(APPLY, _form(premise, premise=str(empty.pk)))
    assert response.status_code == 400 and not MoveRequest.objects.exists()


def test_a_second_waiting_application_for_one_email_is_refused(client, premise):
    assert client.post(APPLY, _form(premise)).status_code == 200
    again = client.post(APPLY, _form(premise, email="marie.lavoie@EXAMPLE.test"))
    assert again.status_code == 400 and "An application with this email is already waiting" in again.content.decode()
    assert MoveRequest.objects.count() == 1


def test_floods_from_one_client_address_are_throttled(client, premise):
    for n in range(applications.APPLICATIONS_PER_CLIENT):
        assert client.post(APPLY, _form(premise, email=f"a{n}@example.test")).status_code == 200
    throttled = client.post(APPLY, _form(premise, email="another@example.test"))
    assert throttled.status_code == 429 and "Too many applications from here" in throttled.content.decode()
    assert MoveRequest.objects.count() == applications.APPLICATIONS_PER_CLIENT
    # Another client address is not held back by this one.
    other = client.post(APPLY, _form(premise, email="another@example.test"), REMOTE_ADDR="192.0.2.7")
    assert other.status_code == 200


def test_one_email_is_throttled_across_client_addresses(client, premise, csr):
    now = dt.datetime.now(dt.timezone.utc)
    for n in range(applications.APPLICATIONS_PER_EMAIL):
        request = applications.application_submit(
            client_address=f"198.51.100.{n}", now=now, today=_day(0), premise=premise, move_in_date=_day(3),
            applicant_kind="person", last_name="Lavoie", email="m@example.test", phone="4165550142")
        request.status, request.handled_at = "withdrawn", now
        request.save(update_fields=["status", "handled_at"])
    with pytest.raises(applications.ApplicationThrottled) as caught:
        applications.application_submit(
            client_address="198.51.100.99", now=now, today=_day(0), premise=premise, move_in_date=_day(3),
            applicant_kind="person", last_name="Lavoie", email="M@example.test", phone="4165550142")
    assert caught.value.until > now


def test_the_client_address_is_kept_only_as_a_keyed_hash(client, premise):
    client.post(APPLY, _form(premise), REMOTE_ADDR="203.0.113.9")
    key = ServiceApplication.objects.get().client_key
    assert "203.0.113.9" not in key and key == applications.client_key("203.0.113.9") and len(key) == 64
