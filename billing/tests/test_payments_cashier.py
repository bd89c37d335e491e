"""The cashier / CSR payment form on the account page (tender type, receipt shown after
posting, through payment_post) and the payments panel on the account 360 page."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages

from billing.payments.models import Payment
from billing.services import ledger, payment_return
from cis.tests.factories import AccountFactory
from conftest import PASSWORD
from core.actors import Actor
from core.panels import account_panels

pytestmark = pytest.mark.django_db


def said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_the_cashier_posts_with_a_tender_type_and_is_told_the_receipt(client, csr):
    account = AccountFactory()
    ledger.ledger_post_adjustment(account_id=account.pk, amount="50.00", effective_date=dt.date(2026, 2, 1),
                                  reason="opening balance")
    client.login(username=csr.username, password=PASSWORD)
    response = client.post(f"/billing/accounts/{account.account_number}/payment/",
                           {"amount": "60.00", "tender_type": "cash", "received_date": "2026-03-01"})
    payment = Payment.objects.get(account_id=account.pk)
    assert (payment.channel, payment.tender_type, payment.amount, payment.created_by) == (
        "cashier", "cash", Decimal("60.00"), csr)
    assert said(response) == [f"Payment of $60.00 (cash) posted to {account.account_number}: "
                              f"receipt {payment.receipt_number}."]
    assert ledger.account_balance(account_id=account.pk) == Decimal("-10.00")


def test_an_unknown_tender_type_is_a_form_error_and_posts_nothing(client, csr):
    account = AccountFactory()
    client.login(username=csr.username, password=PASSWORD)
    response = client.post(f"/billing/accounts/{account.account_number}/payment/",
                           {"amount": "5.00", "tender_type": "gold", "received_date": "2026-03-01"})
    assert said(response)[0].startswith("Payment not posted: tender_type")
    assert not Payment.objects.exists()


def test_the_account_page_shows_payment_history_with_allocations_and_returns(client, csr):
    account = AccountFactory()
    ledger.ledger_post_adjustment(account_id=account.pk, amount="80.00", effective_date=dt.date(2026, 2, 1),
                                  reason="opening balance")
    client.login(username=csr.username, password=PASSWORD)
    client.post(f"/billing/accounts/{account.account_number}/payment/",
                {"amount": "80.00", "tender_type": "cheque", "received_date": "2026-03-01", "reference": "CHQ 5"})
    payment = Payment.objects.get()
    payment_return(payment=payment, kind="nsf", return_date=dt.date(2026, 3, 8), reason="cheque bounced",
                   actor=Actor.system("bank returns"))
    page = client.get(f"/hub/accounts/{account.account_number}/").content.decode()
    assert "billing.payments" in {p.key for p in account_panels()}
    assert f'data-testid="payment-{payment.receipt_number}"' in page
    assert "Cheque" in page and "cheque bounced" in page and "fee $25.00" in page
    assert "→ Charge adjustment" in page  # the allocation to the charge it paid, then its release
    assert 'data-testid="open-charges">$105.00' in page
    assert 'data-testid="credit-rating">fair' in page
