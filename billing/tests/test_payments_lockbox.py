"""Bank lockbox files in the Utilis CSV remittance layout: each line matched by account number,
unmatched and ambiguous lines to suspense, bad lines named, nothing posted twice (the same file,
or the same bank item in another file), suspense worked from the Billing Hub."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from billing.payments.models import Payment, RemittanceItem, RemittanceUpload
from billing.payments.tests.helpers import CLERK
from billing.services import (
    RemittanceError,
    RemittanceFileDuplicate,
    ledger,
    remittance_import,
    suspense_assign,
)
from billing.payments.remittance import _FORMATS as remittance_formats_registry
from billing.payments.remittance import RemittanceFormat, register_remittance_format
from cis.tests.factories import AccountFactory
from config.celery import app as celery_app
from conftest import PASSWORD
from integrations.lockbox_csv.parser import parse_lockbox_csv
from integrations.services import LockboxItem, write_lockbox_csv

pytestmark = pytest.mark.django_db
D = Decimal
DAY = dt.date(2026, 3, 4)
HEADER = "account_number,amount,paid_date,item_reference,tender_type,payer_name\n"


def lockbox(*items: LockboxItem) -> bytes:
    return write_lockbox_csv(items).encode()


def run(content: bytes, name: str = "box-0304.csv"):
    return remittance_import(format="lockbox-csv", content=content, file_name=name, actor=CLERK, now=timezone.now())


def statuses(batch) -> dict[int, str]:
    return dict(batch.items.values_list("line_number", "status"))


def test_a_file_posts_matched_lines_sends_the_others_to_suspense_and_names_bad_ones():
    a, b = AccountFactory(), AccountFactory()
    AccountFactory(account_number="0000012345")
    AccountFactory(account_number="12345")
    content = (write_lockbox_csv([LockboxItem(a.account_number, D("100.00"), DAY, "LBX1-0001"),
                                  LockboxItem(b.account_number, D("20.50"), DAY, "LBX1-0002", "eft", "B. Payer"),
                                  LockboxItem("7777777777", D("5.00"), DAY, "LBX1-0003"),
                                  LockboxItem("012345", D("9.00"), DAY, "LBX1-0004")])
               + f"{a.account_number},12.345,2026-03-04,LBX1-0005,cheque,\n"
               + f"{a.account_number},3.00,2026-13-01,LBX1-0006,cheque,\n").encode()
    batch = run(content)
    assert statuses(batch) == {2: "posted", 3: "posted", 4: "suspense", 5: "suspense", 6: "rejected", 7: "rejected"}
    assert (batch.lines_total, batch.posted, batch.suspense, batch.duplicates, batch.rejected) == (6, 2, 2, 0, 2)
    assert ledger.account_balance(account_id=a.pk) == D("-100.00")
    assert ledger.account_balance(account_id=b.pk) == D("-20.50")
    payment = Payment.objects.get(account_id=b.pk)
    assert (payment.channel, payment.tender_type, payment.external_reference) == ("lockbox", "eft", "LBX1-0002")
    items = {i.line_number: i for i in batch.items.all()}
    assert items[4].message == "No account number '7777777777'."
    assert items[5].message.startswith("Ambiguous: '012345' could be any of accounts 0000012345, 12345")
    assert (items[6].error_field, items[7].error_field) == ("amount", "paid_date")
    assert "12.345" in items[6].message and items[6].raw.startswith(a.account_number)


def test_the_same_file_again_posts_nothing():
    a = AccountFactory()
    content = lockbox(LockboxItem(a.account_number, D("40.00"), DAY, "LBX2-0001"))
    first = run(content)
    with pytest.raises(RemittanceFileDuplicate) as raised:
        run(content, name="renamed.csv")
    assert raised.value.file == first
    assert ledger.account_balance(account_id=a.pk) == D("-40.00")


def test_the_same_bank_item_in_a_second_file_is_recognised():
    a = AccountFactory()
    run(lockbox(LockboxItem(a.account_number, D("40.00"), DAY, "LBX3-0001")))
    second = run(lockbox(LockboxItem(a.account_number, D("40.00"), DAY, "LBX3-0001"),
                         LockboxItem(a.account_number, D("2.00"), DAY, "LBX3-0002"),
                         LockboxItem(a.account_number, D("2.00"), DAY, "LBX3-0002")), name="box-2.csv")
    assert statuses(second) == {2: "duplicate", 3: "posted", 4: "duplicate"}
    assert second.duplicates == 2
    duplicate = second.items.get(line_number=2)
    assert duplicate.payment.external_reference == "LBX3-0001" and "already posted" in duplicate.message
    assert ledger.account_balance(account_id=a.pk) == D("-42.00")


def test_staff_assign_a_suspense_line_once_and_a_later_file_does_not_post_it_again():
    a = AccountFactory()
    batch = run(lockbox(LockboxItem("NO-SUCH", D("61.00"), DAY, "LBX4-0001")))
    item = batch.items.get()
    with pytest.raises(ValidationError, match="reason"):
        suspense_assign(item=item, account_number=a.account_number, reason="", actor=CLERK, now=timezone.now())
    with pytest.raises(ValidationError, match="No account"):
        suspense_assign(item=item, account_number="NOPE", reason="stub", actor=CLERK, now=timezone.now())
    item = suspense_assign(item=item, account_number=a.account_number, reason="stub shows the account",
                           actor=CLERK, now=timezone.now())
    assert item.status == "assigned" and item.payment.account_id == a.pk and item.resolve_reason
    batch.refresh_from_db()
    assert batch.suspense == 0
    with pytest.raises(RemittanceError, match="not in suspense"):
        suspense_assign(item=item, account_number=a.account_number, reason="again", actor=CLERK, now=timezone.now())
    again = run(lockbox(LockboxItem("NO-SUCH", D("61.00"), DAY, "LBX4-0001"),
                        LockboxItem(a.account_number, D("61.00"), DAY, "LBX4-0001")), name="box-5.csv")
    assert statuses(again) == {2: "duplicate", 3: "duplicate"}
    assert ledger.account_balance(account_id=a.pk) == D("-61.00")


def test_an_unknown_format_is_refused():
    with pytest.raises(RemittanceError, match="Unknown remittance format"):
        remittance_import(format="mt940", content=b"", file_name="x", actor=CLERK, now=timezone.now())


def test_the_parser_names_the_file_line_and_field_of_each_bad_line():
    assert parse_lockbox_csv(b"acct,amt\n1,2\n").errors[0].field == "header"
    assert parse_lockbox_csv(b"\xff\xfe").errors[0].field == "file"
    parsed = parse_lockbox_csv((HEADER + "1,2.00,2026-03-01,R1,cheque,\n\n1,2.00\n1,2.00,2026-03-01,,cheque,\n"
                                "1,-2.00,2026-03-01,R2,eft,\n1,2.00,2026-03-01,R3,bitcoin,\n").encode())
    assert [(e.line_number, e.field) for e in parsed.errors] == [
        (4, "line"), (5, "item_reference"), (6, "amount"), (7, "tender_type")]
    assert [(line.line_number, line.amount, line.tender_type) for line in parsed.lines] == [(2, D("2.00"), "cheque")]


@pytest.fixture
def eager(settings):
    """Celery tasks run in-process (the Celery app has read its config already, so set both)."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    before = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = before


