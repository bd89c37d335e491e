"""Paying in the portal through the sandbox card gateway (a real server): the customer sees the
balance and the amount due, pays by card, sees the payment pending until the gateway confirms
it, and then the balance changed, with the payment posted once however often the webhook comes.
The card number is never stored nor shown back; bad input is a precise message."""
from __future__ import annotations

import re
import urllib.request
from decimal import Decimal

import pytest
from django.urls import reverse

from billing.payments.card_models import CardCharge
from billing.payments.models import Payment
from billing.services import ledger
from billing.tests.sandbox_gateway import WEBHOOK, events, sandbox_running, wait_for

CARD = {"card_number": "4242 4242 4242 4242", "exp_month": "12", "exp_year": "2035", "cvc": "123"}


def _attempt(response) -> str:
    return re.search(rb'name="attempt" value="([0-9a-f-]+)"', response.content).group(1).decode()


def _pay(client, account_number: str, **fields):
    url = reverse("portal:pay", args=[account_number])
    form = client.get(url)
    return client.post(url, {"amount": "96.87", **CARD, "attempt": _attempt(form), **fields})


@pytest.mark.django_db(transaction=True)
def test_a_customer_pays_by_card_sees_it_pending_then_the_balance_changed_once(client, alice, portal_user, settings,
                                                                               live_server):
    client.force_login(portal_user(alice))
    with sandbox_running(settings, webhook_url=live_server.url + WEBHOOK, delay=1.0) as url:
        page = client.get(reverse("portal:pay", args=[alice.account.account_number]))
        assert page.status_code == 200
        text = page.content.decode()
        assert "$96.87" in text and "Amount due" in text and "$51.20" in text  # balance; the last bill's amount due
        assert 'value="96.87"' in text  # the balance is offered as the amount

        response = _pay(client, alice.account.account_number)
        assert response.status_code == 302
        charge = CardCharge.objects.get(account_id=alice.account.pk)
        assert response["Location"] == (reverse("portal:pay-status", args=[alice.account.account_number])
                                        + f"?ref={charge.reference}")
        status = client.get(response["Location"])
        if charge.status == "pending":  # the webhook comes a second later
            assert b"is being confirmed" in status.content and b"data-pay-pending" in status.content
            home = client.get(reverse("portal:account", args=[alice.account.account_number]))
            assert b"is being confirmed" in home.content
        payment = wait_for(lambda: Payment.objects.filter(account_id=alice.account.pk).first(), "the webhook")
        status = client.get(response["Location"])
        assert b"Payment of $96.87 received" in status.content
        assert payment.receipt_number.encode() in status.content and b"data-pay-pending" not in status.content
        home = client.get(reverse("portal:account", args=[alice.account.account_number]))
        assert b"$0.00" in home.content and b"is being confirmed" not in home.content
        assert payment.actor == "card-gateway" and charge.actor == "alice@example.test"

        # The gateway delivers the confirmation again: the payment is not posted twice.
        wait_for(lambda: any(e["acknowledged"] for e in events(url, charge.transaction_id)), "the acknowledgement")
        request = urllib.request.Request(f"{url}/v1/charges/{charge.transaction_id}/resend", data=b"{}",
                                         method="POST")
        with urllib.request.urlopen(request, timeout=5):  # noqa: S310 - the test's own server
            pass
        wait_for(lambda: sum(len(e["attempts"]) for e in events(url, charge.transaction_id)) >= 2, "the resend")
        assert Payment.objects.filter(account_id=alice.account.pk).count() == 1
        assert ledger.account_balance(account_id=alice.account.pk) == Decimal("0.00")
        # Nothing of the card but its brand and last 4 digits is stored.
        assert "4242424242424242" not in str(list(CardCharge.objects.values()))


@pytest.mark.django_db(transaction=True)
def test_the_same_form_submitted_twice_charges_once_and_a_declined_card_says_why(client, alice, portal_user, settings,
                                                                                 live_server):
    client.force_login(portal_user(alice))
    with sandbox_running(settings, webhook_url=live_server.url + WEBHOOK):
        url = reverse("portal:pay", args=[alice.account.account_number])
        attempt = _attempt(client.get(url))
        first = client.post(url, {"amount": "10.00", **CARD, "attempt": attempt})
        second = client.post(url, {"amount": "10.00", **CARD, "attempt": attempt})
        assert first["Location"] == second["Location"]
        assert CardCharge.objects.filter(account_id=alice.account.pk).count() == 1

        declined = _pay(client, alice.account.account_number, card_number="4000000000009995", amount="5.00")
        page = client.get(declined["Location"])
        assert b"did not go through" in page.content and b"insufficient funds" in page.content
        assert b"Nothing was charged" in page.content
        wait_for(lambda: Payment.objects.filter(account_id=alice.account.pk).exists(), "the first payment")
        assert Payment.objects.filter(account_id=alice.account.pk).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(("fields", "message"), [
    ({"amount": "10.001"}, b"Ensure that there are no more than 2 decimal places."),
    ({"amount": "0"}, b"Ensure this value is greater than or equal to 0.01."),
    ({"amount": "25000.00"}, b"At most $10,000.00 in one payment here"),
    ({"exp_year": "2020"}, b"The card has expired."),
    ({"card_number": "4242"}, b"A card number is 12 to 19 digits."),
    ({"cvc": "12a"}, b"The security code is 3 or 4 digits."),
])
def test_bad_payment_input_is_a_precise_message_and_charges_nothing(client, alice, portal_user, fields, message):
    client.force_login(portal_user(alice))
    response = _pay(client, alice.account.account_number, **fields)
    assert response.status_code == 400
    assert message in response.content
    assert not CardCharge.objects.exists()
    # The card number and security code are not shown back.
    assert b'value="4242 4242 4242 4242"' not in response.content and b'value="123"' not in response.content


@pytest.mark.django_db
def test_a_gateway_that_does_not_answer_charges_nothing_and_says_so(client, alice, portal_user, settings):
    settings.UTILIS_GATEWAY_URL = "http://127.0.0.1:9"  # nothing listens there
    client.force_login(portal_user(alice))
    response = _pay(client, alice.account.account_number)
    assert response.status_code == 503
    assert b"could not reach the card processor, so nothing was charged" in response.content
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_another_accounts_payment_reference_is_404(client, alice, bob, portal_user):
    theirs = CardCharge.objects.create(reference="UC-bobs", gateway="sandbox", account_id=bob.account.pk,
                                       amount=Decimal("5.00"), token="tok_b", last4="4242", status="pending",
                                       actor="bob")
    client.force_login(portal_user(alice))
    url = reverse("portal:pay-status", args=[alice.account.account_number])
    assert client.get(url, {"ref": theirs.reference}).status_code == 404
    assert client.get(url, {"ref": "UC-none"}).status_code == 404
    assert client.get(url).status_code == 200
