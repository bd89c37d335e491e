"""The role data matrix: what each role may read, proved with real requests, and every named
URL of the project held to a rule.

Two tables:
- `MAY_READ` states, per role, what it reads through the REST API and the staff hubs
  (customers and their government ID, case notes, accounts, bills, meters); the tests make the
  requests and prove that what is not allowed is refused (401/403, or the login page) or masked
  (core.privacy, "•••• 1234"), and that a refused value is nowhere in the answer.
- `URL_RULES` names, for every named URL (Django's resolver walked; the admin site aside, it
  has its own tests below), which roles pass its role check. A URL added without a rule here
  fails `test_every_named_url_has_a_rule`; a rule whose URL went away fails it too.
Administrators pass every role check (core.permissions), so each rule includes them.
"""
from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from knox.models import get_token_model
from rest_framework.test import APIClient

from cis import services
from cis.tests.factories import AccountFactory, CustomerFactory
from core import privacy
from core.roles import Role

pytestmark = pytest.mark.django_db

ANONYMOUS = "anonymous"
ROLES = (Role.CSR, Role.BILLING, Role.METERING, Role.FIELD_CREW, Role.ADMIN, Role.API_CLIENT, Role.CUSTOMER, ANONYMOUS)

FULL, MASKED, YES, NO = "full", "masked", "yes", "no"

# --- what each role reads --------------------------------------------------------------
# api_* through the REST API with the role's token; hub_* through the staff pages signed in.
# "id" is the customer's government ID number; "case notes" are notes, complaints and contacts.
COLUMNS = (
    "api_customer", "api_id", "api_search_by_id", "api_notes", "api_complaints", "api_contacts",
    "api_accounts", "api_meters",
    "hub_account", "hub_id", "hub_search_by_id", "hub_case_notes", "hub_bills", "hub_meters",
)
MAY_READ: dict[str, tuple[str, ...]] = {
    #                 api: cust id      by-id notes cmpl  cont  acct  meter  hub: acct id      by-id notes bills meter
    Role.CSR:           (YES, FULL,   YES,  YES,  YES,  YES,  YES,  YES,        YES,  FULL,   YES,  YES,  YES,  YES),
    Role.BILLING:       (YES, FULL,   YES,  YES,  YES,  YES,  YES,  YES,        YES,  FULL,   YES,  YES,  YES,  YES),
    Role.METERING:      (YES, MASKED, NO,   NO,   NO,   NO,   YES,  YES,        YES,  MASKED, NO,   NO,   NO,   YES),
    Role.FIELD_CREW:    (NO,  NO,     NO,   NO,   NO,   NO,   NO,   NO,         NO,   NO,     NO,   NO,   NO,   NO),
    Role.ADMIN:         (YES, FULL,   YES,  YES,  YES,  YES,  YES,  YES,        YES,  FULL,   YES,  YES,  YES,  YES),
    Role.API_CLIENT:    (YES, MASKED, NO,   YES,  YES,  YES,  YES,  YES,        NO,   NO,     NO,   NO,   NO,   NO),
    Role.CUSTOMER:      (NO,  NO,     NO,   NO,   NO,   NO,   NO,   NO,         NO,   NO,     NO,   NO,   NO,   NO),
    ANONYMOUS:          (NO,  NO,     NO,   NO,   NO,   NO,   NO,   NO,         NO,   NO,     NO,   NO,   NO,   NO),
}

ID_NUMBER = "A1234-56789-01234"
NOTE_TEXT = "Dog in the yard, knock loudly"
COMPLAINT_TEXT = "Rude technician on the 3rd"
CONTACT_SUBJECT = "Asked about a payment arrangement"


def reads(role: str) -> dict[str, str]:
    return dict(zip(COLUMNS, MAY_READ[role], strict=True))


def test_the_table_covers_every_role_and_agrees_with_core_privacy():
    assert set(MAY_READ) == {*Role, ANONYMOUS} and set(ROLES) == set(MAY_READ)
    for role in Role:
        row = reads(role)
        if row["api_id"] != NO:
            assert (row["api_id"] == FULL) is (role in privacy.FULL_ACCESS[privacy.PersonalData.GOVERNMENT_ID]), role
        if row["hub_id"] != NO:
            assert (row["hub_id"] == FULL) is (role in privacy.FULL_ACCESS[privacy.PersonalData.GOVERNMENT_ID]), role
        if row["api_customer"] == YES:
            assert (row["api_notes"] == YES) is (role in privacy.FULL_ACCESS[privacy.PersonalData.CASE_NOTES]), role


