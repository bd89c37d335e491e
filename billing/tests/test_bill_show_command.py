"""`manage.py bill_show`: one bill by number or id, as text (lines with how each was made), as
the API's JSON, or its stored PDF written to a file (queued when not ready)."""
from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from billing import pdf
from billing.models import Bill, BillDocument
from billing.tests.test_pdf import LINES, make_bill
from cis.tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def bill():
    return make_bill(AccountFactory(account_number="1000000042"), dt.date(2026, 2, 1), dt.date(2026, 3, 1), 745,
                     lines=LINES, total="32.40")


def run(*args) -> str:
    out = StringIO()
    call_command("bill_show", *args, stdout=out)
    return out.getvalue()


def test_shows_a_bill_by_number_with_its_lines_explained(bill):
    out = run(bill.bill_number.lower())
    assert f"Bill {bill.bill_number} · account 1000000042 · issued · regular" in out
    assert "Customer charge: $10.00 per bill  $10.00  [rule customer (fixed)]" in out
    assert "Energy charge, ON: 112 kWh × $0.20, prorated to 50% of the period  $22.40" in out
    assert "amount due $44.90" in out and "PDF: not made yet" in out


def test_json_is_what_the_api_answers(bill, api_for, billing_user):
    printed = json.loads(run(str(bill.pk), "--json"))
    assert printed == api_for(billing_user).get(f"/api/billing/bills/{bill.pk}/").json()


def test_a_draft_is_shown_by_its_id(bill):
    draft = make_bill(bill.account, dt.date(2026, 3, 1), dt.date(2026, 4, 1), 10, status=Bill.Status.DRAFT)
    assert f"Bill (draft {draft.pk})" in run(str(draft.pk))


@pytest.mark.parametrize("key", ["B404", "99999999", "   "])
def test_an_unknown_bill_is_refused(key):
    with pytest.raises(CommandError, match="There is no bill"):
        run(key)


def test_pdf_not_ready_is_queued_and_refused_then_written(bill, tmp_path, monkeypatch, django_capture_on_commit_callbacks):
    queued: list[list[int]] = []
    monkeypatch.setattr(pdf, "_queue", lambda bill_ids: queued.append(list(bill_ids)))
    target = tmp_path / "out.pdf"
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(CommandError, match="being prepared"):
        run(str(bill.pk), "--pdf", str(target))
    assert queued == [[bill.pk]] and not target.exists()
    document = BillDocument.objects.get(bill=bill)
    document.file.save("b.pdf", ContentFile(b"%PDF-1.7 x"), save=False)
    document.status, document.bill_state, document.rendered_at = BillDocument.Status.READY, pdf.bill_state(bill), timezone.now()
    document.save()
    assert "Wrote" in run(str(bill.pk), "--pdf", str(target))
    assert target.read_bytes() == b"%PDF-1.7 x"
    with pytest.raises(CommandError, match="No such directory"):
        run(str(bill.pk), "--pdf", str(tmp_path / "missing" / "x.pdf"))


def test_help_says_what_it_does(capsys):
    with pytest.raises(SystemExit):
        call_command("bill_show", "--help")
    text = capsys.readouterr().out
    assert "--json" in text and "--pdf" in text and "bill number" in text
