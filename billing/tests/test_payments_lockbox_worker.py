"""A remittance file uploaded in the Billing Hub is imported by a real Celery worker
(tests/celery_helpers), not in the web request: the upload redirects to its page at once, the
worker posts the lines and the progress JSON reports the finished file."""
from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from billing.payments.models import Payment, RemittanceUpload
from cis.tests.factories import AccountFactory
from conftest import PASSWORD
from integrations.services import LockboxItem, write_lockbox_csv
from tests.celery_helpers import celery_worker  # noqa: F401  (pytest fixture)

pytestmark = pytest.mark.celery_worker
DAY = dt.date(2026, 3, 4)


def test_an_uploaded_lockbox_file_is_imported_by_the_worker(celery_worker, client, billing_user):  # noqa: F811
    accounts = [AccountFactory() for _ in range(3)]
    content = write_lockbox_csv([LockboxItem(a.account_number, Decimal("12.50"), DAY, f"LBXW-{i}")
                                 for i, a in enumerate(accounts)]
                                + [LockboxItem("NOBODY", Decimal("3.00"), DAY, "LBXW-9")]).encode()
    client.login(username=billing_user.username, password=PASSWORD)
    response = client.post("/billing/payments/import/", {"format": "lockbox-csv",
                                                         "file": SimpleUploadedFile("worker.csv", content)})
    upload = RemittanceUpload.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/billing/payments/uploads/{upload.pk}/"
    url = f"/billing/payments/uploads/{upload.pk}/progress.json"
    deadline = time.monotonic() + 120
    progress = client.get(url).json()
    while time.monotonic() < deadline and celery_worker.is_running() and progress["status"] not in ("done", "failed"):
        time.sleep(0.5)
        progress = client.get(url).json()
    assert (progress["status"], progress["done"], progress["total"], progress["posted"], progress["suspense"]) == (
        "done", 4, 4, 3, 1), (progress, celery_worker.logs()[-3000:])
    upload.refresh_from_db()
    assert upload.file is not None and upload.file.completed_at is not None and upload.started_at is not None
    assert Payment.objects.filter(channel=Payment.Channel.LOCKBOX).count() == 3
    assert "worker.csv: 3 posted, 1 to suspense, 0 already posted, 0 rejected." in client.get(
        response["Location"]).content.decode()
