"""The bill PDF task family on a real Celery worker (tests/celery_helpers): issuing bills queues
one render task per batch after the commit, and the worker prints and stores each PDF."""
from __future__ import annotations

import datetime as dt
import time

import pytest
from django.db import transaction
from django.utils import timezone

from billing import pdf
from billing.models import Bill, BillDocument
from billing.services.runs import bills_issue
from billing.tests.test_pdf import LINES, make_bill
from cis.tests.factories import AccountFactory
from tests.celery_helpers import celery_worker  # noqa: F401  (pytest fixture)

pytestmark = pytest.mark.celery_worker


@pytest.fixture
def shared_media(settings, tmp_path, monkeypatch):
    """The worker writes the PDFs where this process reads them."""
    settings.MEDIA_ROOT = tmp_path
    monkeypatch.setenv("UTILIS_MEDIA_ROOT", str(tmp_path))
    return tmp_path


@pytest.fixture
def worker(shared_media, celery_worker):  # noqa: F811  (order: the media folder first)
    return celery_worker


def test_issued_bills_are_printed_and_stored_by_the_worker(worker, shared_media):
    bills = [make_bill(AccountFactory(), dt.date(2026, 2, 1), dt.date(2026, 3, 1), 745, lines=LINES,
                       status=Bill.Status.APPROVED) for _ in range(3)]
    with transaction.atomic():
        assert bills_issue(bills=bills, now=timezone.now()) == 3
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and worker.is_running():
        if BillDocument.objects.filter(status="ready").count() == 3:
            break
        time.sleep(0.5)
    documents = list(BillDocument.objects.order_by("bill_id"))
    assert [d.status for d in documents] == ["ready"] * 3, worker.logs()[-3000:]
    for document in documents:
        bill = Bill.objects.get(pk=document.bill_id)
        assert pdf.document_is_current(document, bill)
        assert (shared_media / document.file.name).read_bytes().startswith(b"%PDF-")
    # The task itself, called through the worker: a bill that no longer exists is skipped.
    from billing.tasks import bill_documents_render

    assert bill_documents_render.delay(bill_ids=[bills[0].pk, 999_999_999]).get(timeout=120) == {"ready": 1, "failed": 0}
