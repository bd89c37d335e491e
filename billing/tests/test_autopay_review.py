"""The Billing Hub's autopay pieces: the bank's returns file uploaded on the Payments page
(returns reverse their debits with fees, bad lines named), and the review of debits held above
the maximum withdrawal amount: "send anyway" (a file of its own, posted once) or "skip", with who
and why."""
from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from billing.payments import autopay, autopay_review, nacha
from billing.payments.autopay_models import AutopayDebit, AutopayDebitFile
from billing.payments.models import Payment, PaymentReturn
from billing.payments.tests.helpers import CLERK, D, issued_bill
from billing.services import ledger, payment_post
from billing.tests.test_autopay import BILL_DATE, DUE, ROUTING, _records, enrol
from cis.tests.factories import AccountFactory

pytestmark = pytest.mark.django_db
REVIEWED_AT = timezone.make_aware(dt.datetime(2026, 2, 24, 10))  # two days after the due date


@pytest.fixture
def held(settings, tmp_path):
    settings.UTILIS_AUTOPAY_OUTBOX = str(tmp_path)
    accounts = [AccountFactory() for _ in range(3)]
    for account in accounts:
        enrol(account, max_amount="50.00")
        issued_bill(account_id=account.pk, total="80.00", bill_date=BILL_DATE)
    autopay.autopay_debit_file(due_date=DUE, actor=CLERK)
    debits = list(AutopayDebit.objects.order_by("account_id"))
    assert [d.status for d in debits] == ["held"] * 3
    return debits


def test_send_anyway_debits_in_a_file_of_its_own_and_posts_once(held):
    debit = held[0]
    sent = autopay_review.autopay_held_review(debit=debit, decision="send", reason="Customer called: winter bill",
                                              actor=CLERK, now=REVIEWED_AT)
    assert (sent.status, sent.amount, sent.reviewed_actor, sent.review_reason) == (
        "sent", D("80.00"), CLERK.username, "Customer called: winter bill")
    debit_file = AutopayDebitFile.objects.get()
    assert (debit_file.due_date, debit_file.file_id_modifier, debit_file.entry_count) == (DUE, "A", 1)
    records = _records(debit_file.content)
    assert records[1][69:75] == "260224"  # effective the day of the review: the due date had passed
    assert records[2][29:39] == "0000008000" and records[2][79:94] == sent.trace_number
    payment = Payment.objects.get(external_reference=sent.trace_number)
    assert (payment.channel, payment.amount, payment.received_date) == ("autopay", D("80.00"), dt.date(2026, 2, 24))
    assert ledger.account_balance(account_id=debit.account_id) == D("0.00")
    with pytest.raises(autopay.AutopayError, match="reviewed already"):
        autopay_review.autopay_held_review(debit=debit, decision="send", reason="again", actor=CLERK, now=REVIEWED_AT)
    assert Payment.objects.filter(channel="autopay").count() == 1
    # A second one sent for the same due date gets the next file modifier.
    autopay_review.autopay_held_review(debit=held[1], decision="send", reason="ok", actor=CLERK, now=REVIEWED_AT)
    assert AutopayDebitFile.objects.get(debits=held[1]).file_id_modifier == "B"


def test_send_anyway_debits_only_what_is_still_open_and_a_paid_bill_is_refused(held):
    partly, paid = held[0], held[1]
    payment_post(account_id=partly.account_id, amount="30.00", received_date=dt.date(2026, 2, 23), channel="cashier",
                 tender_type="cash", actor=CLERK)
    payment_post(account_id=paid.account_id, amount="80.00", received_date=dt.date(2026, 2, 23), channel="cashier",
                 tender_type="cash", actor=CLERK)
    assert autopay_review.autopay_held_review(debit=partly, decision="send", reason="ok", actor=CLERK,
                                              now=REVIEWED_AT).amount == D("50.00")
    with pytest.raises(autopay.AutopayError, match="paid already: skip"):
        autopay_review.autopay_held_review(debit=paid, decision="send", reason="ok", actor=CLERK, now=REVIEWED_AT)
    paid.refresh_from_db()
    assert paid.status == "held" and paid.reviewed_at is None  # nothing of the refused review stays


