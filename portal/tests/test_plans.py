"""Payment options in the portal: autopay, the equal payment plan with its calculator, a payment
arrangement and paperless bills; what the home pages say about them; who may change them.

The fixture's two bills (45.67 due 2026-03-08 and 51.20 due 2026-03-22) are overdue on any
later day: 96.87 is what an arrangement spreads."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import translation

from billing.budget.models import BudgetPlan, BudgetPlanType
from billing.collections.models import PaymentArrangement
from billing.payments.autopay_models import AutopayEnrolment
from billing.selectors import arrangement_schedule, autopay_active
from cis.models import Account
from cis.services import account_bill_delivery_set
from core.clock import utility_today
from core.roles import Role
from portal import alerts as portal_alerts
from portal.models import AccountLink
from portal.plans_forms import say_budget_reason
from portal.tests.conftest import NOW, TZ

pytestmark = pytest.mark.django_db

GOOD_ROUTING = "011000015"
BAD_ROUTING = "011000016"


def _url(name: str, customer) -> str:
    return reverse(f"portal:{name}", args=[customer.account.account_number])


@pytest.fixture
def holder(client, alice, portal_user):
    user = portal_user(alice)
    client.force_login(user)
    return user


@pytest.fixture
def plan_type(db):
    return BudgetPlanType.objects.create(code="EPP", name="Equal payment plan", min_history_months=1,
                                         require_no_arrears=False, min_refund=Decimal("25.00"))


def _guest(alice, holder, access: str):
    guest = get_user_model().objects.create_user(username=f"{access}@example.test", email=f"{access}@example.test",
                                                 password="guest-pass-1!")
    guest.groups.add(Group.objects.get_or_create(name=Role.CUSTOMER)[0])
    AccountLink.objects.create(user=guest, account=alice.account, linked_at=NOW, proof="invite", access=access,
                               invited_by=holder)
    return guest


AUTOPAY = {"holder_name": "Pat Tremblay", "routing_number": GOOD_ROUTING, "account_number": "000123456789",
           "account_type": "checking", "max_amount": "", "authorise": "on"}


# ---- services ------------------------------------------------------------------------------

def test_bill_delivery_is_audited_with_who_and_why_and_unknown_is_refused(alice, holder):
    from django.core.exceptions import ValidationError
    with pytest.raises(ValidationError):
        account_bill_delivery_set(account=alice.account, delivery="fax", user=holder)
    account_bill_delivery_set(account=alice.account, delivery="email", user=holder, reason="Asked on the phone")
    account_bill_delivery_set(account=alice.account, delivery="email", user=holder)  # nothing changes, nothing recorded
    account = Account.objects.get(pk=alice.account.pk)
    assert account.bill_delivery == "email"
    event = account.events.order_by("pgh_id").last()
    assert event.bill_delivery == "email"
    assert event.pgh_context.metadata["reason"] == "Asked on the phone"
    assert event.pgh_context.metadata["user"] == holder.pk
    assert account.events.filter(bill_delivery="email").count() == 1


def test_arrangement_schedule_splits_in_cents_and_the_last_takes_what_is_left():
    schedule = arrangement_schedule(arrears=Decimal("96.87"), instalments=3, first_due=dt.date(2026, 4, 1))
    assert schedule == [(dt.date(2026, 4, 1), Decimal("32.29")), (dt.date(2026, 5, 1), Decimal("32.29")),
                        (dt.date(2026, 5, 31), Decimal("32.29"))]
    schedule = arrangement_schedule(arrears=Decimal("100.00"), instalments=3, first_due=dt.date(2026, 4, 1))
    assert [a for _d, a in schedule] == [Decimal("33.33"), Decimal("33.33"), Decimal("33.34")]


def test_billings_reasons_are_said_in_the_customers_language():
    reason = "The account has 96.87 in arrears (30 days or more overdue); it must be paid first."
    with translation.override("en"):
        assert say_budget_reason(reason) == ("$96.87 on the account is 30 days or more overdue: it must be paid "
                                             "before you can join.")
    with translation.override("fr"):
        said = say_budget_reason(reason)
        assert "96,87" in said and "retard" in said
    assert say_budget_reason("Something billing never said before.") == "Something billing never said before."


def test_paperless_holder_gets_the_bill_ready_email_without_choosing_the_alert(smtp, alice, holder):
    link = AccountLink.objects.get(user=holder, account=alice.account)
    now = dt.datetime(2026, 3, 5, 12, tzinfo=dt.timezone.utc)  # the bill of Mar 1 was issued 4 days ago
    assert link.pk not in portal_alerts.links_with_alerts()
    assert portal_alerts.alerts_send_for_link(link_id=link.pk, now=now, today=now.date(), tz=TZ) == 0
    account_bill_delivery_set(account=alice.account, delivery="email", user=holder)
    assert link.pk in portal_alerts.links_with_alerts()
    assert portal_alerts.alerts_send_for_link(link_id=link.pk, now=now, today=now.date(), tz=TZ) == 1
    assert portal_alerts.alerts_send_for_link(link_id=link.pk, now=now, today=now.date(), tz=TZ) == 0  # once
    body = smtp.messages[-1].get_body(preferencelist=("plain",)).get_content()
    assert "is ready" in smtp.messages[-1]["Subject"] and "no paper bill is mailed" in body


def test_paperless_does_not_mail_invited_people_who_did_not_ask(alice, holder):
    guest = _guest(alice, holder, "pay")
    account_bill_delivery_set(account=alice.account, delivery="email", user=holder)
    guest_link = AccountLink.objects.get(user=guest)
    assert guest_link.pk not in portal_alerts.links_with_alerts()


# ---- autopay -------------------------------------------------------------------------------

def test_autopay_with_a_bad_routing_number_saves_nothing_and_shows_no_bank_number(client, alice, holder):
    response = client.post(_url("autopay", alice), {**AUTOPAY, "routing_number": BAD_ROUTING})
    assert response.status_code == 400
    text = response.content.decode()
    assert "is not a valid routing number" in text and "000123456789" not in text
    assert not AutopayEnrolment.objects.exists()
    response = client.post(_url("autopay", alice), {**AUTOPAY, "routing_number": "12", "account_number": "12",
                                                    "holder_name": " ", "account_type": "gold", "authorise": ""})
    assert response.status_code == 400
    text = response.content.decode()
    for message in ("A routing number is 9 digits.", "A bank account number is 4 to 17 digits.",
                    "Select a valid choice.", "This field is required."):
        assert message in text
    assert not AutopayEnrolment.objects.exists()


def test_autopay_enrol_shows_it_masked_on_home_and_cancel_is_audited(client, alice, holder):
    response = client.post(_url("autopay", alice), AUTOPAY)
    assert response.status_code == 302
    enrolment = AutopayEnrolment.objects.get(account=alice.account, status="active")
    assert enrolment.start_date == utility_today() and enrolment.created_by_id == holder.pk
    assert "customer portal by alice@example.test" in enrolment.events.last().pgh_context.metadata["reason"]
    page = client.get(_url("account", alice)).content.decode()
    assert "Autopay: on, from bank account •••• 6789" in page and "000123456789" not in page
    assert "011000015" not in client.get(_url("autopay", alice)).content.decode()
    # A second enrolment is refused without a 500.
    again = client.post(_url("autopay", alice), AUTOPAY, follow=True)
    assert "already has autopay" in again.content.decode()
    assert AutopayEnrolment.objects.filter(account=alice.account).count() == 1

    assert "Cancel autopay?" in client.get(_url("autopay-cancel", alice)).content.decode()
    assert client.post(_url("autopay-cancel", alice), {"reason": "Moving banks"}).status_code == 302
    enrolment.refresh_from_db()
    assert enrolment.status == "cancelled" and enrolment.cancelled_by_id == holder.pk
    assert "Moving banks" in enrolment.cancel_reason and "customer portal" in enrolment.cancel_reason
    assert autopay_active(account_id=alice.account.pk) is None
    assert "Autopay: off" in client.get(_url("account", alice)).content.decode()
    response = client.post(_url("autopay-cancel", alice), {}, follow=True)
    assert "no autopay to cancel" in response.content.decode()


def test_view_only_people_see_status_and_may_change_nothing(client, alice, holder, plan_type):
    client.post(_url("autopay", alice), AUTOPAY)
    guest = _guest(alice, holder, "view")
    client.force_login(guest)
    page = client.get(_url("autopay", alice)).content.decode()
    assert "•••• 6789" in page and "Cancel autopay" not in page
    for name, data in (("autopay-cancel", {}), ("budget", {"plan_type": "EPP", "accept": "on"}),
                       ("arrangement", {"instalments": "3", "first_due": utility_today().isoformat(), "step": "confirm"}),
                       ("paperless", {"bill_delivery": "email"}), ("autopay", AUTOPAY)):
        assert client.get(_url(name, alice)).status_code == 200, name
        assert client.post(_url(name, alice), data).status_code == 403, name
    assert AutopayEnrolment.objects.get(account=alice.account).status == "active"
    assert not BudgetPlan.objects.exists() and not PaymentArrangement.objects.exists()
    assert Account.objects.get(pk=alice.account.pk).bill_delivery == "paper"


def test_pay_access_may_enrol(client, alice, holder):
    client.force_login(_guest(alice, holder, "pay"))
    assert client.post(_url("autopay", alice), AUTOPAY).status_code == 302
    assert AutopayEnrolment.objects.filter(account=alice.account, status="active").exists()


# ---- the equal payment plan ----------------------------------------------------------------

def test_calculator_enrol_home_status_and_leaving_with_its_consequences(client, alice, holder, plan_type):
    page = client.get(_url("budget", alice)).content.decode()
    assert "$48.44" in page  # (45.67 + 51.20) / 2, half-up
    assert client.post(_url("budget", alice), {"plan_type": "EPP"}).status_code == 400  # not accepted
    assert not BudgetPlan.objects.exists()
    assert client.post(_url("budget", alice), {"plan_type": "EPP", "accept": "on"}).status_code == 302
    plan = BudgetPlan.objects.get(account=alice.account, status="active")
    assert plan.monthly_amount == Decimal("48.44") and plan.created_by_id == holder.pk
    assert "Equal payment plan: $48.44 a month" in client.get(_url("account", alice)).content.decode()
    assert "You are on the plan" in client.get(_url("budget", alice)).content.decode()
    leave = client.get(_url("budget-leave", alice)).content.decode()
    assert "your actual charges" in leave
    assert client.post(_url("budget-leave", alice), {"reason": "Too hard"}).status_code == 400  # not accepted
    response = client.post(_url("budget-leave", alice), {"accept": "on", "reason": "Too hard"}, follow=True)
    assert "You have left the plan" in response.content.decode()
    plan.refresh_from_db()
    assert plan.status == "settled" and "customer portal" in plan.end_reason and "Too hard" in plan.end_reason
    assert "Equal payment plan: not on it" in client.get(_url("account", alice)).content.decode()


def test_the_plan_refuses_arrears_with_the_reason_and_saves_nothing(client, alice, holder, plan_type):
    plan_type.require_no_arrears = True
    plan_type.save()
    page = client.get(_url("budget", alice)).content.decode()
    assert "$96.87 on the account is 30 days or more overdue" in page
    assert client.post(_url("budget", alice), {"plan_type": "EPP", "accept": "on"}).status_code == 400
    assert not BudgetPlan.objects.exists()


def test_no_plan_offered_says_so(client, alice, holder):
    assert "No equal payment plan is offered" in client.get(_url("budget", alice)).content.decode()
    assert client.post(_url("budget", alice), {"plan_type": "X", "accept": "on"}).status_code == 400
    assert "This account is not on an equal payment plan." in client.get(_url("budget-leave", alice)).content.decode()


# ---- a payment arrangement -----------------------------------------------------------------

def test_arrangement_preview_then_confirm_within_the_rules(client, alice, holder):
    today = utility_today()
    first = today + dt.timedelta(days=10)
    page = client.get(_url("arrangement", alice)).content.decode()
    assert "$96.87" in page
    preview = client.post(_url("arrangement", alice), {"instalments": "3", "first_due": first.isoformat(),
                                                       "step": "preview"})
    assert preview.status_code == 200 and "$32.29" in preview.content.decode()
    assert not PaymentArrangement.objects.exists()
    for bad in ({"instalments": "13"}, {"instalments": "1"}, {"instalments": "x"}, {"instalments": "10"},
                {"first_due": (today - dt.timedelta(days=1)).isoformat()},
                {"first_due": (today + dt.timedelta(days=31)).isoformat()}, {"first_due": "not a date"}):
        data = {"instalments": "3", "first_due": first.isoformat(), "step": "confirm", **bad}
        assert client.post(_url("arrangement", alice), data).status_code == 400, bad
    assert not PaymentArrangement.objects.exists()
    response = client.post(_url("arrangement", alice), {"instalments": "3", "first_due": first.isoformat(),
                                                        "step": "confirm"})
    assert response.status_code == 302
    arrangement = PaymentArrangement.objects.get(account=alice.account, status="active")
    assert arrangement.arrears == Decimal("96.87") and arrangement.created_by_id == holder.pk
    assert "portal" in arrangement.note
    assert [i.amount for i in arrangement.instalments.all()] == [Decimal("32.29")] * 3
    assert "Payment arrangement: $96.87 in 3 instalments" in client.get(_url("account", alice)).content.decode()
    again = client.post(_url("arrangement", alice), {"instalments": "3", "first_due": first.isoformat(),
                                                     "step": "confirm"}, follow=True)
    assert "already has a payment arrangement" in again.content.decode()
    assert PaymentArrangement.objects.count() == 1


def test_arrangement_outside_the_portals_rules_goes_to_staff(client, alice, holder):
    PaymentArrangement.objects.create(account=alice.account, arrears=Decimal("50.00"), made_on=utility_today(),
                                      status="broken", resolved_on=utility_today() - dt.timedelta(days=40))
    page = client.get(_url("arrangement", alice)).content.decode()
    assert "was not kept in the last 12 months" in page and "Work out my instalments" not in page
    response = client.post(_url("arrangement", alice), {"instalments": "3", "step": "confirm",
                                                        "first_due": utility_today().isoformat()})
    assert response.status_code == 400
    assert not PaymentArrangement.objects.filter(status="active").exists()


def test_nothing_overdue_means_nothing_to_arrange(client, bob, portal_user):
    from billing.models import LedgerEntry
    LedgerEntry.objects.create(account=bob.account, kind=LedgerEntry.Kind.PAYMENT, amount=Decimal("-96.87"),
                               effective_date=dt.date(2026, 3, 2), description="Paid")
    client.force_login(portal_user(bob, "bob@example.test"))
    assert "nothing to arrange" in client.get(_url("arrangement", bob)).content.decode()


# ---- paperless -----------------------------------------------------------------------------

def test_paperless_and_back_to_paper(client, alice, holder):
    assert client.post(_url("paperless", alice), {"bill_delivery": "fax"}).status_code == 400
    assert Account.objects.get(pk=alice.account.pk).bill_delivery == "paper"
    assert client.post(_url("paperless", alice), {"bill_delivery": "email"}).status_code == 302
    account = Account.objects.get(pk=alice.account.pk)
    assert account.bill_delivery == "email"
    assert "customer portal by alice@example.test" in account.events.last().pgh_context.metadata["reason"]
    assert "Bills: paperless (by email)" in client.get(_url("account", alice)).content.decode()
    assert "Paperless bills: on" in client.get(_url("bills", alice)).content.decode()
    assert client.post(_url("paperless", alice), {"bill_delivery": "paper"}).status_code == 302
    assert Account.objects.get(pk=alice.account.pk).bill_delivery == "paper"
