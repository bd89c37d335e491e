from decimal import Decimal

import pytest
from django.contrib.messages import get_messages

from billing.services import ledger
from cis.tests.factories import AccountFactory
from conftest import PASSWORD
from core.panels import account_panels

pytestmark = pytest.mark.django_db


def test_csr_posts_a_payment_from_the_hub(client, csr):
    account = AccountFactory()
    client.login(username=csr.username, password=PASSWORD)
    response = client.post(
        f"/billing/accounts/{account.account_number}/payment/",
        {"amount": "75.25", "tender_type": "cheque", "received_date": "2026-03-01", "reference": "RCPT-9",
         "reason": "walk-in"},
    )
    assert response.status_code == 302
    assert ledger.account_balance(account_id=account.pk) == Decimal("-75.25")
    entry = ledger.account_ledger(account_id=account.pk)[0]
    # The payment goes through billing.payments: the ledger names its receipt, the payment keeps the reference.
    assert entry.created_by == csr and entry.payment_reference == entry.payment.receipt_number
    assert (entry.payment.reference, entry.payment.tender_type, entry.payment.channel) == ("RCPT-9", "cheque", "cashier")


def test_adjustment_without_reason_is_refused_and_nothing_posted(client, csr):
    account = AccountFactory()
    client.login(username=csr.username, password=PASSWORD)
    response = client.post(
        f"/billing/accounts/{account.account_number}/adjustment/",
        {"amount": "10.00", "effective_date": "2026-03-01", "reason": ""},
    )
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert said and said[0].startswith("Adjustment not posted: reason")
    assert ledger.account_balance(account_id=account.pk) == Decimal("0")


def test_field_crew_cannot_post_money(client, field_user):
    account = AccountFactory()
    client.login(username=field_user.username, password=PASSWORD)
    response = client.post(
        f"/billing/accounts/{account.account_number}/payment/", {"amount": "5.00", "received_date": "2026-03-01"}
    )
    assert response.status_code == 403
    assert ledger.account_balance(account_id=account.pk) == Decimal("0")


def test_billing_registers_the_bills_and_balance_panel():
    assert "billing.balance" in {p.key for p in account_panels()}
