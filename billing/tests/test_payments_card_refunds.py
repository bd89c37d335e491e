"""The card gateway's refunds and chargebacks, and the job that asks about charges whose webhook
never came: the sandbox gateway (a real server) refunds or has a charge disputed and tells Utilis
by signed webhook; a refund is a charge on the ledger once per refund id, a chargeback a returned
payment (reversal, fee, credit rating) once, however often the gateway delivers it."""
from __future__ import annotations

import datetime as dt
import json
import time
import urllib.request
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.payments.card_models import CardCharge, CardRefund
from billing.payments.card_tasks import card_charges_poll_due
from billing.payments.models import Fee, Payment, PaymentReturn
from billing.selectors import account_credit_rating
from billing.services import card_charges_poll, card_payment_take, ledger
from billing.tests.sandbox_gateway import SECRET, WEBHOOK, events, post_json, sandbox_running, wait_for
from cis.tests.factories import AccountFactory
from core.actors import Actor
from core.clock import utility_today
from integrations.payment_gateways.signing import signature_header

pytestmark = pytest.mark.django_db(transaction=True)
CUSTOMER = Actor.system("test-customer")


def _account(balance: str = "70.00"):
    account = AccountFactory()
    ledger.ledger_post_adjustment(account_id=account.pk, amount=balance, effective_date=utility_today(),
                                  reason="opening balance")
    return account


def _pay(account, number: str, amount: str) -> CardCharge:
    return card_payment_take(account_id=account.pk, amount=amount, card_number=number, exp_month=12, exp_year=2035,
                             cvc="123", actor=CUSTOMER)


def _posted(account) -> Payment:
    return wait_for(lambda: Payment.objects.filter(account_id=account.pk).first(), "the webhook to post")


def _resend(url: str, charge_id: str) -> None:
    request = urllib.request.Request(f"{url}/v1/charges/{charge_id}/resend", data=b"{}", method="POST")
    with urllib.request.urlopen(request, timeout=5):  # noqa: S310 - the test's own server
        pass


def _acknowledged(url: str, charge_id: str, kind: str, attempts: int = 1) -> bool:
    return any(e["type"] == kind and e["acknowledged"] and len(e["attempts"]) >= attempts
               for e in events(url, charge_id))


def test_a_refund_at_the_gateway_is_a_ledger_charge_once_and_never_more_than_the_payment(
        settings, live_server):
    with sandbox_running(settings, webhook_url=live_server.url + WEBHOOK) as url:
        account = _account("70.00")
        charge = _pay(account, "4242424242424242", "70.00")
        payment = _posted(account)
        assert ledger.account_balance(account_id=account.pk) == Decimal("0.00")

        status, refund = post_json(f"{url}/v1/charges/{charge.transaction_id}/refunds",
                                   {"amount": 2500, "reason": "requested_by_customer"})
        assert status == 200
        row = wait_for(lambda: CardRefund.objects.filter(refund_id=refund["id"]).first(), "the refund webhook")
        assert (row.amount, row.card_charge_id, row.gateway) == (Decimal("25.00"), charge.pk, "sandbox")
        assert ledger.account_balance(account_id=account.pk) == Decimal("25.00")
        assert row.ledger_entry.amount == Decimal("25.00")
        assert row.ledger_entry.reason.startswith(f"Card refund {refund['id']} of payment {payment.receipt_number}")

        # Delivered again: acknowledged (200), recorded once.
        wait_for(lambda: _acknowledged(url, charge.transaction_id, "refund.succeeded"), "the acknowledgement")
        _resend(url, charge.transaction_id)
        wait_for(lambda: _acknowledged(url, charge.transaction_id, "refund.succeeded", attempts=2), "the resend")
        assert CardRefund.objects.filter(card_charge=charge).count() == 1
        assert ledger.account_balance(account_id=account.pk) == Decimal("25.00")

        # The rest; then the gateway itself refuses a refund past the charge.
        status, rest = post_json(f"{url}/v1/charges/{charge.transaction_id}/refunds", {})
        assert status == 200 and rest["amount"] == 4500
        wait_for(lambda: CardRefund.objects.filter(refund_id=rest["id"]).exists(), "the second refund")
        assert ledger.account_balance(account_id=account.pk) == Decimal("70.00")
        status, answer = post_json(f"{url}/v1/charges/{charge.transaction_id}/refunds", {"amount": 1})
        assert status == 400 and answer["error"]["code"] == "invalid_amount"
        # The payment itself stands (it was received); no return, no fee, no credit-rating count.
        assert not PaymentReturn.objects.exists() and not Fee.objects.exists()


