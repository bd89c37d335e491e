"""What a customer sees: home, bills explained, the stored PDF, usage from their own agreement only."""
from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from billing.models import BillDocument, BillLine
from portal.presenting import explain_line

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, alice, portal_user):
    client.force_login(portal_user(alice))
    return client


def test_home_shows_balance_amount_due_due_date_and_last_bill(signed_in, alice):
    page = signed_in.get(reverse("portal:account", args=[alice.account.account_number])).content.decode()
    assert "$96.87" in page  # balance: both bills on the ledger
    assert "$51.20" in page and "Mar 22, 2026" in page  # the last bill's amount due and due date
    assert reverse("portal:bill", args=[alice.account.account_number, alice.bills[1].pk]) in page


def test_single_account_home_goes_straight_to_it(signed_in, alice):
    response = signed_in.get(reverse("portal:home"))
    assert response["Location"] == reverse("portal:account", args=[alice.account.account_number])


def test_bill_lines_are_explained_in_plain_words_without_rule_codes(signed_in, alice):
    page = signed_in.get(reverse("portal:bill", args=[alice.account.account_number, alice.bills[0].pk])).content.decode()
    assert "Delivery charge" in page and "38.2 kWh × $0.041" in page
    assert "the energy you used" in page
    assert "$10.00 per bill" in page and "keeping your service connected" in page
    assert "delivery_flat_rule_9" not in page and "customer_fixed_rule_7" not in page  # internal rule codes


def test_drafts_are_not_shown(signed_in, alice):
    draft = alice.bills[0]
    draft.pk = None
    draft.bill_number = None
    draft.status = "draft"
    draft.save()
    assert signed_in.get(reverse("portal:bill", args=[alice.account.account_number, draft.pk])).status_code == 404
    listing = signed_in.get(reverse("portal:bills", args=[alice.account.account_number])).content.decode()
    assert reverse("portal:bill", args=[alice.account.account_number, draft.pk]) not in listing


def test_pdf_is_the_stored_document_or_a_being_prepared_page(signed_in, alice, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    url = reverse("portal:bill-pdf", args=[alice.account.account_number, alice.bills[0].pk])
    assert signed_in.get(url).status_code == 202
    doc = BillDocument(bill=alice.bills[0], status="ready", requested_at=timezone.now())
    doc.file.save("bills/ba1.pdf", ContentFile(b"%PDF-1.7 stored"), save=False)
    doc.save()
    response = signed_in.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == b"%PDF-1.7 stored"


def test_usage_counts_only_the_accounts_own_agreement_days_and_shows_estimates_apart(signed_in, alice):
    url = reverse("portal:usage", args=[alice.account.account_number])
    response = signed_in.get(url, {"start": "2026-01-20", "end": "2026-02-28", "by": "month"})
    assert response.status_code == 200
    charts = response.context["charts"]
    delivered = next(c for c in charts if c["series"].direction == "delivered")
    # The previous occupant's January is not Alice's: February only, 1 kWh an hour, Feb 1 estimated.
    assert [b.label for b in delivered["buckets"]] == ["2026-02"]
    assert delivered["actual"] == 27 * 24 and delivered["estimated"] == 24
    received = next(c for c in charts if c["series"].direction == "received")
    assert received["actual"] == 28 * 24 * 0.25
    page = response.content.decode()
    assert "<script" not in page and "usage-chart__estimated" in page and "<svg" in page


def test_usage_by_hour_is_in_local_time(signed_in, alice):
    response = signed_in.get(reverse("portal:usage", args=[alice.account.account_number]),
                             {"start": "2026-02-10", "end": "2026-02-10", "by": "hour"})
    labels = [b.label for b in response.context["charts"][0]["buckets"]]
    assert labels[0] == "2026-02-10 00:00 EST" and len(labels) == 24


def test_bad_ranges_get_precise_messages(signed_in, alice):
    url = reverse("portal:usage", args=[alice.account.account_number])
    response = signed_in.get(url, {"start": "2026-02-10", "end": "2026-02-01"})
    assert response.status_code == 400 and b"The end date is before the start date." in response.content
    response = signed_in.get(url, {"start": "2026-02-30", "end": "2026-03-01"})
    assert response.status_code == 400 and b"Enter a valid date." in response.content
    csv_url = reverse("portal:usage-csv", args=[alice.account.account_number])
    response = signed_in.get(csv_url, {"start": "2024-01-01", "end": "2026-01-01"})
    assert response.status_code == 400 and b"At most 400 days" in response.content


def test_csv_has_one_row_per_interval_with_local_and_utc_times(signed_in, alice):
    response = signed_in.get(reverse("portal:usage-csv", args=[alice.account.account_number]),
                             {"start": "2026-01-31", "end": "2026-02-01"})
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    delivered = [r for r in rows if r["direction"] == "delivered"]
    assert len(delivered) == 24  # Jan 31 was the previous occupant's
    assert delivered[0]["start_local"] == "2026-02-01T00:00:00-05:00" and delivered[0]["start_utc"] == "2026-02-01T05:00:00Z"
    assert {r["quality"] for r in delivered} == {"estimated"}


@pytest.mark.parametrize(("fields", "how"), [
    ({"quantity": "54.01", "unit": "$", "price": "0.13"}, "13% of $54.01"),
    ({"quantity": "5.00", "unit": "$", "price": "-1"}, "$5.00 credit"),
    ({"quantity": "30", "unit": "days", "price": "0.35"}, "30 days × $0.35 a day"),
    ({"quantity": "600", "unit": "kWh", "price": "0.1", "proration": "0.5"},
     "600 kWh × $0.10 (for 50% of the period)"),
])
def test_explain_line_says_how_the_amount_is_worked_out(fields, how):
    line = BillLine(description="Charge", component_kind="tax", component_code="x",
                    amount=Decimal("1"), **{k: (Decimal(v) if k != "unit" else v) for k, v in fields.items()})
    assert explain_line(line).how == how