def test_a_billing_clerk_imports_a_file_and_works_suspense_in_the_hub(client, billing_user, csr, eager,
                                                                      django_capture_on_commit_callbacks):
    a = AccountFactory()
    content = lockbox(LockboxItem(a.account_number, D("10.00"), DAY, "LBX6-0001"),
                      LockboxItem("UNKNOWN", D("7.25"), DAY, "LBX6-0002", "cheque", "J. Doe")) + b"x,,,,\n"
    client.login(username=csr.username, password=PASSWORD)
    assert client.get("/billing/payments/").status_code == 403
    client.login(username=billing_user.username, password=PASSWORD)
    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = client.post("/billing/payments/import/", {"format": "lockbox-csv",
                                                             "file": SimpleUploadedFile("box.csv", content)})
    assert len(queued) == 1  # the import was queued, not run in the request
    upload = RemittanceUpload.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/billing/payments/uploads/{upload.pk}/"
    assert bytes(upload.content) == content and upload.actor == billing_user.username
    progress = client.get(f"/billing/payments/uploads/{upload.pk}/progress.json").json()
    assert (progress["status"], progress["done"], progress["total"], progress["posted"], progress["suspense"],
            progress["rejected"]) == ("done", 3, 3, 1, 1, 1)
    shown = client.get(response["Location"]).content.decode()
    assert "box.csv: 1 posted, 1 to suspense, 0 already posted, 1 rejected." in shown
    assert 'data-testid="rejected-4"' in shown
    item = RemittanceItem.objects.get(status="suspense")
    page = client.get("/billing/payments/").content.decode()
    assert f'href="/billing/payments/uploads/{upload.pk}/"' in page  # the recent uploads link their pages
    assert f'data-testid="suspense-{item.pk}"' in page and "J. Doe" in page and "No account number" in page
    again = client.post("/billing/payments/import/", {"format": "lockbox-csv",
                                                      "file": SimpleUploadedFile("box-again.csv", content)})
    assert "already imported" in [str(m) for m in get_messages(again.wsgi_request)][0]
    assigned = client.post(f"/billing/payments/suspense/{item.pk}/assign/",
                           {"account_number": a.account_number, "reason": "payer called"})
    said = [str(m) for m in get_messages(assigned.wsgi_request)]
    assert any(s.startswith(f"Line 3 of box.csv posted to {a.account_number}: receipt R") for s in said), said
    assert ledger.account_balance(account_id=a.pk) == D("-17.25")
    assert "Nothing in suspense." in client.get("/billing/payments/").content.decode()


