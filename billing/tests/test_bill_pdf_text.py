"""No internal code or database id reaches a customer's bill (issue 9): the text WeasyPrint
lays out on the PDF's pages (body, page footer) and the PDF's title are read back and
searched for rule codes, component codes and kinds, the rate code, pre-bill rule codes and the
ids of the bill, account, customer, agreement, segment and service point."""
from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.db import connection

from billing import pdf
from billing.models import Bill, PreBillRule
from billing.tests.test_bill_documents import tiered_bill
from cis.tests.factories import AccountFactory, CustomerFactory, PremiseFactory, ServiceAgreementFactory, ServicePointFactory

pytestmark = pytest.mark.django_db


def _bump_ids(*tables: str, to: int) -> None:
    """Ids well away from any amount, date or quantity on the bill, so finding one means it leaked."""
    with connection.cursor() as cursor:
        for i, table in enumerate(tables):
            cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [table, to + 1000 * i])


def pdf_text(bill: Bill) -> tuple[str, str]:
    """(every text box of every laid-out page, the document title), as they go into the PDF."""
    from weasyprint import HTML
    from weasyprint.formatting_structure import boxes

    document = HTML(string=pdf.render_bill_html(bill=bill)).render()

    def texts(box):
        if isinstance(box, boxes.TextBox):
            yield box.text
        for child in getattr(box, "children", None) or ():
            yield from texts(child)

    return " ".join(t for page in document.pages for t in texts(page._page_box)), document.metadata.title or ""


@pytest.fixture
def account():
    _bump_ids("cis_customer", "cis_account", "cis_premise", "cis_servicepoint", "cis_serviceagreement",
              "billing_bill", "billing_billsegment", "billing_billline", to=870000)
    customer = CustomerFactory(first_name="Ada", last_name="Lovelace")
    account = AccountFactory(customer=customer, account_number="1000000042")
    ServiceAgreementFactory(account=account, service_point=ServicePointFactory(premise=PremiseFactory()))
    return account


@pytest.mark.parametrize("status", [Bill.Status.ISSUED, Bill.Status.DRAFT])
def test_a_bill_pdf_carries_no_internal_code_or_id(account, status):
    bill = tiered_bill(account)
    if status == Bill.Status.DRAFT:
        Bill.objects.filter(pk=bill.pk).update(status=status, bill_number=None)
        bill.refresh_from_db()
    text, title = pdf_text(bill)
    assert "1000000042" in text and "Ada Lovelace" in text and "Energy charge, first 500 kWh" in text

    segment = bill.segments.get()
    ids = {bill.pk, account.pk, account.customer_id, segment.pk, segment.agreement_id, segment.service_point_id,
           *segment.lines.values_list("pk", flat=True)}
    assert min(ids) > 870000
    words = set(re.findall(r"[\w-]+", f"{text} {title}"))
    assert not {str(i) for i in ids} & words, {str(i) for i in ids} & words
    codes = {"rule", "tiered", "tax", "fixed", "hst", segment.rate_code, *PreBillRule.Kind.values}
    assert not codes & words, codes & words
    assert title == (f"Bill {bill.bill_number} · " if bill.bill_number else "Bill (draft) · ") + settings.UTILIS_UTILITY_NAME
