"""Reference codes that do not exist are refused (400 / a field error naming the value), in the
API and in the CSR hub's move-in wizard; and every account gets a bill cycle (chosen, the
UTILIS_DEFAULT_BILL_CYCLE setting, or the cycle of the service point's read route)."""
from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from billing.models import BillCycle, RateSchedule
from cis import services
from cis.models import Account
from cis.tests.factories import AccountFactory, CustomerFactory, ServiceAgreementFactory, ServicePointFactory

pytestmark = pytest.mark.django_db

APPLICANT = {
    "applicant": "new", "applicant-kind": "person", "applicant-first_name": "Ana", "applicant-last_name": "Lima",
    "applicant-phone": "647-555-0100", "applicant-mailing_address_line1": "3 Oak Road",
    "applicant-mailing_city": "Toronto", "applicant-mailing_region": "ON", "applicant-mailing_postal_code": "M4E 1A1",
    "applicant-preferred_language": "en", "applicant-preferred_contact_method": "phone",
}


@pytest.fixture(autouse=True)
def codes(db, settings):
    RateSchedule.objects.create(code="RES", name="Residential")
    BillCycle.objects.create(code="C04", name="Cycle 4")
    BillCycle.objects.create(code="C07", name="Cycle 7")
    BillCycle.objects.create(code="C99", name="Retired", active=False)
    settings.UTILIS_DEFAULT_BILL_CYCLE = ""


@pytest.fixture
def csr_api(api_for, csr):
    return api_for(csr)


@pytest.fixture
def csr_client(client, csr):
    client.force_login(csr)
    return client


def local_today() -> dt.date:
    return timezone.localdate(timezone=zoneinfo.ZoneInfo(settings.UTILIS_LOCAL_TIME_ZONE))


# --- API -------------------------------------------------------------------------------

def test_agreement_with_an_unknown_rate_code_is_400_naming_it(csr_api):
    body = {"account": AccountFactory().account_number, "service_point": ServicePointFactory().sp_number,
            "rate_code": "NOPE", "start_date": "2026-01-01"}
    response = csr_api.post("/api/agreements/", body, format="json")
    assert response.status_code == 400
    assert response.json() == {"rate_code": ["There is no rate code 'NOPE'."]}
    assert csr_api.post("/api/agreements/", {**body, "rate_code": "RES"}, format="json").status_code == 201


def test_agreement_with_an_unknown_service_point_is_400_naming_it(csr_api):
    body = {"account": AccountFactory().account_number, "service_point": "SP-GHOST", "rate_code": "RES",
            "start_date": "2026-01-01"}
    response = csr_api.post("/api/agreements/", body, format="json")
    assert response.status_code == 400 and "SP-GHOST" in response.json()["service_point"][0]


def test_move_in_with_an_unknown_rate_code_is_400(csr_api):
    account = AccountFactory(bill_cycle_code="C04")
    body = {"service_point": ServicePointFactory().sp_number, "move_in_date": "2026-01-01", "rate_code": "XX"}
    response = csr_api.post(f"/api/accounts/{account.account_number}/move-in/", body, format="json")
    assert response.status_code == 400 and response.json() == {"rate_code": ["There is no rate code 'XX'."]}


def test_account_with_an_unknown_or_inactive_bill_cycle_is_400(csr_api):
    customer = CustomerFactory()
    for code in ("C00", "C99"):
        response = csr_api.post("/api/accounts/", {"customer": customer.customer_number, "opened_date": "2026-01-01",
                                                   "bill_cycle_code": code}, format="json")
        assert response.status_code == 400 and response.json() == {"bill_cycle_code": [f"There is no bill cycle '{code}'."]}
    account = AccountFactory(bill_cycle_code="C04")
    patched = csr_api.patch(f"/api/accounts/{account.account_number}/", {"bill_cycle_code": "C00"}, format="json")
    assert patched.status_code == 400
    emptied = csr_api.patch(f"/api/accounts/{account.account_number}/", {"bill_cycle_code": ""}, format="json")
    assert emptied.status_code == 400


def test_account_without_a_cycle_takes_the_default_or_is_refused(csr_api, settings):
    customer = CustomerFactory()
    body = {"customer": customer.customer_number, "opened_date": "2026-01-01"}
    refused = csr_api.post("/api/accounts/", body, format="json")
    assert refused.status_code == 400 and refused.json() == {"bill_cycle_code": [services.NO_BILL_CYCLE_MESSAGE]}
    settings.UTILIS_DEFAULT_BILL_CYCLE = "C07"
    created = csr_api.post("/api/accounts/", body, format="json")
    assert created.status_code == 201 and created.json()["bill_cycle_code"] == "C07"


