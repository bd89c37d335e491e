"""Bills over REST (issue 9): a filtered, paged list; one bill with its segments, lines (how each
was made) and totals; its stored PDF, or 202 "being prepared" with a render queued. Drafts are
seen only by billing staff."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from billing import pdf
from billing.models import Bill, BillDocument
from billing.tests.test_pdf import LINES, make_bill
from cis.tests.factories import AccountFactory, ServiceAgreementFactory, ServicePointFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def account():
    account = AccountFactory(account_number="1000000042")
    ServiceAgreementFactory(account=account, agreement_number="SA00000007",
                            service_point=ServicePointFactory(sp_number="SP00000031"))
    return account


@pytest.fixture
def bills(account):
    jan = make_bill(account, dt.date(2026, 1, 1), dt.date(2026, 2, 1), 600, lines=LINES, total="32.40")
    feb = make_bill(account, dt.date(2026, 2, 1), dt.date(2026, 3, 1), 745, lines=LINES, total="32.40")
    draft = make_bill(account, dt.date(2026, 3, 1), dt.date(2026, 4, 1), 700, status=Bill.Status.DRAFT)
    other = make_bill(AccountFactory(account_number="2000000001"), dt.date(2026, 2, 1), dt.date(2026, 3, 1), 10)
    return {"jan": jan, "feb": feb, "draft": draft, "other": other}


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [b["id"] for b in response.json()["results"]]


def test_billing_staff_list_every_bill_newest_first_and_filter_them(api_for, billing_user, bills):
    client = api_for(billing_user)
    assert ids(client.get("/api/billing/bills/")) == [bills["draft"].pk, bills["other"].pk, bills["feb"].pk,
                                                      bills["jan"].pk]
    assert ids(client.get("/api/billing/bills/?account=1000000042&status=issued")) == [bills["feb"].pk, bills["jan"].pk]
    assert ids(client.get("/api/billing/bills/?bill_date_after=2026-02-15&bill_date_before=2026-03-01")) == [
        bills["other"].pk, bills["feb"].pk]
    assert ids(client.get(f"/api/billing/bills/?bill_number={bills['jan'].bill_number.lower()}")) == [bills["jan"].pk]


def test_csrs_and_api_clients_see_only_bills_that_were_issued(api_for, csr, make_user, bills):
    for user in (csr, make_user("partner", "api_client")):
        client = api_for(user)
        assert bills["draft"].pk not in ids(client.get("/api/billing/bills/?account=1000000042"))
        assert client.get(f"/api/billing/bills/{bills['draft'].pk}/").status_code == 404
        assert client.get(f"/api/billing/bills/{bills['draft'].pk}/pdf/").status_code == 404
        assert client.get(f"/api/billing/bills/{bills['feb'].pk}/").status_code == 200


def test_metering_staff_and_field_crews_may_not_read_bills(api_for, metering_user, field_user, bills):
    for user in (metering_user, field_user):
        assert api_for(user).get("/api/billing/bills/").status_code == 403


def test_bad_filters_are_400s_naming_the_field(api_for, billing_user, bills):
    client = api_for(billing_user)
    assert client.get("/api/billing/bills/?account=NOPE").json() == {"account": ["There is no account NOPE."]}
    response = client.get("/api/billing/bills/?bill_date_after=2026-03-01&bill_date_before=2026-02-01")
    assert response.status_code == 400 and "bill_date_before" in response.json()
    assert client.get("/api/billing/bills/?status=paid").status_code == 400
    assert client.get("/api/billing/bills/?bill_date_after=soon").status_code == 400


def test_a_bill_has_its_segments_lines_with_how_they_were_made_and_totals(api_for, csr, bills):
    body = api_for(csr).get(f"/api/billing/bills/{bills['feb'].pk}/").json()
    assert body["account"] == "1000000042" and body["status"] == "issued"
    assert body["period_end"] == "2026-03-01" and body["total"] == "32.40" and body["amount_due"] == "44.90"
    [segment] = body["segments"]
    assert segment["agreement"] == "SA00000007" and segment["service_point"] == "SP00000031"
    assert segment["determinants"]["consumption"] == "745"
    customer, energy = segment["lines"]
    assert customer["how"] == "$10.00 per bill" and customer["component_kind"] == "fixed"
    assert energy["how"] == "112 kWh × $0.20, prorated to 50% of the period"
    assert energy["rule"] == "block 2 · period ON · rule energy (tou)"
    assert body["segments_total"] == "32.40" and body["pdf"] == f"/api/billing/bills/{bills['feb'].pk}/pdf/"
    assert body["pdf_status"] is None and body["replaced_by"] is None


def test_an_unknown_bill_is_404(api_for, billing_user):
    response = api_for(billing_user).get("/api/billing/bills/987654/")
    assert response.status_code == 404 and response.json() == {"detail": "There is no bill 987654."}


def test_the_pdf_is_202_being_prepared_and_queued_then_the_stored_file(api_for, csr, bills, monkeypatch,
                                                                         django_capture_on_commit_callbacks):
    queued: list[list[int]] = []
    monkeypatch.setattr(pdf, "_queue", lambda bill_ids: queued.append(list(bill_ids)))
    client = api_for(csr)
    bill = bills["feb"]
    with django_capture_on_commit_callbacks(execute=True):
        waiting = client.get(f"/api/billing/bills/{bill.pk}/pdf/")
    assert waiting.status_code == 202 and waiting["Retry-After"] == str(pdf.PREPARING_REFRESH_SECONDS)
    assert waiting.json() == {"detail": f"The PDF of bill {bill.bill_number} is being prepared; ask again in "
                                        f"{pdf.PREPARING_REFRESH_SECONDS} seconds.",
                              "status": "pending", "retry_after": pdf.PREPARING_REFRESH_SECONDS}
    assert queued == [[bill.pk]]
    # Asked again at once: still pending, not queued twice.
    with django_capture_on_commit_callbacks(execute=True):
        assert client.get(f"/api/billing/bills/{bill.pk}/pdf/").status_code == 202
    assert queued == [[bill.pk]]
    # The worker stores it; the API serves the stored bytes, whatever the client asked for.
    document = BillDocument.objects.get(bill=bill)
    document.file.save("2026/03/bill.pdf", ContentFile(b"%PDF-1.7 stored"), save=False)
    document.status, document.bill_state, document.rendered_at = BillDocument.Status.READY, pdf.bill_state(bill), timezone.now()
    document.save()
    served = client.get(f"/api/billing/bills/{bill.pk}/pdf/", HTTP_ACCEPT="application/pdf")
    assert served.status_code == 200 and served["Content-Type"] == "application/pdf"
    assert b"".join(served.streaming_content) == b"%PDF-1.7 stored"
    assert client.get(f"/api/billing/bills/{bill.pk}/").json()["pdf_status"] == "ready"


def test_a_stored_pdf_from_before_a_change_is_not_served(api_for, billing_user, bills, monkeypatch):
    monkeypatch.setattr(pdf, "_queue", lambda bill_ids: None)
    bill = bills["jan"]
    document = BillDocument.objects.create(bill=bill, status=BillDocument.Status.READY, bill_state="issued|old|1|2|3|",
                                           requested_at=timezone.now() - dt.timedelta(hours=1))
    document.file.save("old.pdf", ContentFile(b"%PDF old"))
    response = api_for(billing_user).get(f"/api/billing/bills/{bill.pk}/pdf/")
    assert response.status_code == 202
    assert BillDocument.objects.get(bill=bill).status == BillDocument.Status.PENDING


def test_amounts_are_decimal_strings(api_for, billing_user, account):
    bill = make_bill(account, dt.date(2026, 5, 1), dt.date(2026, 6, 1), 1, total="0.10")
    Bill.objects.filter(pk=bill.pk).update(amount_due=Decimal("1234567.89"))
    body = api_for(billing_user).get(f"/api/billing/bills/{bill.pk}/").json()
    assert body["amount_due"] == "1234567.89" and body["total"] == "0.10"


def test_the_openapi_document_has_the_bill_and_ledger_operations_with_their_answers(api_for, billing_user):
    document = api_for(billing_user).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = document["paths"]
    pdf_answers = paths["/api/billing/bills/{bill_id}/pdf/"]["get"]["responses"]
    assert "application/pdf" in pdf_answers["200"]["content"] and {"202", "401", "403", "404"} <= set(pdf_answers)
    for path in ("/api/billing/bills/", "/api/billing/bills/{bill_id}/", "/api/billing/accounts/{account_number}/ledger/",
                 "/api/billing/accounts/{account_number}/balance/", "/api/billing/accounts/{account_number}/aging/",
                 "/api/billing/accounts/{account_number}/billed-through/"):
        assert {"200", "400", "401", "403", "404"} <= set(paths[path]["get"]["responses"]), path
