"""The printed bill and the e-bill: what they show (account, addresses, period, reads, lines
with explanations, balance forward, amount due, due date, a 13-bill usage chart), the staff
template (messages, body, CSS), and a real WeasyPrint PDF."""
import datetime as dt
from decimal import Decimal

import pytest

from billing.models import Bill, BillLine, BillSegment, BillTemplate
from billing.pdf import (
    UsageBar,
    bill_document,
    line_explanation,
    render_bill_html,
    render_bill_pdf,
    segment_reads,
    usage_chart_svg,
    usage_history,
)
from cis.models import ServiceAgreement
from cis.tests.factories import AccountFactory, CustomerFactory, PremiseFactory, ServiceAgreementFactory, ServicePointFactory

pytestmark = pytest.mark.django_db


def month_start(year, month):
    return dt.date(year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


def make_bill(account, start, end, kwh, *, status=Bill.Status.ISSUED, total="100.00", lines=()):
    bill = Bill.objects.create(
        account_id=account.pk, bill_number=f"B{start:%Y%m}{account.pk:04d}" if status == Bill.Status.ISSUED else None,
        status=status, period_start=start, period_end=end, bill_date=end, due_date=end + dt.timedelta(days=21),
        total=Decimal(total), balance_forward=Decimal("12.50"), amount_due=Decimal(total) + Decimal("12.50"),
    )
    agreement = ServiceAgreement.objects.filter(account_id=account.pk).order_by("id").first()
    if agreement is None:
        agreement = ServiceAgreementFactory(account=account)
    segment = BillSegment.objects.create(
        bill=bill, account_id=account.pk, agreement_id=agreement.pk, service_point_id=agreement.service_point_id,
        rate_code="RES",
        period_start=start, period_end=end, subtotal=Decimal(total), live=status != Bill.Status.CANCELLED,
        determinants={"metered": True, "consumption": str(kwh), "max_demand_kw": "3.5", "received": "0",
                      "estimated_intervals": 0},
    )
    for i, (desc, qty, price, amount, extra) in enumerate(lines, 1):
        BillLine.objects.create(segment=segment, sequence=i, description=desc, component_kind=extra.get("kind", "flat"),
                                component_code=extra.get("code", "energy"), quantity=qty, unit=extra.get("unit", "kWh"),
                                price=price, amount=Decimal(amount), tier=extra.get("tier", ""),
                                tou_period=extra.get("tou", ""), proration=extra.get("proration", Decimal("1")))
    return bill


@pytest.fixture
def account():
    customer = CustomerFactory(first_name="Ada", last_name="Lovelace", mailing_address_line1="12 Byron Rd",
                               mailing_city="Toronto", mailing_region="ON", mailing_postal_code="M4C 1B5")
    account = AccountFactory(customer=customer, account_number="1000000042")
    premise = PremiseFactory(address_line1="77 Analytical Way")
    ServiceAgreementFactory(account=account, service_point=ServicePointFactory(premise=premise))
    return account


LINES = [
    ("Customer charge", Decimal("1"), Decimal("10.00"), "10.00", {"kind": "fixed", "code": "customer", "unit": "bill"}),
    ("Energy charge, ON", Decimal("112"), Decimal("0.20"), "22.40", {"kind": "tou", "tou": "ON", "tier": "2",
                                                                    "proration": Decimal("0.5")}),
]


def test_line_explanation_names_quantity_price_block_period_proration_and_rule(account):
    bill = make_bill(account, dt.date(2026, 2, 1), dt.date(2026, 3, 1), 745, lines=LINES)
    energy = BillLine.objects.get(segment__bill=bill, component_code="energy")
    # Staff's explanation: the customer's words, then the rule behind the line.
    assert line_explanation(energy) == ("112 kWh × $0.20, prorated to 50% of the period · block 2 · period ON · "
                                        "rule energy (tou)")


def test_reads_prefer_meter_reads_and_fall_back_to_consumption():
    assert segment_reads({"start_read": "1200", "end_read": "1945", "consumption": "745"}) == [
        ("Previous read", "1,200"), ("Present read", "1,945"), ("Used", "745 kWh")]
    assert segment_reads({"metered": True, "consumption": "745.5", "max_demand_kw": "0", "received": "0"}) == [
        ("Used", "745.5 kWh")]
    assert segment_reads({"metered": False, "consumption": "0"}) == [("Usage", "unmetered service")]


def test_usage_history_is_the_last_13_bills_without_cancelled_ones(account):
    bills = [make_bill(account, month_start(2025, m), month_start(2025, m + 1), 100 * m) for m in range(1, 15)]
    cancelled = make_bill(account, month_start(2026, 3), month_start(2026, 4), 9999, status=Bill.Status.CANCELLED)
    current = make_bill(account, month_start(2026, 3), month_start(2026, 4), 1500)
    history = usage_history(bill=current)
    assert len(history) == 13
    # 14 earlier bills (Jan 2025..Feb 2026): the 12 latest are Mar 2025..Feb 2026 (300..1400 kWh).
    assert [bar.kwh for bar in history[:12]] == [Decimal(100 * m) for m in range(3, 15)]
    assert history[0].label == "Mar 25" and history[-1].label == "Mar 26"
    assert history[-1].current and history[-1].kwh == Decimal("1500")
    assert cancelled.pk not in [b.pk for b in bills]


def test_chart_svg_scales_bars_to_the_highest_month():
    svg = usage_chart_svg([UsageBar("Jan 26", Decimal("500")), UsageBar("Feb 26", Decimal("1000"), current=True)],
                          width=234, height=132)
    # plot height = 132 - 18 - 14 = 100: the 1000 kWh bar is 100 high, the 500 kWh bar 50.
    assert 'height="100.0" fill="#0b5cad"' in svg
    assert 'height="50.0" fill="#9cc1e6"' in svg
    assert "<script" not in svg and svg.startswith("<svg")
    assert usage_chart_svg([]) == ""


def test_bill_html_shows_what_a_bill_must(account):
    bill = make_bill(account, dt.date(2026, 2, 1), dt.date(2026, 3, 1), 745, lines=LINES, total="32.40")
    html = render_bill_html(bill=bill)
    for expected in ["1000000042", "Ada Lovelace", "12 Byron Rd", "77 Analytical Way", "Feb 1 – Feb 28, 2026",
                     "Used:</b> 745 kWh", "Energy charge, ON", "112 kWh × $0.20", "Feb 28, 2026", "$12.50", "$32.40", "$44.90",
                     "March 22, 2026", "<svg"]:
        assert expected in html, expected


def test_staff_template_messages_css_and_body_are_used(account):
    bill = make_bill(account, dt.date(2026, 2, 1), dt.date(2026, 3, 1), 745, lines=LINES)
    BillTemplate.objects.create(name="Winter", active=True, header_message="Winter payment plans are available.",
                                footer_message="Pay online at example.test", css=".utility { color: #123456; }")
    html = render_bill_html(bill=bill)
    assert "Winter payment plans are available." in html and "Pay online at example.test" in html
    assert "#123456" in html
    BillTemplate.objects.filter(name="Winter").update(body="Due {{ bill.amount_due }} for {{ doc.account_number }}")
    assert render_bill_html(bill=bill) == "Due 112.50 for 1000000042"


def test_pdf_is_a_real_pdf(account):
    bill = make_bill(account, dt.date(2026, 2, 1), dt.date(2026, 3, 1), 745, lines=LINES)
    pdf = render_bill_pdf(bill=bill)
    assert pdf.startswith(b"%PDF-") and len(pdf) > 5000


def test_document_lists_segments_with_explained_lines(account):
    bill = make_bill(account, dt.date(2026, 2, 1), dt.date(2026, 3, 1), 745, lines=LINES)
    doc = bill_document(bill=bill)
    (segment,) = doc.segments
    assert [line.description for line, _ in segment.lines] == ["Customer charge", "Energy charge, ON"]
    assert doc.service_address.startswith("77 Analytical Way")


def test_template_logo_is_embedded_so_it_prints_and_shows_online(account, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    # A 1 x 1 PNG.
    png = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")
    BillTemplate.objects.create(name="Logo", active=True, logo=SimpleUploadedFile("logo.png", png))
    bill = make_bill(account, dt.date(2026, 2, 1), dt.date(2026, 3, 1), 745, lines=LINES)
    html = render_bill_html(bill=bill)
    assert 'src="data:image/png;base64,iVBORw0KGgo' in html
    assert render_bill_pdf(bill=bill).startswith(b"%PDF-")