def _signed_post(client, body: dict):
    raw = json.dumps(body).encode()
    return client.post(WEBHOOK, data=raw, content_type="application/json",
                       HTTP_SANDBOX_SIGNATURE=signature_header(SECRET, int(time.time()), raw))


def _charge_row(account, amount="30.00") -> CardCharge:
    return CardCharge.objects.create(reference="UC-test-1", gateway="sandbox", transaction_id="ch_t1",
                                     account_id=account.pk, amount=Decimal(amount), token="tok_t", brand="Visa",
                                     last4="4242", status="pending", actor="test")


def _charge_data(status="succeeded", amount=3000):
    return {"id": "ch_t1", "status": status, "amount": amount, "currency": "CAD", "reference": "UC-test-1"}


def test_a_refund_arriving_before_the_charges_own_confirmation_posts_the_payment_first(client, settings):
    settings.UTILIS_GATEWAY_WEBHOOK_SECRET = SECRET
    account = _account("30.00")
    _charge_row(account)
    response = _signed_post(client, {"id": "evt_r1", "type": "refund.succeeded", "data": {
        "object": "refund", "id": "re_1", "amount": 1000, "reason": "duplicate", "charge": _charge_data()}})
    assert response.status_code == 200, response.content
    payment = Payment.objects.get(account_id=account.pk)
    assert (payment.amount, payment.external_reference) == (Decimal("30.00"), "ch_t1")
    assert CardRefund.objects.get().amount == Decimal("10.00")
    assert ledger.account_balance(account_id=account.pk) == Decimal("10.00")


def test_a_refund_past_the_payment_or_of_a_charge_not_posted_is_422_and_changes_nothing(client, settings):
    settings.UTILIS_GATEWAY_WEBHOOK_SECRET = SECRET
    account = _account("30.00")
    _charge_row(account)
    too_much = _signed_post(client, {"id": "evt_r2", "type": "refund.succeeded", "data": {
        "object": "refund", "id": "re_2", "amount": 3001, "charge": _charge_data()}})
    assert too_much.status_code == 422 and "past its 30.00" in too_much.json()["detail"]
    assert not CardRefund.objects.exists()
    declined = CardCharge.objects.create(reference="UC-test-2", gateway="sandbox", transaction_id="ch_t2",
                                         account_id=account.pk, amount=Decimal("5.00"), token="tok_t", brand="Visa",
                                         last4="0002", status="declined", actor="test")
    not_posted = _signed_post(client, {"id": "evt_r3", "type": "refund.succeeded", "data": {
        "object": "refund", "id": "re_3", "amount": 500, "charge": {
            "id": "ch_t2", "status": "declined", "amount": 500, "currency": "CAD", "reference": declined.reference}}})
    assert not_posted.status_code == 422 and "was not posted" in not_posted.json()["detail"]
    assert not CardRefund.objects.exists()


def test_a_chargeback_becomes_a_returned_payment_with_the_fee_and_a_credit_rating_count_once(
        settings, live_server):
    with sandbox_running(settings, webhook_url=live_server.url + WEBHOOK) as url:
        account = _account("40.00")
        # The sandbox's dispute test card: approved, confirmed, then the card holder's bank takes it back.
        charge = _pay(account, "4000 0000 0000 0259", "40.00")
        payment = _posted(account)
        returned = wait_for(lambda: PaymentReturn.objects.filter(payment=payment).first(), "the dispute webhook")
        assert returned.kind == "chargeback" and returned.external_reference.startswith("dp_")
        assert returned.counts_for_credit
        fee = Fee.objects.get(payment_return=returned)
        assert fee.amount == Decimal("25.00")
        # The payment's credit is reversed and the fee charged: 40.00 owed again plus 25.00.
        assert ledger.account_balance(account_id=account.pk) == Decimal("65.00")
        assert account_credit_rating(account_id=account.pk, as_of=utility_today()).returns == 1

        wait_for(lambda: _acknowledged(url, charge.transaction_id, "dispute.created"), "the acknowledgement")
        _resend(url, charge.transaction_id)
        wait_for(lambda: _acknowledged(url, charge.transaction_id, "dispute.created", attempts=2), "the resend")
        assert PaymentReturn.objects.count() == 1 and Fee.objects.count() == 1
        assert ledger.account_balance(account_id=account.pk) == Decimal("65.00")
        # A disputed charge cannot be refunded at the gateway.
        status, answer = post_json(f"{url}/v1/charges/{charge.transaction_id}/refunds", {})
        assert status == 400 and answer["error"]["code"] == "charge_disputed"