@pytest.fixture
def account():
    customer = CustomerFactory(first_name="Ida", last_name="Private", id_type="drivers_licence", id_number=ID_NUMBER)
    account = AccountFactory(customer=customer)
    services.note_add(account=account, text=NOTE_TEXT)
    services.complaint_open(account=account, category="staff", description=COMPLAINT_TEXT)
    services.contact_log(account=account, subject=CONTACT_SUBJECT)
    return account


def _user(role: str):
    """A user holding `role` (None for an anonymous visitor), without a password: no hashing,
    the clients sign in directly."""
    if role == ANONYMOUS:
        return None
    user = get_user_model().objects.create_user(username=f"matrix-{role}", password=None)
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


@pytest.fixture
def web(db):
    def signed_in(role: str) -> Client:
        client = Client(raise_request_exception=False)
        user = _user(role)
        if user is not None:
            client.force_login(user)
        return client
    return signed_in


def _refused(response, *, api: bool) -> bool:
    if api:
        return response.status_code in (401, 403)
    return response.status_code == 403 or (response.status_code == 302 and "/accounts/login/" in response["Location"])


@pytest.mark.parametrize("role", ROLES)
def test_what_each_role_reads_through_the_api(role, account, api_for):
    row = reads(role)
    client = api_for(_user(role))
    number = account.account_number
    customer = client.get(f"/api/customers/{account.customer.customer_number}/")
    listed = client.get("/api/customers/")
    if row["api_customer"] == YES:
        assert customer.status_code == 200 and listed.status_code == 200
        expected = ID_NUMBER if row["api_id"] == FULL else privacy.mask(ID_NUMBER)
        assert customer.json()["id_number"] == expected
        assert [c["id_number"] for c in listed.json()["results"]] == [expected]
    else:
        assert _refused(customer, api=True) and _refused(listed, api=True)
    if row["api_id"] != FULL:
        assert ID_NUMBER.encode() not in customer.content + listed.content

    by_id = client.get("/api/search/", {"q": ID_NUMBER, "kind": "id_number"})
    guessed = client.get("/api/search/", {"q": ID_NUMBER})
    if row["api_search_by_id"] == YES:
        assert [h["account_number"] for h in by_id.json()["results"]] == [number]
        assert guessed.json()["results"][0]["matched_on"] == "id_number"
    else:
        assert _refused(by_id, api=True)
        assert guessed.status_code in (200, 401, 403)
        assert number.encode() not in guessed.content  # the guess confirms nothing

    for column, path, secret in [
        ("api_notes", "/api/notes/", NOTE_TEXT),
        ("api_complaints", "/api/complaints/", COMPLAINT_TEXT),
        ("api_contacts", "/api/contacts/", CONTACT_SUBJECT),
    ]:
        entry_id = {"api_notes": account.notes, "api_complaints": account.complaints,
                    "api_contacts": account.contacts}[column].get().pk
        listing = client.get(path, {"account": number})
        detail = client.get(f"{path}{entry_id}/")
        if row[column] == YES:
            assert listing.status_code == 200 and detail.status_code == 200, column
            assert secret in listing.content.decode() and secret in detail.content.decode(), column
        else:
            assert _refused(listing, api=True) and _refused(detail, api=True), column
            assert secret.encode() not in listing.content + detail.content, column

    for column, path in [("api_accounts", f"/api/accounts/{number}/"), ("api_meters", "/api/mdm/meters/")]:
        response = client.get(path)
        if row[column] == YES:
            assert response.status_code == 200, column
        else:
            assert _refused(response, api=True), column


