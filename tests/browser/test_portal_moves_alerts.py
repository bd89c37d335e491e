"""The portal's move requests and alerts in a real browser (issue 11's tests): a customer asks
to transfer service (stop here, start there), the request reaches the CSR hub's Pending Moves
and a CSR completes it with the move services; a new customer applies for service from the
public page and a CSR completes it into an account; a customer sets an alert, the beat job's
task runs, and the message is read from the real local SMTP server."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from billing.models import BillCycle, RateSchedule
from billing.services import payment_post
from cis.models import Move, MoveRequest
from cis.tests.factories import PremiseFactory, ServicePointFactory
from config.celery import app
from conftest import PASSWORD as STAFF_PASSWORD
from core.actors import Actor
from core.clock import utility_today
from core.roles import Role
from portal.models import AccountLink
from portal.tasks import alerts_scan
from portal.tests.conftest import NOW, PASSWORD, make_customer, smtp_server

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, available_apps=list(settings.INSTALLED_APPS)),
]


@pytest.fixture
def customer(django_user_model):
    alice = make_customer("a", postal_code="M4C 1B5", last_name="Tremblay", previous_occupant=True)
    user = django_user_model.objects.create_user(username="alice@example.test", email="alice@example.test",
                                                 password=PASSWORD)
    user.groups.add(Group.objects.get_or_create(name=Role.CUSTOMER)[0])
    AccountLink.objects.create(user=user, account=alice.account, linked_at=NOW, proof="postal_code")
    return alice


@pytest.fixture
def rates(settings):
    RateSchedule.objects.get_or_create(code="RES", defaults={"name": "Residential"})
    BillCycle.objects.get_or_create(code="C01", defaults={"name": "C01"})
    settings.UTILIS_DEFAULT_BILL_CYCLE = "C01"


def _portal_sign_in(page, username: str = "alice@example.test") -> None:
    page.goto("/portal/login/")
    page.get_by_label("Email").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def _hub_page(page, live_server):
    """A CSR's page in its own browser context (its own cookies) beside the customer's."""
    context = page.context.browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    hub = context.new_page()
    hub.set_default_timeout(15_000)
    return hub


def _hub_sign_in(page) -> None:
    page.goto("/hub/moves/pending/")
    page.get_by_label("Username").fill("csr1")
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Pending moves")).to_be_visible()


def test_a_transfer_request_reaches_pending_moves_and_a_csr_completes_it(browser_page, live_server, customer, csr,
                                                                       rates):
    number = customer.account.account_number
    new_sp = ServicePointFactory(sp_number="SP-ELM-E", premise=PremiseFactory(address_line1="12 Elm Street",
                                                                              postal_code="M4C 2B2"))
    day = utility_today() + dt.timedelta(days=12)
    page = browser_page(width=360, height=780)
    _portal_sign_in(page)
    expect(page.get_by_role("heading", name=f"Account {number}")).to_be_visible()
    page.get_by_role("link", name="Moving").click()
    page.get_by_label("Transfer: stop here and start at my new address").check()
    page.get_by_label("Where service stops").select_option(customer.service_point.sp_number)
    page.get_by_label("Last day plus one: the first day you no longer need service").fill(day.isoformat())
    page.get_by_label("First day you need service at the new address").fill(day.isoformat())
    page.get_by_label("New service address").fill("12 Elm Street, Toronto")
    page.get_by_label("Where should we send your final bill?").fill("12 Elm Street, Toronto ON M4C 2B2")
    page.get_by_label("A phone number we can call about it").fill("416-555-0100")
    page.get_by_role("button", name="Send my request").click()
    expect(page.get_by_text("We have your request")).to_be_visible()
    expect(page.get_by_text("Waiting for us")).to_be_visible()
    request = MoveRequest.objects.get()
    assert (request.kind, request.status) == ("transfer", "submitted") and not Move.objects.exists()

    hub = _hub_page(page, live_server)
    _hub_sign_in(hub)
    requests = hub.get_by_role("region", name="Requests from customers")
    expect(requests).to_contain_text(number)
    requests.get_by_role("link").first.click()
    expect(hub.get_by_role("heading", name=re.compile("Transfer service"))).to_be_visible()
    hub.get_by_label("Find the new service point").fill("12 Elm")
    hub.get_by_role("button", name="Find").click()
    hub.get_by_label(re.compile("SP-ELM-E")).check()
    hub.get_by_label("Rate code").fill("RES")
    hub.get_by_role("button", name="Complete the request").click()
    expect(hub.get_by_role("heading", name="Pending moves")).to_be_visible()
    expect(hub.get_by_text(f"Request {request.pk} of account {number} completed.")).to_be_visible()

    request.refresh_from_db()
    assert request.status == "completed"
    assert (request.move_out.service_point, request.move_out.effective_date) == (customer.service_point, day)
    assert (request.move_in.service_point, request.move_in.rate_code, request.move_in.status) == (new_sp, "RES", "pending")
    page.reload()
    expect(page.get_by_text("Done")).to_be_visible()


def test_a_new_customer_applies_and_a_csr_completes_it_into_an_account(browser_page, live_server, csr, rates):
    birch = PremiseFactory(address_line1="48 Birch Crescent", city="Toronto", postal_code="M4E 1A1")
    sp = ServicePointFactory(sp_number="SP-BIRCH-E", premise=birch)
    day = utility_today() + dt.timedelta(days=20)
    page = browser_page(width=360, height=780)
    page.goto("/portal/login/")
    page.get_by_role("link", name="Apply for service").click()
    page.get_by_label("Street and number, or postal code").fill("48 birch")
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_role("status")).to_contain_text("1 address found")
    page.get_by_label(re.compile("48 Birch Crescent")).check()
    page.get_by_label("First day you need service").fill(day.isoformat())
    page.get_by_label("First name").fill("Marie")
    page.get_by_label("Last name").fill("Lavoie")
    page.get_by_label("Email").fill("marie@example.test")
    page.get_by_label("Phone").fill("(416) 555-0142")
    page.get_by_role("button", name="Send my application").click()
    expect(page.get_by_role("heading", name="Application sent")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    request = MoveRequest.objects.get()
    assert (request.kind, request.account) == ("new_customer", None)

    hub = _hub_page(page, live_server)
    _hub_sign_in(hub)
    requests = hub.get_by_role("region", name="Requests from customers")
    expect(requests).to_contain_text("Marie Lavoie")
    requests.get_by_role("link").first.click()
    expect(hub.get_by_text("marie@example.test")).to_be_visible()
    hub.get_by_label(re.compile("SP-BIRCH-E")).check()
    hub.get_by_label("Rate code").fill("RES")
    hub.get_by_role("button", name="Complete the request").click()
    request.refresh_from_db()
    expect(hub.get_by_text(f"Application {request.pk} completed")).to_be_visible()
    assert request.status == "completed" and request.account.customer.display_name == "Marie Lavoie"
    assert (request.move_in.service_point, request.move_in.effective_date) == (sp, day)


def test_an_alert_set_in_the_portal_arrives_by_email_from_the_beat_job(browser_page, customer, settings):
    page = browser_page(width=360, height=780)
    _portal_sign_in(page)
    page.get_by_role("link", name="Alerts").first.click()
    page.get_by_label("We received a payment").check()
    page.get_by_role("button", name="Save my alerts").click()
    expect(page.get_by_text("Your alerts are saved")).to_be_visible()

    payment_post(account_id=customer.account.pk, amount=Decimal("25.00"), received_date=utility_today(),
                 channel="cashier", tender_type="cash", actor=Actor.system("browser test"), reason="Counter payment")
    # The chunks the scan queues run here (the scan, its chunks and the mail are what is tested,
    # not the broker); Celery reads the setting and its own conf, so both.
    settings.CELERY_TASK_ALWAYS_EAGER = True
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        with smtp_server(settings) as inbox:
            assert alerts_scan() == 1
            assert len(inbox.messages) == 1
    finally:
        app.conf.task_always_eager = eager
    message = inbox.messages[0]
    assert message["To"] == "alice@example.test"
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "$25.00" in body, body
    page.reload()
    expect(page.get_by_role("region", name="Alerts we sent")).to_contain_text(str(message["Subject"]).strip()[:20])
