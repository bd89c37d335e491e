"""The customer & premise REST API: roles, filters, writes through cis.services, moves,
field-level errors, the audit trail and the OpenAPI document.

Move dates are chosen far from the real clock (2025 is past, 2099 is future) because the
API passes the utility's real 'today' to the services."""
from __future__ import annotations

import datetime as dt
import zoneinfo
from urllib.parse import parse_qs, urlsplit

import pghistory.models
import pytest
from django.utils import timezone

from cis.models import Account, Complaint, Customer, Move, Premise, ServiceAgreement
from cis.tests.factories import (
    AccountFactory,
    CustomerFactory,
    PremiseFactory,
    ServiceAgreementFactory,
    ServicePointFactory,
)
from billing.models import BillCycle, RateSchedule
from core.roles import Role
from service_orders.models import ServiceOrder


@pytest.fixture(autouse=True)
def billing_codes(db, settings):
    """The rate and bill cycle codes these tests use exist in billing: cis refuses unknown ones
    (core.codes); new accounts without a chosen cycle get UTILIS_DEFAULT_BILL_CYCLE."""
    for code in ("RES", "RES-TOU", "R", "GS"):
        RateSchedule.objects.get_or_create(code=code, defaults={"name": code})
    for code in ("C01", "C03", "C05", "C06", "C09", "C11"):
        BillCycle.objects.get_or_create(code=code, defaults={"name": code})
    settings.UTILIS_DEFAULT_BILL_CYCLE = "C01"


pytestmark = pytest.mark.django_db

FUTURE = dt.date(2099, 5, 1)


@pytest.fixture
def csr_api(api_for, csr):
    return api_for(csr)


@pytest.fixture
def customer_user(make_user):
    return make_user("portal1", Role.CUSTOMER)


@pytest.fixture
def api_client_user(make_user):
    return make_user("partner1", Role.API_CLIENT)


# --- authentication and roles ---------------------------------------------------------