@pytest.mark.parametrize("role", ROLES)
def test_what_each_role_reads_in_the_hubs(role, account, web):
    row = reads(role)
    client = web(role)
    number = account.account_number
    # The audit trail on the page holds the insert of every row: a value refused or masked
    # must be absent from the audit rows as well as from the sections.
    services.customer_update(customer=account.customer, id_number="B9876-54321-09876")
    new_id = "B9876-54321-09876"
    page = client.get(reverse("cis:account", args=[number]))
    html = page.content.decode()
    if row["hub_account"] == YES:
        assert page.status_code == 200
        for value in (ID_NUMBER, new_id):
            if row["hub_id"] == FULL:
                assert value in html
            else:
                assert value not in html and privacy.mask(value) in html
    else:
        assert _refused(page, api=False)
        assert ID_NUMBER not in html and new_id not in html
    for secret in (NOTE_TEXT, COMPLAINT_TEXT, CONTACT_SUBJECT):
        assert (secret in html) is (row["hub_case_notes"] == YES), secret

    search = client.get(reverse("cis:search"), {"q": new_id, "kind": "id_number"})
    guessed = client.get(reverse("cis:search-results"), {"q": new_id})
    found = number in search.content.decode() and number in guessed.content.decode()
    assert found is (row["hub_search_by_id"] == YES)
    if row["hub_search_by_id"] == NO:
        assert number not in search.content.decode() + guessed.content.decode()

    for column, name in [("hub_bills", "billing:bills"), ("hub_meters", "mdm:search")]:
        response = client.get(reverse(name))
        if row[column] == YES:
            assert response.status_code == 200, column
        else:
            assert _refused(response, api=False), column


# --- the admin site -------------------------------------------------------------------
# Roles grant no admin permissions (groups carry none); an operator may still give a staff user
# "view customer". Such a user without the ID class sees the number masked and cannot search by it.

def _admin_viewer(make_user, role: str):
    user = make_user(f"admin-viewer-{role}", role, is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="cis", codename__in=["view_customer", "change_customer", "view_account"]))
    return user


def test_staff_flag_and_role_alone_do_not_open_customers_in_the_admin(make_user, account):
    client = Client()
    client.force_login(make_user("staff-metering", Role.METERING, is_staff=True))
    assert client.get(reverse("admin:cis_customer_change", args=[account.customer.pk])).status_code == 403