def test_charges_whose_webhook_never_came_are_settled_by_asking_the_gateway(settings):
    # No webhook URL: the gateway settles its charges but never tells Utilis.
    with sandbox_running(settings, webhook_url="", delay=0.1) as url:
        account = _account("55.00")
        charge = _pay(account, "4242424242424242", "55.00")
        assert charge.status == "pending"
        time.sleep(0.5)  # the sandbox has settled it by now
        now = timezone.now()
        # Younger than the wait: not asked yet.
        assert card_charges_poll(now=now, older_than=dt.timedelta(minutes=10)).asked == 0
        result = card_charges_poll(now=now + dt.timedelta(minutes=11), older_than=dt.timedelta(minutes=10))
        assert (result.asked, result.settled, result.still_pending, result.errors) == (1, 1, 0, [])
        charge.refresh_from_db()
        assert charge.status == "succeeded" and charge.payment.external_reference == charge.transaction_id
        assert ledger.account_balance(account_id=account.pk) == Decimal("0.00")
        # Asked again (or the late webhook comes): nothing more.
        assert card_charges_poll(now=now + dt.timedelta(minutes=20), older_than=dt.timedelta(minutes=10)).asked == 0
        assert Payment.objects.filter(account_id=account.pk).count() == 1

        # The beat task does the same with its setting; a card the gateway fails is recorded, not posted.
        failing = _pay(account, "4000000000000341", "5.00")
        time.sleep(0.5)
        settings.UTILIS_CARD_POLL_AFTER_MINUTES = 0
        answer = card_charges_poll_due.apply().get()
        assert answer == {"asked": 1, "settled": 1, "still_pending": 0, "errors": []}
        failing.refresh_from_db()
        assert failing.status == "failed" and failing.payment_id is None
        assert url


def test_a_gateway_that_does_not_answer_leaves_the_charge_pending_for_the_next_round(settings):
    settings.UTILIS_PAYMENT_GATEWAY = "sandbox"
    settings.UTILIS_GATEWAY_URL = "http://127.0.0.1:9"  # nothing listens there
    account = _account("30.00")
    row = _charge_row(account)
    result = card_charges_poll(now=timezone.now() + dt.timedelta(hours=1), older_than=dt.timedelta(minutes=10))
    assert result.asked == 0 and len(result.errors) == 1 and "did not answer" in result.errors[0]
    row.refresh_from_db()
    assert row.status == "pending" and not Payment.objects.exists()


def test_card_charges_and_refunds_are_read_only_in_the_admin_without_the_token(admin_client, settings):
    settings.UTILIS_GATEWAY_WEBHOOK_SECRET = SECRET
    account = _account("30.00")
    row = _charge_row(account)
    _signed_post(admin_client, {"id": "evt_r9", "type": "refund.succeeded", "data": {
        "object": "refund", "id": "re_9", "amount": 500, "charge": _charge_data()}})
    for name in ("billing_cardcharge", "billing_cardrefund"):
        page = admin_client.get(f"/admin/billing/{name.split('_')[1]}/")
        assert page.status_code == 200, name
    change = admin_client.get(f"/admin/billing/cardcharge/{row.pk}/change/")
    assert change.status_code == 200 and b"tok_t" not in change.content
    assert b"re_9" in admin_client.get("/admin/billing/cardrefund/").content