class _CutOff(Exception):
    pass


def test_uploading_a_cut_off_file_again_resumes_it_and_posts_nothing_twice(client, billing_user, eager,
                                                                           django_capture_on_commit_callbacks):
    accounts = [AccountFactory() for _ in range(3)]
    content = lockbox(*[LockboxItem(a.account_number, D("5.00"), DAY, f"LBXR-{i}") for i, a in enumerate(accounts)])

    def die(file):
        raise _CutOff  # a worker killed after its first batch

    with pytest.raises(_CutOff):
        remittance_import(format="lockbox-csv", content=content, file_name="cut.csv", actor=CLERK,
                          now=timezone.now(), batch_size=1, progress=die)
    assert Payment.objects.count() == 1
    client.login(username=billing_user.username, password=PASSWORD)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/billing/payments/import/", {"format": "lockbox-csv",
                                                             "file": SimpleUploadedFile("cut.csv", content)})
    upload = RemittanceUpload.objects.get()
    assert response["Location"] == f"/billing/payments/uploads/{upload.pk}/"
    assert upload.status == "done" and upload.file.completed_at is not None
    assert (upload.file.posted, Payment.objects.count()) == (3, 3)


def test_a_file_whose_import_fails_shows_why_on_its_page(client, billing_user, eager,
                                                        django_capture_on_commit_callbacks):
    def broken(content: bytes, name: str):
        raise ValueError("the bank's trailer record is missing")

    register_remittance_format(RemittanceFormat("broken-test", "Broken (test)", broken))
    try:
        client.login(username=billing_user.username, password=PASSWORD)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/billing/payments/import/", {"format": "broken-test",
                                                                 "file": SimpleUploadedFile("bad.txt", b"x")})
    finally:
        remittance_formats_registry.pop("broken-test")
    upload = RemittanceUpload.objects.get()
    assert (upload.status, upload.file) == ("failed", None)
    progress = client.get(f"/billing/payments/uploads/{upload.pk}/progress.json").json()
    assert progress["status"] == "failed" and "trailer record is missing" in progress["error"]
    page = client.get(response["Location"]).content.decode()
    assert 'data-testid="upload-error"' in page and "trailer record is missing" in page


def test_the_upload_request_only_stores_the_file_and_queues_its_import(client, billing_user,
                                                                       django_capture_on_commit_callbacks):
    a = AccountFactory()
    content = lockbox(LockboxItem(a.account_number, D("10.00"), DAY, "LBXQ-0001"))
    client.login(username=billing_user.username, password=PASSWORD)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post("/billing/payments/import/", {"format": "lockbox-csv",
                                                             "file": SimpleUploadedFile("q.csv", content)})
    upload = RemittanceUpload.objects.get()
    assert len(queued) == 1 and Payment.objects.count() == 0
    progress = client.get(f"/billing/payments/uploads/{upload.pk}/progress.json").json()
    assert (progress["status"], progress["done"], progress["total"]) == ("queued", 0, 0)
    page = client.get(response["Location"]).content.decode()
    assert "data-reload-on-status" in page and "Queued" in page