@pytest.mark.parametrize("role, full", [(Role.METERING, False), (Role.CSR, True), (Role.BILLING, True)])
def test_admin_masks_the_id_number_for_staff_who_may_not_read_it(make_user, account, role, full):
    client = Client()
    client.force_login(_admin_viewer(make_user, role))
    page = client.get(reverse("admin:cis_customer_change", args=[account.customer.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert (ID_NUMBER in html) is full
    if not full:
        assert privacy.mask(ID_NUMBER) in html
        assert "A12345678901234" not in html  # nor its compact search copy, nor the audit rows
    found = client.get(reverse("admin:cis_customer_changelist"), {"q": ID_NUMBER})
    assert (account.customer.customer_number in found.content.decode()) is full
    accounts = client.get(reverse("admin:cis_account_changelist"), {"q": ID_NUMBER})
    assert (account.account_number in accounts.content.decode()) is full


def test_admin_change_by_a_masked_viewer_cannot_touch_the_id_number(make_user, account):
    client = Client()
    client.force_login(_admin_viewer(make_user, Role.METERING))
    url = reverse("admin:cis_customer_change", args=[account.customer.pk])
    form = client.get(url).context["adminform"].form
    assert "id_number" not in form.fields


# --- every named URL and the roles its check lets through -------------------------------

C, B, M, F, A, P, U = Role.CSR, Role.BILLING, Role.METERING, Role.FIELD_CREW, Role.ADMIN, Role.API_CLIENT, Role.CUSTOMER
CIS_READ = {C, B, M, P}
CASE_NOTES = {C, B, P}
MDM_API_READ = {C, B, M, P}
MDM_HUB_READ = {M, C, B}

# Anyone (the login itself, the published API description, the health check, the card gateway's
# webhook: no role, its HMAC signature is checked instead, billing/tests/test_payments_card_gateway.py).
OPEN = {"login", "logout", "api-schema", "api-docs", "api-token", "healthz", "card-webhook"}
# Signed in, whatever the role (a start page that says where to go; one's own 2FA and tokens).
SIGNED_IN = {"home", "two-factor-setup", "two-factor-verify", "api-logout", "api-logout-all"}

# The customer portal (portal/): its sign-up, sign-in and password pages are open; the rest is
# for customer logins only (staff get 404, as for a page that is not theirs), each page scoped to
# the customer's linked accounts (portal/tests/test_scoping.py walks them with other ids).
PORTAL_OPEN = {"portal:language", "portal:login", "portal:logout", "portal:register", "portal:register-proof", "portal:link-confirm",
               "portal:password-reset", "portal:password-reset-done", "portal:password-reset-confirm",
               "portal:password-reset-complete", "portal:invite-accept", "portal:apply"}
PORTAL_CUSTOMER = {"portal:home", "portal:account", "portal:bills", "portal:bill", "portal:bill-pdf", "portal:usage",
                   "portal:usage-csv", "portal:greenbutton", "portal:pay", "portal:pay-status",
                   "portal:alerts", "portal:moves", "portal:move-withdraw", "portal:contact", "portal:tokens",
                   "portal:token-revoke", "portal:people", "portal:person-remove",
                   "portal:two-factor-setup", "portal:two-factor-verify",
                   "portal:autopay", "portal:autopay-cancel", "portal:budget", "portal:budget-leave",
                   "portal:arrangement", "portal:paperless",
                   "portal:usage-compare", "portal:rate-compare"}
# A customer's own data over REST: only a personal token (made in the portal) opens it, never a
# staff API token or a session, whatever the role (portal/tests/test_api.py: only one's own data).
PORTAL_TOKEN = {"portal-api:account-list", "portal-api:account-detail", "portal-api:bill-list",
                "portal-api:bill-detail", "portal-api:usage", "portal-api:greenbutton"}

# name -> {method: roles that pass}. Administrators are added to every set below.
URL_RULES: dict[str, dict[str, set]] = {
    # cis REST
    "search": {"GET": CIS_READ},
    "customer-list": {"GET": CIS_READ, "POST": {C}},
    "customer-detail": {"GET": CIS_READ, "PATCH": {C}},
    "account-list": {"GET": CIS_READ, "POST": {C}},
    "account-detail": {"GET": CIS_READ, "PATCH": {C}},
    "account-move-in": {"POST": {C}},
    "account-move-out": {"POST": {C}},
    "premise-list": {"GET": CIS_READ, "POST": {C}},
    "premise-detail": {"GET": CIS_READ, "PATCH": {C}},
    "service-point-list": {"GET": CIS_READ, "POST": {C}},
    "service-point-detail": {"GET": CIS_READ, "PATCH": {C}},
    "agreement-list": {"GET": CIS_READ, "POST": {C}},
    "agreement-detail": {"GET": CIS_READ},
    "move-list": {"GET": CIS_READ},
    "move-detail": {"GET": CIS_READ},
    "move-cancel": {"POST": {C}},
    "cis:move-request": {"GET": {C, B, M}, "POST": {C}},
    "contact-list": {"GET": CASE_NOTES, "POST": {C, P}},
    "contact-detail": {"GET": CASE_NOTES, "PATCH": {C}},
    "note-list": {"GET": CASE_NOTES, "POST": {C}},
    "note-detail": {"GET": CASE_NOTES, "PATCH": {C}},
    "complaint-list": {"GET": CASE_NOTES, "POST": {C}},
    "complaint-detail": {"GET": CASE_NOTES, "PATCH": {C}},
    # mdm REST
    "mdm-api:import-list": {"GET": MDM_API_READ, "POST": {M, P}},
    "mdm-api:import-detail": {"GET": MDM_API_READ},
    "mdm-api:import-quarantine": {"GET": MDM_API_READ},
    "mdm-api:quarantine-resubmit": {"POST": {M}},
    "mdm-api:quarantine-discard": {"POST": {M}},
    "mdm-api:determinants": {"GET": MDM_API_READ},
    "mdm-api:meter-list": {"GET": MDM_API_READ, "POST": {M, P}},
    "mdm-api:meter-detail": {"GET": MDM_API_READ},
    "mdm-api:meter-intervals": {"GET": MDM_API_READ},
    "mdm-api:meter-install": {"POST": {M, P}},
    "mdm-api:meter-exchange": {"POST": {M, P}},
    "mdm-api:meter-remove": {"POST": {M, P}},
    # billing REST
    "billing-calculator": {"POST": {B, C, P}},
    "billing-bill-list": {"GET": {B, C, P}},
    "billing-bill-detail": {"GET": {B, C, P}},
    "billing-bill-pdf": {"GET": {B, C, P}},
    "billing-account-ledger": {"GET": {B, C, P}},
    "billing-account-balance": {"GET": {B, C, P}},
    "billing-account-aging": {"GET": {B, C, P}},
    "billing-account-billed-through": {"GET": {B, C, P}},
    "billing-payments": {"GET": {B, C, P}, "POST": {B, C, P}},
    "billing-payment": {"GET": {B, C, P}},
    "billing-payment-return": {"POST": {B}},
    "billing-payment-reverse": {"POST": {B}},
    "billing-autopay-enrol": {"POST": {B, C}},
    "billing-autopay": {"GET": {B, C}},
    "billing-autopay-cancel": {"POST": {B, C}},
    # Customer Service Hub
    "cis:search": {"GET": {C, B, M}},
    "cis:search-results": {"GET": {C, B, M}},
    "cis:account": {"GET": {C, B, M}},
    "cis:note-add": {"POST": {C}},
    "cis:contact-log": {"POST": {C}},
    "cis:complaint-open": {"POST": {C}},
    "cis:complaint-update": {"POST": {C}},
    "cis:move-out": {"GET": {C}},
    "cis:move-in": {"GET": {C}},
    "cis:move-sp-candidates": {"GET": {C}},
    "cis:pending-moves": {"GET": {C, B, M}},
    "cis:move-detail": {"GET": {C, B, M}},
    "cis:move-cancel": {"GET": {C}},
    # Meter Hub
    "mdm:search": {"GET": MDM_HUB_READ},
    "mdm:meter": {"GET": MDM_HUB_READ},
    "mdm:quarantine": {"GET": MDM_HUB_READ},
    "mdm:quarantine-resubmit": {"POST": {M}},
    "mdm:quarantine-discard": {"GET": {M}},
    "mdm:imports": {"GET": MDM_HUB_READ},
    "mdm:import-upload": {"POST": {M}},
    "mdm:import-progress": {"GET": MDM_HUB_READ},
    "mdm:worklist": {"GET": MDM_HUB_READ},
    "mdm:worklist-action": {"POST": {M}},
    "mdm:vee-runs": {"GET": MDM_HUB_READ},
    "mdm:vee-run-start": {"POST": {M}},
    "mdm:vee-run-progress": {"GET": MDM_HUB_READ},
    "mdm:channel-day": {"GET": MDM_HUB_READ},
    # Billing Hub: billing staff work it; CSRs look at bills and price a load
    "billing:hub": {"GET": {B}},
    "billing:run-start": {"GET": {B}},
    "billing:run": {"GET": {B}},
    "billing:run-progress": {"GET": {B}},
    "billing:run-resume": {"POST": {B}},
    "billing:run-approve": {"POST": {B}},
    "billing:run-issue": {"POST": {B}},
    "billing:exceptions": {"GET": {B}},
    "billing:exception-action": {"POST": {B}},
    "billing:bills": {"GET": {B, C}},
    "billing:bill": {"GET": {B, C}},
    "billing:bill-ebill": {"GET": {B, C}},
    "billing:bill-pdf": {"GET": {B, C}},
    "billing:final-bill": {"POST": {B}},
    "billing:bill-cancel": {"POST": {B}},
    "billing:bill-rebill": {"POST": {B}},
    "billing:bill-issue": {"POST": {B}},
    "billing:notices": {"GET": {B}},
    "billing:notices-rebill-all": {"GET": {B}},
    "billing:notice-rebill": {"GET": {B}},
    "billing:notice-dismiss": {"GET": {B}},
    "billing:rates": {"GET": {B}},
    "billing:rate-create": {"GET": {B}},
    "billing:rate-import": {"GET": {B}},
    "billing:rate": {"GET": {B}},
    "billing:calculator": {"GET": {B, C}},
    "billing:payments": {"GET": {B}},
    "billing:adjustments": {"GET": {B}},
    "billing:adjustment-approve": {"GET": {B}},
    "billing:adjustment-reject": {"GET": {B}},
    "billing:remittance-upload": {"POST": {B}},
    "billing:remittance-upload-detail": {"GET": {B}},
    "billing:remittance-upload-progress": {"GET": {B}},
    "billing:suspense-assign": {"POST": {B}},
    "billing:collections": {"GET": {B}},
    "billing:collections_run_start": {"POST": {B}},
    "billing:dunning_step_edit": {"POST": {B}},
    "billing:collections_run_progress": {"GET": {B}},
    "billing:collections_account": {"GET": {B}},
    "billing:collections_account_act": {"POST": {B}},
    "billing:collections-letters": {"GET": {B}},
    "billing:collections-letter": {"GET": {B, C}},
    "billing:letter-print-start": {"POST": {B}},
    "billing:letter-print-progress": {"GET": {B}},
    "billing:letter-print-pdf": {"GET": {B}},
    "billing:collections-agency": {"GET": {B}},
    "billing:agency-export": {"POST": {B}},
    "billing:agency-export-file": {"GET": {B}},
    "billing:agency-refer": {"POST": {B}},
    "billing:budget": {"GET": {B, C}},
    "billing:budget-type": {"POST": {B}},
    "billing:budget-enrol": {"POST": {C, B}},
    "billing:budget-leave": {"POST": {C, B}},
    "billing:deposits": {"GET": {B, C}},
    "billing:deposit-require": {"POST": {B}},
    "billing:deposit-review-start": {"POST": {B}},
    "billing:deposit-review-progress": {"GET": {B, C}},
    "billing:deposit-recommendation-act": {"POST": {B}},
    "billing:deposit-refund-paid": {"POST": {B}},
    "billing:deposit-act": {"POST": {B}},
    "billing:post-payment": {"POST": {C, B}},
    "billing:card-payment": {"POST": {C, B}},
    "billing:post-adjustment": {"POST": {C, B}},
    "billing:autopay-enrol": {"POST": {C, B}},
    "billing:autopay-cancel": {"POST": {C, B}},
    "billing:autopay-returns-upload": {"POST": {B}},
    "billing:autopay-held-review": {"POST": {B}},
    # Field crews
    "service_orders:field-home": {"GET": {F}},
    "service_orders:order-dispatch": {"POST": {F}},
}


def _named_urls() -> dict[str, tuple[str, list[str]]]:
    """Every named URL outside the admin site: name -> (route, its keyword arguments)."""
    found: dict[str, tuple[str, list[str]]] = {}

    def walk(resolver: URLResolver, route: str, namespace: str | None) -> None:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                inner = ":".join(p for p in (namespace, entry.namespace) if p) or None
                if inner == "admin":
                    continue
                walk(entry, route + str(entry.pattern), inner)
            elif isinstance(entry, URLPattern) and entry.name:
                name = f"{namespace}:{entry.name}" if namespace else entry.name
                kwargs = list(entry.pattern.regex.groupindex)
                # DRF's format-suffix twin (.json) shares the name: keep the plain route.
                if "format" not in kwargs and name not in found:
                    found[name] = (route + str(entry.pattern), kwargs)

    walk(get_resolver(), "", None)
    return found


def test_every_named_url_has_a_rule():
    names = set(_named_urls())
    ruled = set(URL_RULES) | OPEN | SIGNED_IN | PORTAL_OPEN | PORTAL_CUSTOMER | PORTAL_TOKEN
    assert not names - ruled, f"URLs without a rule in URL_RULES (say which roles may use them): {sorted(names - ruled)}"
    assert not ruled - names, f"Rules for URLs that no longer exist: {sorted(ruled - names)}"


@pytest.fixture
def role_users(db, django_user_model):
    """One user per role, without a password (no hashing: the clients sign in directly)."""
    users = {}
    for role in Role:
        user = django_user_model.objects.create_user(username=f"url-{role}", password=None)
        user.groups.add(Group.objects.get_or_create(name=role)[0])
        users[role] = user
    return users


def _client_for(user, *, api: bool):
    if api:
        client = APIClient(raise_request_exception=False)
        if user is not None:
            _, token = get_token_model().objects.create(user=user, name="role matrix")
            client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        return client
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize("name", sorted(URL_RULES))
def test_each_url_lets_through_only_the_roles_of_its_rule(name, role_users):
    route, kwargs = _named_urls()[name]
    # No such object: a role that passes the check gets 404 (or a form error), never 401/403.
    url = reverse(name, kwargs={k: "999999" for k in kwargs})
    api = url.startswith("/api/")
    wrong = []
    for role in ROLES:
        client = _client_for(role_users.get(role), api=api)
        for method, roles in sorted(URL_RULES[name].items()):
            allowed = role == Role.ADMIN or role in roles
            response = getattr(client, method.lower())(url, {}, **({"format": "json"} if api and method != "GET" else {}))
            refused = _refused(response, api=api)
            if refused is allowed or response.status_code >= 500:
                wrong.append(f"{method} {route} as {role}: {response.status_code} ({'allowed' if allowed else 'refused'} by the rule)")
    assert not wrong, wrong


@pytest.mark.parametrize("name", sorted(PORTAL_CUSTOMER))
def test_portal_pages_are_for_customers_only(name, role_users):
    """Staff and API clients get nothing from a customer's portal page (404, or 403); an
    anonymous visitor is sent to the portal's own sign-in."""
    route, kwargs = _named_urls()[name]
    url = reverse(name, kwargs={k: ("999999" if k.endswith("id") else "0000999999") for k in kwargs})
    wrong = []
    for role in ROLES:
        if role == Role.CUSTOMER:
            continue
        user = role_users.get(role)
        response = _client_for(user, api=False).get(url)
        if user is None:
            if not (response.status_code == 302 and reverse("portal:login") in response["Location"]):
                wrong.append(f"{route} anonymous: {response.status_code}")
        elif response.status_code not in (403, 404):
            wrong.append(f"{route} as {role}: {response.status_code}")
    assert not wrong, wrong


@pytest.mark.parametrize("name", sorted(PORTAL_TOKEN))
def test_my_data_api_refuses_every_staff_token_and_session(name, role_users):
    """Staff (and customer) knox tokens and signed-in sessions get 401/403 on the my-data API,
    anonymous callers 401: only a personal token is accepted (tested in portal/tests/test_api.py)."""
    route, kwargs = _named_urls()[name]
    url = reverse(name, kwargs={k: ("999999" if k.endswith("id") else "0000999999") for k in kwargs})
    wrong = []
    for role in ROLES:
        user = role_users.get(role)
        for api in (True, False):
            response = _client_for(user, api=api).get(url)
            if response.status_code not in ((401,) if user is None else (401, 403)):
                wrong.append(f"{route} as {role} ({'token' if api else 'session'}): {response.status_code}")
    assert not wrong, wrong


@pytest.mark.parametrize("name", sorted(SIGNED_IN))
def test_signed_in_urls_refuse_anonymous_visitors(name):
    url = reverse(name)
    response = Client(raise_request_exception=False).get(url)
    if url.startswith("/api/"):
        assert response.status_code in (401, 403, 405)
    else:
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("value, masked", [
    ("A1234-56789-01234", "•••• 1234"),  # the last four letters or digits, punctuation dropped
    ("123 456 789 RT0001", "•••• 0001"),
    ("AB12345", "••••"),                  # too short to show any of it
    ("", ""),                              # nothing on file stays nothing
    (None, ""),
])
def test_mask_keeps_at_most_the_last_four_and_only_when_enough_stays_hidden(value, masked):
    assert privacy.mask(value) == masked


def test_dates_are_masked_whole_for_a_role_that_may_not_read_them(make_user):
    born = dt.date(1980, 4, 2)
    assert privacy.shown(make_user("m-date", Role.METERING), privacy.PersonalData.BIRTH_DATE, born) == "••••-••-••"
    assert privacy.shown(make_user("c-date", Role.CSR), privacy.PersonalData.BIRTH_DATE, born) == born
