"""Show a bill as the API gives it, or write its stored PDF:
`manage.py bill_show B0000000123`, `manage.py bill_show 123 --json`, `manage.py bill_show 123 --pdf bill.pdf`."""
from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from rest_framework.renderers import JSONRenderer

from billing import pdf, selectors
from billing.api.bills import bill_for_detail
from billing.api.serializers import BillDetailSerializer
from billing.models import Bill
from core.money import format_money


def find_bill(key: str) -> Bill:
    """By bill number (any case), else by id. Raises CommandError naming the key."""
    key = key.strip()
    by_number = selectors.bills_list(include_drafts=True, bill_number=key).first() if key else None
    bill_id = by_number.pk if by_number is not None else (int(key) if key.isdigit() and len(key) < 19 else None)
    if bill_id is not None:
        try:
            return selectors.bill_with_segments(bill_id=bill_id, include_drafts=True)
        except Bill.DoesNotExist:
            pass
    raise CommandError(f"There is no bill {key or '(blank)'} (give a bill number or a bill id).")


class Command(BaseCommand):
    help = ("Show one bill (by bill number or id): its header, segments and lines with how each was worked out, "
            "and totals; --json prints what GET /api/billing/bills/{id}/ answers; --pdf PATH writes its stored "
            "PDF (when it is not ready, a render is queued and the exit status is 1).")

    def add_arguments(self, parser):
        parser.add_argument("bill", help="Bill number (B0000000123) or bill id.")
        output = parser.add_mutually_exclusive_group()
        output.add_argument("--json", action="store_true", dest="as_json", help="Print the bill as JSON (the API's answer).")
        output.add_argument("--pdf", type=Path, metavar="PATH", dest="pdf_path", help="Write the stored PDF to PATH.")

    def handle(self, *args, bill: str, as_json: bool, pdf_path: Path | None, **options):
        found = find_bill(bill)
        if pdf_path is not None:
            self._write_pdf(found, pdf_path)
            return
        data = BillDetailSerializer(bill_for_detail(found)).data
        if as_json:
            self.stdout.write(JSONRenderer().render(data, renderer_context={"indent": 2}).decode())
            return
        self._print(data)

    def _write_pdf(self, bill: Bill, path: Path) -> None:
        document = pdf.bill_document_of(bill)
        if not pdf.document_is_current(document, bill):
            with transaction.atomic():
                pdf.bill_documents_request(bill_ids=[bill.pk])
            raise CommandError(f"The PDF of bill {bill.bill_number or bill.pk} is not ready; it is being prepared. "
                               "Run this again in a moment.")
        assert document is not None
        if path.parent and not path.parent.is_dir():
            raise CommandError(f"No such directory: {path.parent}")
        with document.file.open("rb") as stored:
            path.write_bytes(stored.read())
        self.stdout.write(f"Wrote {path} ({path.stat().st_size} bytes).")

    def _print(self, data) -> None:
        number = data["bill_number"] or f"(draft {data['id']})"
        self.stdout.write(f"Bill {number} · account {data['account']} · {data['status']} · {data['kind']}")
        self.stdout.write(f"Period {data['period_start']} to {data['period_end']} (exclusive) · bill date "
                          f"{data['bill_date']} · due {data['due_date']}")
        for segment in data["segments"]:
            state = "" if segment["live"] else " (cancelled)"
            self.stdout.write(f"\n  {segment['agreement']} at {segment['service_point']} · rate {segment['rate_code']} · "
                              f"{segment['period_start']} to {segment['period_end']}{state}")
            for line in segment["lines"]:
                how = f": {line['how']}" if line["how"] else ""
                self.stdout.write(f"    {line['description']}{how}  {format_money(line['amount'])}  [{line['rule']}]")
            self.stdout.write(f"    Subtotal {format_money(segment['subtotal'])}")
        self.stdout.write(f"\nThis bill {format_money(data['total'])} · balance forward "
                          f"{format_money(data['balance_forward'])} · amount due {format_money(data['amount_due'])}")
        if data["replaced_by"]:
            self.stdout.write(f"Replaced by bill {data['replaced_by']}.")
        self.stdout.write(f"PDF: {data['pdf_status'] or 'not made yet'} ({data['pdf']})")
