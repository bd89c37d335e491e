"""Bills a customer can trust (issue 9) and PDFs that never time out (issue 8).

- Units: a gas or water segment says m³ and shows no kW demand; the usage chart is per
  commodity (kWh and m³ are never added together).
- Customer text: no rule codes on the PDF or e-bill, each line in words ("Energy charge,
  first 500 kWh: 500 kWh × $0.10", "13% of $54.01"), money one way ($1,234.56, -$12.00).
- Periods: inclusive dates everywhere (the top and the segments agree).
- Stored PDFs: issuing queues one render task per batch of bills after the commit (never a
  render in the issue transaction or the request); the PDF view serves the stored file, or a
  202 "being prepared" page that queues a render; staff regenerate in the background."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from billing import pdf
from billing.models import Bill, BillDocument, BillLine, BillSegment
from billing.services.runs import bills_issue
from billing.tests.test_pdf import LINES, make_bill
from cis.models import ServiceAgreement
from cis.tests.factories import AccountFactory, CustomerFactory, PremiseFactory, ServiceAgreementFactory, ServicePointFactory
from core.money import format_money, format_price
from core.templatetags.formats import inclusive_period

pytestmark = pytest.mark.django_db

FEB, MAR = dt.date(2026, 2, 1), dt.date(2026, 3, 1)


@pytest.fixture
def account():
    customer = CustomerFactory(first_name="Ada", last_name="Lovelace")
    account = AccountFactory(customer=customer, account_number="1000000042")
    ServiceAgreementFactory(account=account, service_point=ServicePointFactory(premise=PremiseFactory()))
    return account


def gas_segment(bill: Bill, account, *, m3="479.461") -> BillSegment:
    """A gas service point on the same bill, its lines in m3, its determinants (as the bill
    run stores them) with a max_demand_kw that means nothing for gas."""
    agreement = ServiceAgreementFactory(account=account, service_point=ServicePointFactory(commodity="gas"),
                                        rate_code="GAS")
    segment = BillSegment.objects.create(
        bill=bill, account_id=account.pk, agreement_id=agreement.pk, service_point_id=agreement.service_point_id,
        rate_code="GAS", period_start=bill.period_start, period_end=bill.period_end, subtotal=Decimal("62.33"),
        determinants={"metered": True, "consumption": m3, "max_demand_kw": "1.862", "received": "0"},
    )
    BillLine.objects.create(segment=segment, sequence=1, description="Gas supply", component_kind="flat",
                            component_code="gas_supply", quantity=Decimal(m3), unit="m3", price=Decimal("0.13"),
                            amount=Decimal("62.33"))
    return segment


# ---- money, periods ------------------------------------------------------------------------

def test_money_is_written_one_way():
    assert format_money(Decimal("1234.56")) == "$1,234.56"
    assert format_money(Decimal("-12")) == "-$12.00"
    assert format_money(Decimal("0.005")) == "$0.01"  # half-up, through core.money
    assert format_price(Decimal("0.10000000")) == "$0.10" and format_price(Decimal("0.082500")) == "$0.0825"


def test_a_period_is_shown_with_its_inclusive_last_day():
    assert inclusive_period(dt.date(2025, 10, 28), dt.date(2025, 11, 20)) == "Oct 28 – Nov 19, 2025"
    assert inclusive_period(dt.date(2025, 12, 28), dt.date(2026, 1, 28)) == "Dec 28, 2025 – Jan 27, 2026"


def test_the_bill_and_its_segments_show_the_same_inclusive_period(account, client, billing_user):
    bill = make_bill(account, dt.date(2025, 10, 28), dt.date(2025, 11, 20), 745, lines=LINES)
    html = pdf.render_bill_html(bill=bill)
    assert "Oct 28 – Nov 19, 2025" in html
    assert "Nov 20" not in html  # the exclusive end is never shown as a day of the period
    client.force_login(billing_user)
    page = client.get(reverse("billing:bill", args=[bill.pk])).content.decode()
    assert page.count("Oct 28 – Nov 19, 2025") >= 2 and "Nov 20" not in page  # the facts and the segment


# ---- units ---------------------------------------------------------------------------------

def test_a_gas_segment_shows_its_own_units_and_no_demand(account):
    bill = make_bill(account, FEB, MAR, 745, lines=LINES)
    gas_segment(bill, account)
    doc = pdf.bill_document(bill=bill)
    electric, gas = doc.segments
    assert (electric.commodity, electric.unit, gas.commodity, gas.unit) == ("electric", "kWh", "gas", "m3")
    assert dict(electric.reads) == {"Used": "745 kWh", "Highest demand": "3.5 kW"}
    assert gas.reads == [("Used", "479.461 m³")]
    html = pdf.render_bill_html(bill=bill)
    assert "479.461 kWh" not in html and "1.862" not in html
    assert "479.461 m³ × $0.13" in html


def test_the_usage_chart_is_per_commodity(account):
    earlier = make_bill(account, dt.date(2026, 1, 1), FEB, 600)
    gas_segment(earlier, account, m3="40")
    bill = make_bill(account, FEB, MAR, 745, lines=LINES)
    BillSegment.objects.create(  # the gas service point again, on this bill
        bill=bill, account_id=account.pk, agreement_id=ServiceAgreement.objects.get(rate_code="GAS").pk,
        service_point_id=ServiceAgreement.objects.get(rate_code="GAS").service_point_id, rate_code="GAS",
        period_start=FEB, period_end=MAR, determinants={"metered": True, "consumption": "55"})
    charts = pdf.bill_document(bill=bill).charts
    assert [(c.commodity, c.unit, [b.kwh for b in c.bars]) for c in charts] == [
        ("electric", "kWh", [Decimal(600), Decimal(745)]), ("gas", "m3", [Decimal(40), Decimal(55)])]
    assert [c.title for c in charts] == ["Electricity (kWh)", "Gas (m³)"]
    assert 'data-unit="m³"' in charts[1].svg and "800" not in charts[0].svg  # 745 + 55 is never a bar


# ---- customer text -------------------------------------------------------------------------

def tiered_bill(account) -> Bill:
    bill = make_bill(account, FEB, MAR, 672, total="94.40")
    segment = bill.segments.get()
    rows = [
        ("Customer charge", "customer", "fixed", Decimal(1), "bill", Decimal("10.00"), "10.00", "", {}),
        ("Energy charge, block 1", "energy", "tiered", Decimal(500), "kWh", Decimal("0.10"), "50.00", "1",
         {"block_limit": "500"}),
        ("Energy charge, block 2", "energy", "tiered", Decimal(172), "kWh", Decimal("0.20"), "34.40", "2",
         {"block_limit": None}),
        ("HST", "hst", "tax", Decimal("54.01"), "$", Decimal("0.13"), "7.02", "", {"percent": "13"}),
        ("Net metering credit applied", "net", "net_metering", Decimal("12.00"), "$", Decimal(-1), "-12.00", "", {}),
    ]
    for i, (desc, code, kind, qty, unit, price, amount, tier, details) in enumerate(rows, 1):
        BillLine.objects.create(segment=segment, sequence=i, description=desc, component_code=code, component_kind=kind,
                                quantity=qty, unit=unit, price=price, amount=Decimal(amount), tier=tier, details=details)
    return bill


def test_customer_documents_say_each_line_in_words_without_rule_codes(account):
    bill = tiered_bill(account)
    lines = {item.line.component_code + item.line.tier: item for item in pdf.bill_document(bill=bill).segments[0].lines}
    assert pdf.line_text(lines["energy1"].line) == "Energy charge, first 500 kWh: 500 kWh × $0.10"
    assert (lines["energy2"].label, lines["energy2"].how) == ("Energy charge, over 500 kWh", "172 kWh × $0.20")
    assert lines["hst"].how == "13% of $54.01"
    assert lines["customer"].how == "$10.00 per bill"
    assert lines["net"].how == "$12.00 credit"
    html = pdf.render_bill_html(bill=bill)
    for internal in ("rule ", "(tiered)", "(tax)", "block 1", "54.01 $", "$ ×"):
        assert internal not in html, internal
    assert "-$12.00" in html and "$94.40" in html


def test_staff_keep_the_rule_in_a_column_of_its_own(account, client, billing_user):
    bill = tiered_bill(account)
    client.force_login(billing_user)
    page = client.get(reverse("billing:bill", args=[bill.pk])).content.decode()
    assert "block 1 · rule energy (tiered)" in page
    assert "Energy charge, first 500 kWh" in page and "13% of $54.01" in page


# ---- stored PDFs ---------------------------------------------------------------------------

def test_issuing_queues_one_render_per_batch_after_commit_and_renders_nothing(account, monkeypatch,
                                                                            django_capture_on_commit_callbacks):
    from billing import tasks

    queued: list[list[int]] = []
    monkeypatch.setattr(tasks.bill_documents_render, "delay", lambda **kw: queued.append(kw["bill_ids"]))
    monkeypatch.setattr(pdf, "render_bill_pdf", lambda **kw: pytest.fail("rendered inside the issue"))
    monkeypatch.setattr(pdf, "RENDER_BATCH", 2)
    others = [AccountFactory() for _ in range(4)]
    bills = [make_bill(a, FEB, MAR, 100, status=Bill.Status.APPROVED) for a in [account, *others]]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            assert bills_issue(bills=bills, now=timezone.now()) == 5
            assert queued == []  # nothing is queued before the commit
            assert BillDocument.objects.filter(status="pending").count() == 5
    assert len(callbacks) == 1
    ids = sorted(b.pk for b in bills)
    assert queued == [ids[0:2], ids[2:4], ids[4:5]]


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def test_the_pdf_view_never_renders_it_answers_being_prepared_and_queues(account, client, billing_user, media,
                                                                        monkeypatch, django_capture_on_commit_callbacks):
    from billing import tasks

    queued: list[list[int]] = []
    monkeypatch.setattr(tasks.bill_documents_render, "delay", lambda **kw: queued.append(kw["bill_ids"]))
    real_render = pdf.render_bill_pdf
    monkeypatch.setattr(pdf, "render_bill_pdf", lambda **kw: pytest.fail("rendered in the request"))
    bill = make_bill(account, FEB, MAR, 745, lines=LINES)
    client.force_login(billing_user)
    url = reverse("billing:bill-pdf", args=[bill.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(url)
    assert response.status_code == 202 and b"being prepared" in response.content
    assert b'http-equiv="refresh"' in response.content and b"<script" not in response.content
    assert queued == [[bill.pk]]
    with django_capture_on_commit_callbacks(execute=True):
        assert client.get(url).status_code == 202
    assert queued == [[bill.pk]]  # already pending: not queued twice

    # What the task does on a worker: render once and store it.
    monkeypatch.setattr(pdf, "render_bill_pdf", real_render)
    document = pdf.bill_document_render(bill_id=bill.pk)
    assert document is not None and document.status == "ready" and document.file.name.startswith("bills/2026/03/")
    assert document.template_version == f"layout-{pdf.LAYOUT_VERSION}" and document.rendered_at
    assert (media / document.file.name).read_bytes().startswith(b"%PDF-")
    monkeypatch.setattr(pdf, "render_bill_pdf", lambda **kw: pytest.fail("rendered in the request"))
    response = client.get(url + "?download=1")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    assert 'attachment; filename="bill-' in response["Content-Disposition"]

    # Staff regenerate in the background: the request only queues.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url)
    assert response.status_code == 302 and queued == [[bill.pk], [bill.pk]]
    assert BillDocument.objects.get(bill=bill).status == "pending"


def test_a_cancelled_bill_is_printed_again_and_a_failure_is_kept(account, media, monkeypatch):
    bill = make_bill(account, FEB, MAR, 745, lines=LINES)
    document = pdf.bill_document_render(bill_id=bill.pk)
    assert pdf.document_is_current(document, bill)
    Bill.objects.filter(pk=bill.pk).update(status=Bill.Status.CANCELLED, cancel_reason="wrong read")
    bill.refresh_from_db()
    assert not pdf.document_is_current(BillDocument.objects.get(bill=bill), bill)

    def broken(**kw):
        raise ValueError("no fonts")

    monkeypatch.setattr(pdf, "render_bill_pdf", broken)
    document = pdf.bill_document_render(bill_id=bill.pk)
    assert document is not None and (document.status, document.error) == ("failed", "ValueError: no fonts")


def test_only_staff_regenerate(account, client, make_user):
    from core.roles import Role

    bill = make_bill(account, FEB, MAR, 745, lines=LINES)
    client.force_login(make_user("csr9", Role.CSR))
    response = client.post(reverse("billing:bill-pdf", args=[bill.pk]))
    assert response.status_code in (403, 302) and not BillDocument.objects.filter(bill=bill, status="pending").exists()