def test_api_move_in_gives_an_account_without_a_cycle_its_routes_cycle(csr_api):
    neighbour = ServicePointFactory(route="R-42")
    ServiceAgreementFactory(account=AccountFactory(bill_cycle_code="C07"), service_point=neighbour)
    account = AccountFactory(bill_cycle_code="")
    sp = ServicePointFactory(route="R-42")
    response = csr_api.post(f"/api/accounts/{account.account_number}/move-in/",
                            {"service_point": sp.sp_number, "move_in_date": "2026-01-01", "rate_code": "RES"}, format="json")
    assert response.status_code == 201, response.json()
    account.refresh_from_db()
    assert account.bill_cycle_code == "C07"


def test_api_move_in_without_any_cycle_is_refused(csr_api):
    account = AccountFactory(bill_cycle_code="")
    sp = ServicePointFactory(route="EMPTY-ROUTE")
    response = csr_api.post(f"/api/accounts/{account.account_number}/move-in/",
                            {"service_point": sp.sp_number, "move_in_date": "2026-01-01", "rate_code": "RES"}, format="json")
    assert response.status_code == 400 and "bill_cycle_code" in response.json()
    chosen = csr_api.post(f"/api/accounts/{account.account_number}/move-in/",
                          {"service_point": sp.sp_number, "move_in_date": "2026-01-01", "rate_code": "RES",
                           "bill_cycle_code": "C04"}, format="json")
    assert chosen.status_code == 201
    account.refresh_from_db()
    assert account.bill_cycle_code == "C04"


# --- the move-in wizard ------------------------------------------------------------------

def _review(csr_client, **data):
    return csr_client.post(reverse("cis:move-in"), {"step": "review", "move_in_date": local_today().isoformat(), **data})


def test_wizard_refuses_an_unknown_rate_code_with_a_field_error(csr_client):
    sp = ServicePointFactory()
    html = _review(csr_client, service_point=sp.sp_number, rate_code="nope", bill_cycle_code="C04", **APPLICANT).content.decode()
    assert "There is no rate code &#x27;NOPE&#x27;." in html and 'id="id_rate_code_errors"' in html


def test_wizard_refuses_an_unknown_bill_cycle(csr_client):
    sp = ServicePointFactory()
    html = _review(csr_client, service_point=sp.sp_number, rate_code="RES", bill_cycle_code="C55", **APPLICANT).content.decode()
    assert "There is no bill cycle &#x27;C55&#x27;." in html


def test_wizard_without_a_default_cycle_asks_for_one(csr_client):
    sp = ServicePointFactory(route="LONELY")
    html = _review(csr_client, service_point=sp.sp_number, rate_code="RES", **APPLICANT).content.decode()
    assert 'id="id_bill_cycle_code_errors"' in html and "Choose a bill cycle" in html


def test_wizard_new_account_gets_the_cycle_of_the_route(csr_client):
    neighbour = ServicePointFactory(route="R-9")
    ServiceAgreementFactory(account=AccountFactory(bill_cycle_code="C07"), service_point=neighbour)
    sp = ServicePointFactory(route="R-9")
    review = _review(csr_client, service_point=sp.sp_number, rate_code="res", **APPLICANT)
    html = review.content.decode()
    assert "will be created in bill cycle C07" in html
    state = re.search(r'name="state" value="([^"]+)"', html)
    assert state is not None
    csr_client.post(reverse("cis:move-in"), {"step": "perform", "state": state.group(1)})
    account = Account.objects.get(customer__last_name="Lima")
    assert account.bill_cycle_code == "C07"


def test_wizard_new_account_takes_the_chosen_cycle(csr_client, settings):
    settings.UTILIS_DEFAULT_BILL_CYCLE = "C07"
    sp = ServicePointFactory()
    html = _review(csr_client, service_point=sp.sp_number, rate_code="RES", bill_cycle_code="c04", **APPLICANT).content.decode()
    state = re.search(r'name="state" value="([^"]+)"', html)
    assert state is not None, html
    csr_client.post(reverse("cis:move-in"), {"step": "perform", "state": state.group(1)})
    assert Account.objects.get(customer__last_name="Lima").bill_cycle_code == "C04"