def test_request_without_token_is_401_and_names_the_token_scheme(api_for):
    response = api_for(None).get("/api/customers/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("who", ["field_user", "customer_user"])
@pytest.mark.parametrize(
    "path", ["/api/customers/", "/api/accounts/", "/api/agreements/", "/api/moves/", "/api/contacts/", "/api/search/?q=ab"]
)
def test_field_crew_and_customers_are_refused(request, api_for, who, path):
    user = request.getfixturevalue(who)
    assert api_for(user).get(path).status_code == 403


def test_field_crew_cannot_create_a_customer(api_for, field_user):
    response = api_for(field_user).post("/api/customers/", {"last_name": "Doe"}, format="json")
    assert response.status_code == 403


@pytest.mark.parametrize("who", ["billing_user", "metering_user", "api_client_user"])
def test_billing_metering_and_api_clients_read(request, api_for, who):
    account = AccountFactory()
    client = api_for(request.getfixturevalue(who))
    assert client.get("/api/customers/").status_code == 200
    assert client.get(f"/api/accounts/{account.account_number}/").status_code == 200


def test_billing_user_cannot_write(api_for, billing_user):
    account = AccountFactory()
    client = api_for(billing_user)
    assert client.post("/api/customers/", {"last_name": "Doe"}, format="json").status_code == 403
    assert client.patch(f"/api/accounts/{account.account_number}/", {"bill_cycle_code": "C09"}, format="json").status_code == 403
    sp = ServicePointFactory()
    assert client.post(
        f"/api/accounts/{account.account_number}/move-in/",
        {"service_point": sp.sp_number, "move_in_date": "2025-02-01", "rate_code": "RES"}, format="json",
    ).status_code == 403
    assert not Move.objects.exists()


def test_api_client_may_log_a_contact_but_not_edit_it(api_for, api_client_user):
    account = AccountFactory()
    client = api_for(api_client_user)
    created = client.post(
        "/api/contacts/", {"account": account.account_number, "subject": "Outage call", "channel": "phone"}, format="json"
    )
    assert created.status_code == 201
    assert created.data["created_by"] == "partner1"
    edit = client.patch(f"/api/contacts/{created.data['id']}/", {"status": "open"}, format="json")
    assert edit.status_code == 403
    assert client.post("/api/notes/", {"account": account.account_number, "text": "hi"}, format="json").status_code == 403


def test_administrator_may_write_without_the_csr_role(api_for, admin_user_role):
    response = api_for(admin_user_role).post(
        "/api/customers/", {"kind": "organisation", "organisation_name": "Acme Ltd"}, format="json"
    )
    assert response.status_code == 201


# --- customers: filters and pagination ------------------------------------------------

def test_customer_name_filter_ignores_accents_and_case(csr_api):
    CustomerFactory(first_name="Éloïse", last_name="Bédard")
    CustomerFactory(first_name="Tom", last_name="Brady")
    response = csr_api.get("/api/customers/", {"name": "BEDARD"})
    assert response.status_code == 200
    assert [c["display_name"] for c in response.data["results"]] == ["Éloïse Bédard"]


def test_customer_phone_filter_matches_digits_whatever_the_punctuation(csr_api):
    wanted = CustomerFactory(phone="(416) 555-0199")
    CustomerFactory(phone="416-555-0200")
    response = csr_api.get("/api/customers/", {"phone": "1 416.555.0199"})
    assert [c["customer_number"] for c in response.data["results"]] == [wanted.customer_number]


def test_customer_email_filter_is_exact_and_case_blind(csr_api):
    wanted = CustomerFactory(email="ann@example.test")
    CustomerFactory(email="ann@example.testing")
    response = csr_api.get("/api/customers/", {"email": "ANN@Example.test"})
    assert [c["customer_number"] for c in response.data["results"]] == [wanted.customer_number]


def test_customer_list_is_paginated_fifty_a_page(csr_api):
    CustomerFactory.create_batch(53)
    first = csr_api.get("/api/customers/")
    assert first.data["count"] == 53
    assert len(first.data["results"]) == 50
    assert first.data["next"].endswith("/api/customers/?page=2")
    second = csr_api.get("/api/customers/", {"page": 2})
    assert len(second.data["results"]) == 3 and second.data["next"] is None


# --- customers: writes ----------------------------------------------------------------

def test_csr_creates_a_person_and_gets_a_number_and_display_name(csr_api):
    response = csr_api.post(
        "/api/customers/",
        {"first_name": "José", "last_name": "Núñez", "email": "Jose@Example.test", "phone": "416-555-1234"},
        format="json",
    )
    assert response.status_code == 201, response.data
    customer = Customer.objects.get(customer_number=response.data["customer_number"])
    assert customer.customer_number.startswith("C")
    assert response.data["display_name"] == "José Núñez"
    assert customer.search_name == "jose nunez"
    assert customer.email == "jose@example.test"


def test_person_without_last_name_is_a_field_error(csr_api):
    response = csr_api.post("/api/customers/", {"kind": "person", "first_name": "Cher"}, format="json")
    assert response.status_code == 400
    assert response.data["last_name"] == ["A person needs a last name."]
    assert not Customer.objects.exists()


def test_organisation_without_a_name_is_a_field_error(csr_api):
    response = csr_api.post("/api/customers/", {"kind": "organisation"}, format="json")
    assert response.status_code == 400
    assert list(response.data) == ["organisation_name"]


def test_patch_that_blanks_a_persons_last_name_is_refused(csr_api):
    customer = CustomerFactory(last_name="Stays")
    response = csr_api.patch(f"/api/customers/{customer.customer_number}/", {"last_name": ""}, format="json")
    assert response.status_code == 400 and "last_name" in response.data
    customer.refresh_from_db()
    assert customer.last_name == "Stays"


def test_bad_email_and_bad_choice_are_field_errors(csr_api):
    response = csr_api.post(
        "/api/customers/", {"last_name": "Doe", "email": "not-an-email", "preferred_language": "xx"}, format="json"
    )
    assert response.status_code == 400
    assert set(response.data) == {"email", "preferred_language"}


def test_customer_number_cannot_be_changed(csr_api):
    customer = CustomerFactory()
    response = csr_api.patch(f"/api/customers/{customer.customer_number}/", {"customer_number": "X1"}, format="json")
    assert response.status_code == 400 and "customer_number" in response.data


def test_api_update_records_the_api_user_in_the_audit_trail(csr_api, csr):
    customer = CustomerFactory(last_name="Old")
    response = csr_api.patch(f"/api/customers/{customer.customer_number}/", {"last_name": "New"}, format="json")
    assert response.status_code == 200
    assert response.data["display_name"].endswith(" New")
    event = pghistory.models.Events.objects.tracks(customer).filter(pgh_label="update").order_by("-pgh_id").first()
    assert event.pgh_diff["last_name"] == ["Old", "New"]
    assert event.pgh_context["user"] == csr.pk


def test_serializer_saved_premise_update_also_records_the_api_user(csr_api, csr):
    premise = PremiseFactory(city="Toronto")
    response = csr_api.patch(f"/api/premises/{premise.premise_number}/", {"city": "Ottawa"}, format="json")
    assert response.status_code == 200
    event = pghistory.models.Events.objects.tracks(premise).filter(pgh_label="update").order_by("-pgh_id").first()
    assert event.pgh_diff["city"] == ["Toronto", "Ottawa"]
    assert event.pgh_context["user"] == csr.pk
    assert event.pgh_context["url"] == f"/api/premises/{premise.premise_number}/"


# --- premises and service points ------------------------------------------------------

def test_csr_creates_premise_and_service_point_with_assigned_numbers(csr_api):
    premise = csr_api.post(
        "/api/premises/",
        {"address_line1": "12 Rue Saint-Denis", "city": "Montréal", "region": "QC", "postal_code": "H2X 3K8"},
        format="json",
    )
    assert premise.status_code == 201, premise.data
    assert premise.data["premise_number"].startswith("P")
    assert Premise.objects.get(premise_number=premise.data["premise_number"]).search_address == (
        "12 rue saint-denis montreal h2x 3k8"
    )
    sp = csr_api.post(
        "/api/service-points/", {"premise": premise.data["premise_number"], "commodity": "water", "route": "W7"},
        format="json",
    )
    assert sp.status_code == 201, sp.data
    assert sp.data["sp_number"].startswith("SP") and sp.data["premise"] == premise.data["premise_number"]


def test_premise_latitude_out_of_range_is_a_field_error(csr_api):
    response = csr_api.post(
        "/api/premises/",
        {"address_line1": "1 Pole Rd", "city": "Alert", "region": "NU", "postal_code": "X0A 0H0", "latitude": "91"},
        format="json",
    )
    assert response.status_code == 400 and list(response.data) == ["latitude"]


def test_service_points_filter_by_premise_commodity_and_route(csr_api):
    premise = PremiseFactory()
    wanted = ServicePointFactory(premise=premise, commodity="water", route="R09")
    ServicePointFactory(premise=premise, commodity="electric", route="R09")
    ServicePointFactory(commodity="water", route="R09")
    ServicePointFactory(premise=premise, commodity="water", route="R10")
    response = csr_api.get(
        "/api/service-points/", {"premise": premise.premise_number, "commodity": "water", "route": "R09"}
    )
    assert [sp["sp_number"] for sp in response.data["results"]] == [wanted.sp_number]


# --- accounts -------------------------------------------------------------------------

def test_csr_opens_account_and_billing_address_defaults_to_mailing_address(csr_api):
    customer = CustomerFactory(mailing_address_line1="5 Elm St", mailing_city="Guelph")
    response = csr_api.post(
        "/api/accounts/", {"customer": customer.customer_number, "opened_date": "2025-04-01", "bill_cycle_code": "C03"},
        format="json",
    )
    assert response.status_code == 201, response.data
    assert response.data["customer"] == customer.customer_number
    assert response.data["billing_address_line1"] == "5 Elm St" and response.data["billing_city"] == "Guelph"
    assert response.data["status"] == "active" and response.data["opened_date"] == "2025-04-01"


def test_account_for_unknown_customer_or_bad_date_is_a_field_error(csr_api):
    response = csr_api.post("/api/accounts/", {"customer": "NOPE", "opened_date": "01/04/2025"}, format="json")
    assert response.status_code == 400
    assert set(response.data) == {"customer", "opened_date"}


def test_accounts_filter_by_status_customer_cycle_and_parent(csr_api):
    parent = AccountFactory()
    customer = CustomerFactory()
    wanted = AccountFactory(customer=customer, bill_cycle_code="C05", parent=parent)
    AccountFactory(customer=customer, bill_cycle_code="C05", parent=parent, status=Account.Status.CLOSED,
                   closed_date=dt.date(2025, 1, 1))
    AccountFactory(customer=customer, bill_cycle_code="C06", parent=parent)
    AccountFactory(customer=customer, bill_cycle_code="C05")
    response = csr_api.get(
        "/api/accounts/",
        {"status": "active", "customer": customer.customer_number, "bill_cycle_code": "C05", "parent": parent.account_number},
    )
    assert [a["account_number"] for a in response.data["results"]] == [wanted.account_number]


def test_account_cannot_be_billed_under_its_own_child(csr_api):
    top = AccountFactory()
    child = AccountFactory(parent=top)
    response = csr_api.patch(f"/api/accounts/{top.account_number}/", {"parent": child.account_number}, format="json")
    assert response.status_code == 400 and "parent" in response.data
    ok = csr_api.patch(f"/api/accounts/{child.account_number}/", {"bill_cycle_code": "C11"}, format="json")
    assert ok.status_code == 200 and ok.data["bill_cycle_code"] == "C11" and ok.data["parent"] == top.account_number


# --- agreements -----------------------------------------------------------------------

def test_csr_creates_agreement(csr_api):
    account = AccountFactory()
    sp = ServicePointFactory()
    response = csr_api.post(
        "/api/agreements/",
        {"account": account.account_number, "service_point": sp.sp_number, "rate_code": "RES-TOU", "start_date": "2025-02-01"},
        format="json",
    )
    assert response.status_code == 201, response.data
    assert response.data["agreement_number"].startswith("SA")
    assert response.data["end_date"] is None
    assert ServiceAgreement.objects.get(service_point=sp).account == account


def test_overlapping_agreement_is_400_naming_the_service_point(csr_api):
    existing = ServiceAgreementFactory(start_date=dt.date(2025, 1, 1), end_date=dt.date(2025, 6, 1))
    sp_number = existing.service_point.sp_number
    response = csr_api.post(
        "/api/agreements/",
        {"account": AccountFactory().account_number, "service_point": sp_number, "rate_code": "RES",
         "start_date": "2025-05-31"},
        format="json",
    )
    assert response.status_code == 400
    assert sp_number in response.data["service_point"][0]
    assert ServiceAgreement.objects.filter(service_point=existing.service_point).count() == 1


def test_agreement_starting_on_the_previous_end_date_is_accepted(csr_api):
    existing = ServiceAgreementFactory(start_date=dt.date(2025, 1, 1), end_date=dt.date(2025, 6, 1))
    response = csr_api.post(
        "/api/agreements/",
        {"account": AccountFactory().account_number, "service_point": existing.service_point.sp_number,
         "rate_code": "RES", "start_date": "2025-06-01"},
        format="json",
    )
    assert response.status_code == 201


def test_agreement_input_errors_are_per_field(csr_api):
    account = AccountFactory()
    sp = ServicePointFactory()
    end_first = csr_api.post(
        "/api/agreements/",
        {"account": account.account_number, "service_point": sp.sp_number, "rate_code": "R",
         "start_date": "2025-06-01", "end_date": "2025-06-01"},
        format="json",
    )
    assert end_first.status_code == 400 and list(end_first.data) == ["end_date"]
    unknown = csr_api.post(
        "/api/agreements/",
        {"account": account.account_number, "service_point": "SP-NOPE", "rate_code": "R", "start_date": "2025-13-01"},
        format="json",
    )
    assert unknown.status_code == 400 and set(unknown.data) == {"service_point", "start_date"}


def test_agreements_filter_active_on_uses_exclusive_end(csr_api):
    ended = ServiceAgreementFactory(start_date=dt.date(2025, 1, 1), end_date=dt.date(2025, 6, 1))
    following = ServiceAgreementFactory(service_point=ended.service_point, start_date=dt.date(2025, 6, 1))
    sp = ended.service_point.sp_number
    on_last_day = csr_api.get("/api/agreements/", {"service_point": sp, "active_on": "2025-05-31"})
    on_end_date = csr_api.get("/api/agreements/", {"service_point": sp, "active_on": "2025-06-01"})
    assert [a["agreement_number"] for a in on_last_day.data["results"]] == [ended.agreement_number]
    assert [a["agreement_number"] for a in on_end_date.data["results"]] == [following.agreement_number]
    by_account = csr_api.get("/api/agreements/", {"account": following.account.account_number})
    assert by_account.data["count"] == 1


def test_agreements_cannot_be_changed_or_deleted(csr_api):
    agreement = ServiceAgreementFactory()
    path = f"/api/agreements/{agreement.agreement_number}/"
    assert csr_api.patch(path, {"rate_code": "X"}, format="json").status_code == 405
    assert csr_api.delete(path).status_code == 405
    assert ServiceAgreement.objects.filter(pk=agreement.pk, rate_code="RES-TOU").exists()


# --- moves ----------------------------------------------------------------------------

def test_move_out_in_the_past_stops_the_agreement_and_closes_the_account(csr_api):
    agreement = ServiceAgreementFactory(start_date=dt.date(2025, 1, 1))
    response = csr_api.post(
        f"/api/accounts/{agreement.account.account_number}/move-out/",
        {"service_point": agreement.service_point.sp_number, "move_out_date": "2025-09-15"},
        format="json",
    )
    assert response.status_code == 201, response.data
    assert response.data["applied"] is True
    assert response.data["move"]["status"] == "completed" and response.data["move"]["kind"] == "move_out"
    assert response.data["move"]["requested_by"] == "csr1"
    assert response.data["agreement"]["end_date"] == "2025-09-15"
    assert "last day served 2025-09-14" in response.data["move"]["outcome"]
    assert [(o["order_type"], o["due_date"]) for o in response.data["read_orders"]] == [("final_read", "2025-09-15")]
    account = Account.objects.get(pk=agreement.account_id)
    assert account.status == Account.Status.CLOSED and account.closed_date == dt.date(2025, 9, 15)


def test_move_in_onto_an_occupied_service_point_clears_the_previous_account(csr_api):
    old = ServiceAgreementFactory(start_date=dt.date(2025, 1, 1))
    newcomer = AccountFactory(opened_date=dt.date(2025, 3, 1))
    response = csr_api.post(
        f"/api/accounts/{newcomer.account_number}/move-in/",
        {"service_point": old.service_point.sp_number, "move_in_date": "2025-03-10", "rate_code": "RES"},
        format="json",
    )
    assert response.status_code == 201, response.data
    assert [a["agreement_number"] for a in response.data["stopped_agreements"]] == [old.agreement_number]
    assert response.data["stopped_agreements"][0]["end_date"] == "2025-03-10"
    assert response.data["agreement"]["account"] == newcomer.account_number
    assert response.data["agreement"]["start_date"] == "2025-03-10"
    assert sorted(o["order_type"] for o in response.data["read_orders"]) == ["final_read", "initial_read"]
    assert "Move clearing house" in response.data["move"]["outcome"]


def test_future_move_in_is_pending_listed_and_cancellable(csr_api):
    account = AccountFactory()
    sp = ServicePointFactory()
    response = csr_api.post(
        f"/api/accounts/{account.account_number}/move-in/",
        {"service_point": sp.sp_number, "move_in_date": FUTURE.isoformat(), "rate_code": "RES"},
        format="json",
    )
    assert response.status_code == 201
    assert response.data["applied"] is False and response.data["agreement"] is None
    move_id = response.data["move"]["id"]
    # A completed move must not be listed as pending.
    Move.objects.create(kind=Move.Kind.MOVE_OUT, status=Move.Status.COMPLETED, account=account,
                        service_point=ServicePointFactory(), effective_date=dt.date(2025, 1, 1))
    pending = csr_api.get("/api/moves/", {"status": "pending"})
    assert [m["id"] for m in pending.data["results"]] == [move_id]

    cancelled = csr_api.post(f"/api/moves/{move_id}/cancel/")
    assert cancelled.status_code == 200 and cancelled.data["status"] == "cancelled"
    assert ServiceOrder.objects.get(source=f"cis.move:{move_id}").status == "cancelled"
    again = csr_api.post(f"/api/moves/{move_id}/cancel/")
    assert again.status_code == 400
    assert again.data == {"detail": "Only a pending move can be cancelled."}


def test_the_same_pending_move_twice_is_400_not_500(csr_api):
    account = AccountFactory()
    sp = ServicePointFactory()
    body = {"service_point": sp.sp_number, "move_in_date": FUTURE.isoformat(), "rate_code": "RES"}
    assert csr_api.post(f"/api/accounts/{account.account_number}/move-in/", body, format="json").status_code == 201
    second = csr_api.post(f"/api/accounts/{account.account_number}/move-in/", body, format="json")
    assert second.status_code == 400 and "already waiting" in second.data["detail"]


def test_move_out_without_service_there_is_400_with_the_reason(csr_api):
    account = AccountFactory()
    sp = ServicePointFactory()
    response = csr_api.post(
        f"/api/accounts/{account.account_number}/move-out/",
        {"service_point": sp.sp_number, "move_out_date": "2025-09-15"}, format="json",
    )
    assert response.status_code == 400
    assert response.data == {
        "detail": f"Account {account.account_number} has no agreement at {sp.sp_number} on 2025-09-14."
    }


def test_move_in_input_errors_are_per_field(csr_api):
    account = AccountFactory()
    response = csr_api.post(
        f"/api/accounts/{account.account_number}/move-in/",
        {"service_point": "SP-NOPE", "move_in_date": "tomorrow"}, format="json",
    )
    assert response.status_code == 400
    assert set(response.data) == {"service_point", "move_in_date", "rate_code"}


def test_move_for_unknown_account_is_404(csr_api):
    response = csr_api.post(
        "/api/accounts/0000000000/move-out/", {"service_point": "X", "move_out_date": "2025-01-01"}, format="json"
    )
    assert response.status_code == 404


# --- contacts, notes, complaints ------------------------------------------------------

def test_csr_logs_contact_adds_note_and_filters_by_account(csr_api):
    account = AccountFactory()
    other = AccountFactory()
    contact = csr_api.post(
        "/api/contacts/",
        {"account": account.account_number, "subject": "High bill", "status": "open", "follow_up_date": "2025-03-20"},
        format="json",
    )
    assert contact.status_code == 201 and contact.data["created_by"] == "csr1"
    csr_api.post("/api/contacts/", {"account": other.account_number, "subject": "Other"}, format="json")
    listed = csr_api.get("/api/contacts/", {"account": account.account_number, "follow_up_before": "2025-03-21"})
    assert [c["subject"] for c in listed.data["results"]] == ["High bill"]
    closed = csr_api.patch(f"/api/contacts/{contact.data['id']}/", {"status": "closed"}, format="json")
    assert closed.status_code == 200 and closed.data["status"] == "closed"

    note = csr_api.post("/api/notes/", {"account": account.account_number, "text": "  Dog in yard  ", "pinned": True},
                        format="json")
    assert note.status_code == 201 and note.data["text"] == "Dog in yard"
    blank = csr_api.post("/api/notes/", {"account": account.account_number, "text": "   "}, format="json")
    assert blank.status_code == 400 and "text" in blank.data


def test_contact_cannot_be_moved_to_another_account(csr_api):
    account = AccountFactory()
    contact = csr_api.post("/api/contacts/", {"account": account.account_number, "subject": "Hi"}, format="json")
    response = csr_api.patch(
        f"/api/contacts/{contact.data['id']}/", {"account": AccountFactory().account_number}, format="json"
    )
    assert response.status_code == 400 and "account" in response.data


def test_resolving_a_complaint_stamps_the_utilitys_today(csr_api):
    account = AccountFactory()
    opened = csr_api.post(
        "/api/complaints/", {"account": account.account_number, "category": "billing", "description": "Bill doubled"},
        format="json",
    )
    assert opened.status_code == 201 and opened.data["status"] == "open"
    resolved = csr_api.patch(
        f"/api/complaints/{opened.data['id']}/", {"status": "resolved", "resolution": "Misread corrected"},
        format="json",
    )
    assert resolved.status_code == 200
    toronto_today = timezone.localdate(timezone=zoneinfo.ZoneInfo("America/Toronto"))
    assert resolved.data["resolved_date"] == toronto_today.isoformat()
    assert Complaint.objects.get(pk=opened.data["id"]).resolution == "Misread corrected"
    unknown = csr_api.post(
        "/api/complaints/", {"account": account.account_number, "category": "weather", "description": "x"},
        format="json",
    )
    assert unknown.status_code == 400 and list(unknown.data) == ["category"]


# --- search ---------------------------------------------------------------------------

def test_search_finds_accounts_by_accented_name_and_says_how(csr_api):
    agreement = ServiceAgreementFactory(account__customer=CustomerFactory(first_name="Zoé", last_name="Lévesque"))
    AccountFactory(customer=CustomerFactory(first_name="Ann", last_name="Other"))
    response = csr_api.get("/api/search/", {"q": "levesque"})
    assert response.status_code == 200
    assert len(response.data["results"]) == 1
    hit = response.data["results"][0]
    assert hit["account_number"] == agreement.account.account_number
    assert hit["customer_name"] == "Zoé Lévesque" and hit["matched_on"] == "name"
    assert hit["service_address"] == agreement.service_point.premise.address_text()


def test_search_pages_with_next_and_previous_links(csr_api):
    numbers = sorted(AccountFactory(customer=CustomerFactory(first_name="Pat", last_name=f"Pager{i:02d}")).account_number
                     for i in range(5))
    first = csr_api.get("/api/search/", {"q": "pager", "kind": "name", "page_size": 2})
    assert first.status_code == 200
    assert (first.data["page"], first.data["page_size"], first.data["previous"]) == (1, 2, None)
    seen = [hit["account_number"] for hit in first.data["results"]]
    assert len(seen) == 2
    assert parse_qs(urlsplit(first.data["next"]).query) == {"q": ["pager"], "kind": ["name"], "page_size": ["2"], "page": ["2"]}
    page = first
    while page.data["next"]:
        page = csr_api.get(page.data["next"])
        assert page.status_code == 200 and page.data["previous"]
        seen += [hit["account_number"] for hit in page.data["results"]]
    assert page.data["page"] == 3 and len(page.data["results"]) == 1
    assert sorted(seen) == numbers  # every hit once, none lost between pages
    back = csr_api.get(page.data["previous"])
    assert back.data["page"] == 2
    assert csr_api.get(back.data["previous"]).data["previous"] is None


def test_search_page_past_the_end_is_404_and_past_the_paged_hits_is_400(csr_api):
    AccountFactory(customer=CustomerFactory(first_name="Only", last_name="Onepage"))
    assert csr_api.get("/api/search/", {"q": "onepage", "page": 2}).status_code == 404
    deep = csr_api.get("/api/search/", {"q": "onepage", "page": 11, "page_size": 100})
    assert deep.status_code == 400 and list(deep.data) == ["page"]


def test_search_limit_still_sets_the_page_size(csr_api):
    for i in range(3):
        AccountFactory(customer=CustomerFactory(first_name="Lim", last_name=f"Itted{i}"))
    response = csr_api.get("/api/search/", {"q": "itted", "limit": 2})
    assert response.data["page_size"] == 2 and len(response.data["results"]) == 2 and response.data["next"]


def test_search_rejects_unknown_kind_and_too_short_query(csr_api):
    response = csr_api.get("/api/search/", {"q": "a", "kind": "colour"})
    assert response.status_code == 400 and set(response.data) == {"q", "kind"}


# --- OpenAPI --------------------------------------------------------------------------

def test_openapi_document_lists_the_cis_paths(csr_api):
    response = csr_api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in [
        "/api/customers/", "/api/customers/{customer_number}/", "/api/accounts/{account_number}/move-out/",
        "/api/accounts/{account_number}/move-in/", "/api/agreements/", "/api/moves/{id}/cancel/",
        "/api/premises/{premise_number}/", "/api/service-points/{sp_number}/", "/api/contacts/", "/api/notes/",
        "/api/complaints/{id}/", "/api/search/",
    ]:
        assert path in paths, path
    assert "delete" not in paths["/api/agreements/{agreement_number}/"]
    move_in = paths["/api/accounts/{account_number}/move-in/"]["post"]
    assert move_in["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/MoveInInputRequest")
    assert move_in["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].endswith("/MoveResult")


def test_swagger_ui_renders(csr_api):
    response = csr_api.get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()
