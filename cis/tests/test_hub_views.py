"""The Customer Service Hub through Django's test client: search, the 360 page, the entries
on it, the move wizard, pending moves and who may see what."""
from __future__ import annotations

import datetime as dt
import zoneinfo
import re

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from cis import services
from cis.models import Account, Complaint, Customer, Move, Note, ServiceAgreement
from cis.tests.factories import (
    AccountFactory,
    CustomerFactory,
    PremiseFactory,
    ServiceAgreementFactory,
    ServicePointFactory,
)
from core.panels import _PANELS, AccountPanel, register_account_panel
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

DAY = dt.timedelta(days=1)


@pytest.fixture
def today() -> dt.date:
    # The views take today from the clock (timezone.localdate), so the tests build around it.
    return timezone.localdate(timezone=zoneinfo.ZoneInfo(settings.UTILIS_LOCAL_TIME_ZONE))


@pytest.fixture
def jose(today):
    """José Álvarez at 221 Baker Street, served on rate RES-TOU for over a year."""
    customer = CustomerFactory(
        first_name="José", last_name="Álvarez", phone="(416) 555-0199", email="jose.alvarez@example.test",
        id_type=Customer.IdType.DRIVERS_LICENCE, id_number="A1234-56789",
    )
    account = AccountFactory(account_number="7100000001", customer=customer, opened_date=today - 400 * DAY)
    premise = PremiseFactory(address_line1="221 Baker Street", city="Toronto", postal_code="M5V 2T6")
    sp = ServicePointFactory(sp_number="SP-BAKER-E", premise=premise)
    agreement = ServiceAgreementFactory(
        agreement_number="SA-JOSE-1", account=account, service_point=sp, rate_code="RES-TOU", start_date=today - 400 * DAY,
    )
    return agreement


@pytest.fixture
def csr_client(client, csr):
    client.force_login(csr)
    return client