def test_skip_records_who_and_why_and_the_database_wants_both(held):
    skipped = autopay_review.autopay_held_review(debit=held[2], decision="skip", reason="Customer pays by cheque",
                                                 actor=CLERK, now=REVIEWED_AT)
    assert (skipped.status, skipped.file, skipped.payment, skipped.review_reason) == (
        "skipped", None, None, "Customer pays by cheque")
    assert ledger.account_balance(account_id=skipped.account_id) == D("80.00")
    with pytest.raises(IntegrityError), transaction.atomic():
        AutopayDebit.objects.filter(pk=held[1].pk).update(status="skipped")  # no who, no why
    with pytest.raises(Exception, match="Say why"):
        autopay_review.autopay_held_review(debit=held[1], decision="skip", reason=" ", actor=CLERK, now=REVIEWED_AT)


def test_the_payments_page_reviews_held_debits(held, client, billing_user):
    client.force_login(billing_user)
    page = client.get(reverse("billing:payments")).content.decode()
    assert page.count("Send anyway</button>") == 3
    url = reverse("billing:autopay-held-review", args=[held[0].pk])
    html = client.post(url, {"decision": "send", "reason": ""}, follow=True).content.decode()
    assert "not reviewed: reason" in html
    html = client.post(url, {"decision": "skip", "reason": "Paid at the counter"}, follow=True).content.decode()
    assert f"Debit of bill {held[0].bill_id} skipped" in html
    assert f'data-testid="autopay-reviewed-{held[0].pk}"' in html and "Paid at the counter" in html
    html = client.post(reverse("billing:autopay-held-review", args=[held[1].pk]),
                       {"decision": "send", "reason": "Approved by the customer"}, follow=True).content.decode()
    assert "sent anyway in file" in html
    assert AutopayDebit.objects.get(pk=held[1].pk).reviewed_by == billing_user


def test_the_returns_file_is_uploaded_on_the_payments_page(client, billing_user):
    accounts = [AccountFactory() for _ in range(2)]
    for i, account in enumerate(accounts):
        enrol(account, number=f"4000000{i}21")
        issued_bill(account_id=account.pk, total="75.50", bill_date=BILL_DATE)
    autopay.autopay_debit_file(due_date=DUE, actor=CLERK)
    debits = list(AutopayDebit.objects.order_by("account_id"))
    entries = [nacha.DebitEntry(routing_number=ROUTING, account_number=f"4000000{i}21", account_type="checking",
                                amount=d.amount, individual_id="x", individual_name="x", trace_number=d.trace_number)
               for i, d in enumerate(debits)]
    unknown = nacha.DebitEntry(routing_number=ROUTING, account_number="1234", account_type="checking", amount=D("9.00"),
                               individual_id="x", individual_name="x", trace_number="021000029999999")
    content = nacha.write_returns_file(originator=autopay.originator(),
                                       returns=[(entries[0], "R01"), (entries[1], "R02"), (unknown, "R01")],
                                       created_at=dt.datetime(2026, 2, 25, 9, 30))
    client.force_login(billing_user)
    url = reverse("billing:autopay-returns-upload")

    def upload():
        return client.post(url, {"file": SimpleUploadedFile("returns.ach", content.encode())}, follow=True).content.decode()

    html = upload()
    assert "returns.ach: 2 returned (payment reversed, fee charged), 0 already returned, 1 enrolments cancelled" in html
    assert "1 lines not read: line 8 original_trace_number: No autopay debit has trace number 021000029999999." in html
    assert PaymentReturn.objects.count() == 2
    assert "returns.ach: 0 returned (payment reversed, fee charged), 2 already returned" in upload()
    assert PaymentReturn.objects.count() == 2
    html = client.post(url, {}, follow=True).content.decode()
    assert "Returns file not imported: file" in html