def text_of(response) -> str:
    """The page's text with tags removed and whitespace folded, as a reader sees it."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("&#x27;", "'").replace("&quot;", '"').split())


# --- search -----------------------------------------------------------------------------


def test_search_by_partial_name_ignores_accents(csr_client, jose):
    response = csr_client.get(reverse("cis:search"), {"q": "jose alv"})
    page = text_of(response)
    assert response.status_code == 200
    assert "7100000001" in page and "José Álvarez" in page
    assert "221 Baker Street, Toronto, ON M5V 2T6" in page  # the service address column
    assert "Customer name" in page  # what it matched on


def test_live_results_partial_finds_by_address_without_the_page_around_it(csr_client, jose):
    response = csr_client.get(reverse("cis:search-results"), {"q": "221 baker"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and "<nav" not in html
    assert reverse("cis:account", args=["7100000001"]) in html
    assert "Service address" in text_of(response)


def test_search_by_account_number_prefix_links_to_the_360_page(csr_client, jose):
    AccountFactory(account_number="7200000001")
    response = csr_client.get(reverse("cis:search"), {"q": "71000"})
    html = response.content.decode()
    assert f'href="{reverse("cis:account", args=["7100000001"])}"' in html
    assert "7200000001" not in html


def test_search_by_phone_in_another_format(csr_client, jose):
    response = csr_client.get(reverse("cis:search"), {"q": "1-416-555-0199"})
    assert "7100000001" in text_of(response)


def test_search_status_filter_leaves_out_closed_accounts(csr_client, jose):
    AccountFactory(account_number="7100000002", customer=jose.account.customer, status=Account.Status.CLOSED)
    page = text_of(csr_client.get(reverse("cis:search"), {"q": "jose", "kind": "name", "status": "active"}))
    assert "7100000001" in page and "7100000002" not in page


def test_search_without_a_match_says_so(csr_client, jose):
    page = text_of(csr_client.get(reverse("cis:search"), {"q": "zzyzx"}))
    assert "No account matches “zzyzx”." in page


# --- account 360 ------------------------------------------------------------------------


def test_360_page_shows_customer_agreements_current_one_and_audit_entries(csr_client, csr, jose):
    customer = jose.account.customer
    services.customer_update(customer=customer, phone="416-555-0100", user=csr)
    response = csr_client.get(reverse("cis:account", args=["7100000001"]))
    page = text_of(response)
    assert response.status_code == 200
    assert "Driver's licence A1234-56789" in page
    assert "SA-JOSE-1 Current" in page and "RES-TOU" in page
    assert "SP-BAKER-E" in page
    # The audit trail names who changed what, before -> after.
    assert "phone : (416) 555-0199 → 416-555-0100" in page
    # ... by the customer's number, not its database id (issue 9)
    assert f"csr1 Customer {customer.customer_number} update · customer_update" in page


def test_360_page_of_unknown_account_is_404(csr_client):
    assert csr_client.get(reverse("cis:account", args=["0000000404"])).status_code == 404


def test_360_page_shows_parent_and_child_accounts(csr_client, jose):
    parent = AccountFactory(account_number="7000000000")
    Account.objects.filter(pk=jose.account.pk).update(parent=parent)
    page = text_of(csr_client.get(reverse("cis:account", args=["7000000000"])))
    assert "Child accounts 7100000001 José Álvarez" in page


def test_adding_a_note_writes_it_and_shows_it(csr_client, csr, jose):
    response = csr_client.post(
        reverse("cis:note-add", args=["7100000001"]), {"note-text": "Prefers calls after 5 pm", "note-pinned": "on"}, follow=True
    )
    note = Note.objects.get()
    assert (note.text, note.pinned, note.created_by) == ("Prefers calls after 5 pm", True, csr)
    page = text_of(response)
    assert "Note added." in page and "Pinned Prefers calls after 5 pm" in page


def test_an_empty_note_is_refused_next_to_the_field(csr_client, jose):
    response = csr_client.post(reverse("cis:note-add", args=["7100000001"]), {"note-text": ""})
    assert response.status_code == 400
    assert '<ul class="errors" id="id_note-text_errors"><li>This field is required.</li></ul>' in response.content.decode()
    assert not Note.objects.exists()


def test_logging_a_contact_with_a_follow_up(csr_client, jose, today):
    csr_client.post(
        reverse("cis:contact-log", args=["7100000001"]),
        {"contact-channel": "phone", "contact-subject": "High bill", "contact-details": "Asked about March",
         "contact-status": "open", "contact-follow_up_date": (today + 3 * DAY).isoformat()},
    )
    contact = jose.account.contacts.get()
    assert (contact.subject, contact.status, contact.follow_up_date) == ("High bill", "open", today + 3 * DAY)


def test_opening_and_resolving_a_complaint_sets_the_resolved_date(csr_client, jose, today):
    csr_client.post(
        reverse("cis:complaint-open", args=["7100000001"]),
        {"complaint-category": "billing", "complaint-description": "Charged twice"},
    )
    complaint = Complaint.objects.get()
    assert complaint.status == Complaint.Status.OPEN
    response = csr_client.post(
        reverse("cis:complaint-update", args=["7100000001", complaint.pk]),
        {f"complaint-{complaint.pk}-status": "resolved", f"complaint-{complaint.pk}-resolution": "Refunded"},
        follow=True,
    )
    complaint.refresh_from_db()
    assert (complaint.status, complaint.resolution, complaint.resolved_date) == ("resolved", "Refunded", today)
    assert f"Complaint {complaint.pk} is now resolved." in text_of(response)


def test_a_complaint_with_an_unknown_status_is_refused_and_left_as_stored(csr_client, jose, csr):
    complaint = services.complaint_open(account=jose.account, category="meter", description="Noisy", user=csr)
    response = csr_client.post(
        reverse("cis:complaint-update", args=["7100000001", complaint.pk]), {f"complaint-{complaint.pk}-status": "lost"}
    )
    assert response.status_code == 400
    assert "Select a valid choice. lost is not one of the available choices." in text_of(response)
    complaint.refresh_from_db()
    assert complaint.status == "open"


def test_registered_panels_render_with_their_context_and_respect_roles(csr_client, jose):
    register_account_panel(AccountPanel(
        key="test_balance", title="Balance", template="service_orders/panels/account_orders.html",
        context=lambda request, account: {"orders": []}, order=1,
    ))
    register_account_panel(AccountPanel(
        key="test_hidden", title="Hidden by its context", template="service_orders/panels/account_orders.html",
        context=lambda request, account: None,
    ))
    register_account_panel(AccountPanel(
        key="test_billing_only", title="Billing only", template="service_orders/panels/account_orders.html",
        context=lambda request, account: {"orders": []}, roles=(Role.BILLING,),
    ))
    try:
        html = csr_client.get(reverse("cis:account", args=["7100000001"])).content.decode()
    finally:
        for key in ("test_balance", "test_hidden", "test_billing_only"):
            _PANELS.pop(key)
    assert 'id="panel-test_balance"' in html
    assert "Hidden by its context" not in html
    assert "Billing only" not in html
    assert 'id="panel-service_orders"' in html  # cis's own panel, registered in CisConfig.ready


# --- move-out wizard ----------------------------------------------------------------------


def test_move_out_confirmation_writes_nothing_then_performing_writes(csr_client, jose, today):
    url = reverse("cis:move-out", args=["7100000001"])
    review = csr_client.post(url, {"step": "review", "agreement": "SA-JOSE-1", "move_out_date": today.isoformat()})
    page = text_of(review)
    yesterday = today - DAY
    assert (
        f"Agreement SA-JOSE-1 of account 7100000001 (José Álvarez) at SP-BAKER-E, 221 Baker Street, Toronto, ON M5V 2T6 "
        f"will be stopped, last day served {yesterday:%Y-%m-%d}." in page
    )
    assert f"A final read is ordered for {today:%Y-%m-%d}." in page
    assert f"Account 7100000001 will be closed on {today:%Y-%m-%d}: no service is left on it." in page
    assert not Move.objects.exists() and not ServiceOrder.objects.exists()
    jose.refresh_from_db()
    assert jose.end_date is None

    state = re.search(r'name="state" value="([^"]+)"', review.content.decode()).group(1)
    done = csr_client.post(url, {"step": "perform", "state": state}, follow=True)
    move = Move.objects.get()
    jose.refresh_from_db()
    assert jose.end_date == today
    assert move.status == Move.Status.COMPLETED and move.requested_by.username == "csr1"
    assert ServiceOrder.objects.get().order_type == "final_read"
    assert done.redirect_chain[-1][0] == reverse("cis:move-detail", args=[move.pk])
    assert f"last day served {yesterday:%Y-%m-%d}" in text_of(done)


def test_future_move_out_is_described_as_pending_and_waits(csr_client, jose, today):
    url = reverse("cis:move-out", args=["7100000001"])
    later = today + 10 * DAY
    review = csr_client.post(url, {"step": "review", "agreement": "SA-JOSE-1", "move_out_date": later.isoformat()})
    assert f"This move is future-dated: it will wait as pending until {later:%Y-%m-%d}" in text_of(review)
    state = re.search(r'name="state" value="([^"]+)"', review.content.decode()).group(1)
    csr_client.post(url, {"step": "perform", "state": state})
    move = Move.objects.get()
    jose.refresh_from_db()
    assert move.status == Move.Status.PENDING and jose.end_date is None

    pending = text_of(csr_client.get(reverse("cis:pending-moves"), {"kind": "move_out"}))
    assert f"{later:%Y-%m-%d} Move out" in pending and "7100000001 José Álvarez SP-BAKER-E" in pending
    empty = text_of(csr_client.get(reverse("cis:pending-moves"), {"date_to": (later - DAY).isoformat()}))
    assert "No pending moves match these filters." in empty

    confirm = csr_client.get(reverse("cis:move-cancel", args=[move.pk]))
    assert f"on {later:%Y-%m-%d} will be cancelled" in text_of(confirm)
    move.refresh_from_db()
    assert move.status == Move.Status.PENDING  # the confirmation page itself changes nothing
    csr_client.post(reverse("cis:move-cancel", args=[move.pk]))
    move.refresh_from_db()
    assert move.status == Move.Status.CANCELLED
    assert ServiceOrder.objects.get().status == "cancelled"


def test_move_out_before_the_account_opened_is_refused_next_to_the_date(csr_client, jose, today):
    opened = today - 400 * DAY
    response = csr_client.post(
        reverse("cis:move-out", args=["7100000001"]),
        {"step": "review", "agreement": "SA-JOSE-1", "move_out_date": (opened - DAY).isoformat()},
    )
    html = response.content.decode()
    assert (
        f'<ul class="errors" id="id_move_out_date_errors"><li>The move-out date is before the account was opened '
        f"({opened:%Y-%m-%d}).</li></ul>" in html
    )
    assert "This is what will happen" not in html
    assert not Move.objects.exists()


def test_move_out_with_a_bad_date_is_refused(csr_client, jose):
    response = csr_client.post(
        reverse("cis:move-out", args=["7100000001"]), {"step": "review", "agreement": "SA-JOSE-1", "move_out_date": "2026-02-30"}
    )
    assert '<ul class="errors" id="id_move_out_date_errors"><li>Enter a valid date.</li></ul>' in response.content.decode()


def test_change_something_returns_to_the_first_step_with_the_answers_kept(csr_client, jose, today):
    url = reverse("cis:move-out", args=["7100000001"])
    later = today + 7 * DAY
    review = csr_client.post(url, {"step": "review", "agreement": "SA-JOSE-1", "move_out_date": later.isoformat()})
    state = re.search(r'name="state" value="([^"]+)"', review.content.decode()).group(1)
    html = csr_client.post(url, {"step": "edit", "state": state}).content.decode()
    assert f'name="move_out_date" value="{later:%Y-%m-%d}"' in html
    assert re.search(r'value="SA-JOSE-1"[^>]*checked', html)
    assert not Move.objects.exists()


def test_an_altered_confirmation_is_refused_and_nothing_is_written(csr_client, jose, today):
    url = reverse("cis:move-out", args=["7100000001"])
    review = csr_client.post(url, {"step": "review", "agreement": "SA-JOSE-1", "move_out_date": today.isoformat()})
    state = re.search(r'name="state" value="([^"]+)"', review.content.decode()).group(1)
    response = csr_client.post(url, {"step": "perform", "state": state[:-2] + "xx"})
    assert "The confirmation expired or was changed." in text_of(response)
    assert not Move.objects.exists()


def test_a_confirmation_cannot_be_replayed_by_another_user(client, csr, make_user, jose, today):
    client.force_login(csr)
    url = reverse("cis:move-out", args=["7100000001"])
    review = client.post(url, {"step": "review", "agreement": "SA-JOSE-1", "move_out_date": today.isoformat()})
    state = re.search(r'name="state" value="([^"]+)"', review.content.decode()).group(1)
    client.force_login(make_user("csr2", Role.CSR))
    client.post(url, {"step": "perform", "state": state})
    assert not Move.objects.exists()


# --- move-in wizard -----------------------------------------------------------------------


NEW_APPLICANT = {
    "applicant": "new",
    "applicant-kind": "person",
    "applicant-first_name": "Jane",
    "applicant-last_name": "Doe",
    "applicant-id_type": "passport",
    "applicant-id_number": "P998877",
    "applicant-phone": "647-555-0142",
    "applicant-email": "Jane.Doe@Example.test",
    "applicant-mailing_address_line1": "9 Elm Road",
    "applicant-mailing_city": "Toronto",
    "applicant-mailing_region": "ON",
    "applicant-mailing_postal_code": "M4E 1A1",
    "applicant-preferred_language": "en",
    "applicant-preferred_contact_method": "email",
}


def test_move_in_finder_lists_service_points_by_address_with_who_is_there(csr_client, jose):
    page = text_of(csr_client.get(reverse("cis:move-sp-candidates"), {"sp_query": "baker st"}))
    assert "SP-BAKER-E Electric · 221 Baker Street" in page
    assert "today served by account 7100000001 (José Álvarez), rate RES-TOU" in page


def test_move_in_of_a_new_applicant_confirms_first_then_creates_customer_account_and_agreement(csr_client, jose, today):
    data = {"step": "review", "service_point": "SP-BAKER-E", "move_in_date": today.isoformat(), "rate_code": "res", **NEW_APPLICANT}
    review = csr_client.post(reverse("cis:move-in"), data)
    page = text_of(review)
    yesterday = today - DAY
    assert (
        f"A new customer, Jane Doe (person), and a new account opened {today:%Y-%m-%d} will be created" in page
    )
    assert (
        f"Agreement SA-JOSE-1 of account 7100000001 (José Álvarez) will be stopped, last day served {yesterday:%Y-%m-%d}" in page
    )
    assert (
        f"A new agreement for the new account (Jane Doe) starts {today:%Y-%m-%d} at SP-BAKER-E (Electric), "
        f"221 Baker Street, Toronto, ON M5V 2T6, on rate RES." in page
    )
    assert f"An initial read is ordered for {today:%Y-%m-%d}." in page
    assert Customer.objects.count() == 1 and Account.objects.count() == 1 and not Move.objects.exists()

    state = re.search(r'name="state" value="([^"]+)"', review.content.decode()).group(1)
    done = csr_client.post(reverse("cis:move-in"), {"step": "perform", "state": state}, follow=True)
    jane = Customer.objects.get(last_name="Doe")
    assert (jane.email, jane.id_type, jane.phone_search) == ("jane.doe@example.test", "passport", "6475550142")
    account = jane.accounts.get()
    assert (account.status, account.opened_date, account.billing_address_line1) == ("active", today, "9 Elm Road")
    new_agreement = ServiceAgreement.objects.get(account=account)
    assert (new_agreement.start_date, new_agreement.end_date, new_agreement.rate_code) == (today, None, "RES")
    jose.refresh_from_db()
    assert jose.end_date == today
    assert sorted(ServiceOrder.objects.values_list("order_type", flat=True)) == ["final_read", "initial_read"]
    page = text_of(done)
    assert f"New customer {jane.customer_number} and account {account.account_number} created." in page
    assert "Move clearing house" in page


def test_move_in_of_an_existing_account_on_a_vacant_service_point(csr_client, today):
    account = AccountFactory(account_number="7300000001", opened_date=today - 30 * DAY)
    ServicePointFactory(sp_number="SP-VACANT", premise=PremiseFactory(address_line1="5 Quiet Lane"))
    data = {"step": "review", "service_point": "SP-VACANT", "move_in_date": today.isoformat(), "rate_code": "RES",
            "applicant": "existing", "account_number": "7300000001"}
    review = csr_client.post(reverse("cis:move-in"), data)
    assert "will be stopped" not in text_of(review)
    state = re.search(r'name="state" value="([^"]+)"', review.content.decode()).group(1)
    csr_client.post(reverse("cis:move-in"), {"step": "perform", "state": state})
    assert ServiceAgreement.objects.get(account=account).service_point.sp_number == "SP-VACANT"
    assert Customer.objects.count() == 1


def test_move_in_errors_are_shown_next_to_their_fields_and_nothing_is_written(csr_client, jose, today):
    data = {"step": "review", "service_point": "SP-NOWHERE", "move_in_date": today.isoformat(), "rate_code": "",
            "applicant": "existing", "account_number": "0000000999"}
    html = csr_client.post(reverse("cis:move-in"), data).content.decode()
    assert '<ul class="errors" id="id_service_point_errors"><li>There is no service point SP-NOWHERE.</li></ul>' in html
    assert '<ul class="errors" id="id_account_number_errors"><li>There is no account 0000000999.</li></ul>' in html
    assert '<ul class="errors" id="id_rate_code_errors"><li>This field is required.</li></ul>' in html
    assert not Move.objects.exists()


def test_a_refused_move_in_lists_the_service_points_found_before_and_asks_to_choose_one(csr_client, jose, today):
    data = {"step": "review", "sp_query": "baker", "move_in_date": today.isoformat(), "rate_code": "RES",
            "applicant": "existing", "account_number": "7100000001"}
    response = csr_client.post(reverse("cis:move-in"), data)
    html = response.content.decode()
    assert '<ul class="errors" id="id_service_point_errors"><li>Choose a service point: find it by its address or number first.</li></ul>' in html
    assert 'id="sp-SP-BAKER-E" value="SP-BAKER-E"' in html
    assert not Move.objects.exists()


def test_moving_an_account_in_where_it_is_already_served_is_refused(csr_client, jose, today):
    data = {"step": "review", "service_point": "SP-BAKER-E", "move_in_date": today.isoformat(), "rate_code": "RES",
            "applicant": "existing", "account_number": "7100000001"}
    html = csr_client.post(reverse("cis:move-in"), data).content.decode()
    assert (
        '<ul class="errors" id="id_account_number_errors"><li>Account 7100000001 already has service at SP-BAKER-E '
        f"on {today:%Y-%m-%d}.</li></ul>" in html
    )


def test_a_new_applicant_person_needs_a_last_name(csr_client, jose, today):
    data = {"step": "review", "service_point": "SP-BAKER-E", "move_in_date": today.isoformat(), "rate_code": "RES",
            **NEW_APPLICANT, "applicant-last_name": ""}
    response = csr_client.post(reverse("cis:move-in"), data)
    html = response.content.decode()
    assert '<ul class="errors" id="id_applicant-last_name_errors"><li>A person needs a last name.</li></ul>' in html
    assert "Please correct the new applicant's details marked below." in text_of(response)
    assert Customer.objects.count() == 1


def test_move_in_behind_a_later_agreement_is_refused_with_its_number(csr_client, today):
    later = ServiceAgreementFactory(agreement_number="SA-LATER", start_date=today + 20 * DAY)
    data = {"step": "review", "service_point": later.service_point.sp_number, "move_in_date": today.isoformat(),
            "rate_code": "RES", "applicant": "existing", "account_number": AccountFactory().account_number}
    html = csr_client.post(reverse("cis:move-in"), data).content.decode()
    assert (
        f"Agreement SA-LATER starts at {later.service_point.sp_number} on {today + 20 * DAY:%Y-%m-%d}, after this date; "
        "change or cancel it first." in html
    )


def test_a_move_refused_by_the_service_at_perform_time_rolls_back_the_new_applicant(csr_client, jose, today):
    data = {"step": "review", "service_point": "SP-BAKER-E", "move_in_date": today.isoformat(), "rate_code": "RES", **NEW_APPLICANT}
    review = csr_client.post(reverse("cis:move-in"), data)
    state = re.search(r'name="state" value="([^"]+)"', review.content.decode()).group(1)
    # Between confirmation and performing, someone retires the service point.
    jose.service_point.status = "retired"
    jose.service_point.save()
    response = csr_client.post(reverse("cis:move-in"), {"step": "perform", "state": state})
    assert "Service point SP-BAKER-E is retired." in text_of(response)
    assert Customer.objects.count() == 1 and Account.objects.count() == 1 and not Move.objects.exists()


# --- who may see what ---------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.FIELD_CREW])
def test_customer_and_field_crew_users_get_403(client, make_user, jose, role):
    client.force_login(make_user("someone", role))
    for url in (reverse("cis:search"), reverse("cis:account", args=["7100000001"]), reverse("cis:pending-moves"), reverse("cis:move-in")):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "Your role does not allow this page." in text_of(response)


def test_anonymous_visitors_are_sent_to_login(client, jose):
    url = reverse("cis:account", args=["7100000001"])
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def test_billing_staff_read_the_360_page_but_cannot_write(client, billing_user, jose):
    client.force_login(billing_user)
    response = client.get(reverse("cis:account", args=["7100000001"]))
    assert response.status_code == 200
    assert "Add a note" not in text_of(response) and "Move out" not in text_of(response)
    assert client.post(reverse("cis:note-add", args=["7100000001"]), {"note-text": "x"}).status_code == 403
    assert client.get(reverse("cis:move-out", args=["7100000001"])).status_code == 403
    assert not Note.objects.exists()


def test_posts_need_a_csrf_token(jose, csr):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(csr)
    assert strict.post(reverse("cis:note-add", args=["7100000001"]), {"note-text": "hello"}).status_code == 403
    assert not Note.objects.exists()


def test_navigation_shows_links_by_role(client, make_user):
    client.force_login(make_user("meterperson", Role.METERING))
    html = client.get(reverse("cis:search")).content.decode()
    assert 'href="/meters/"' in html and 'href="/billing/"' not in html
    assert 'action="/accounts/logout/"' in html
