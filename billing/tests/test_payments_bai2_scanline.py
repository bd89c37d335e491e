"""BAI2 lockbox files (integrations/bai2_lockbox, the bai2 package) and the bill stub's scan
line: credit details posted through the remittance import, bad records named by line and
field, the same file or bank reference recognised; a scan line names its account only with the
right check digit."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from billing.payments.models import Payment
from billing.payments.scanline import luhn_check_digit, scan_line, scan_line_read
from billing.payments.tests.helpers import CLERK, issued_bill
from billing.pdf import render_bill_html
from billing.services import RemittanceFileDuplicate, remittance_import
from cis.tests.factories import AccountFactory
from integrations.bai2_lockbox.parser import parse_bai2

SAMPLE = (Path(__file__).parent / "data" / "lockbox_sample.bai2").read_bytes()
D = Decimal


def run(content: bytes, name: str = "box-0302.bai2", fmt: str = "bai2"):
    return remittance_import(format=fmt, content=content, file_name=name, actor=CLERK, now=timezone.now())


def statuses(batch) -> dict[int, str]:
    return dict(batch.items.values_list("line_number", "status"))


def test_the_sample_parses_credit_details_only_with_cents_references_and_the_as_of_date():
    parsed = parse_bai2(SAMPLE)
    assert parsed.errors == []
    assert [(l.line_number, l.account_number, l.amount, l.item_reference, l.tender_type, l.paid_date)
            for l in parsed.lines] == [
        (4, "1000001", D("125.00"), "LBX0302-000001", "cheque", dt.date(2026, 3, 2)),
        (5, "0001000002", D("48.10"), "LBX0302-000002", "eft", dt.date(2026, 3, 2)),
        # line 6 is a debit (475, cheque paid): not a remittance
        (7, "1000003", D("25.99"), "LBX0302-000003", "cheque", dt.date(2026, 3, 2)),  # continued on an 88 record
    ]


def test_wrong_control_totals_reject_the_file_as_a_whole():
    parsed = parse_bai2(SAMPLE.replace(b"49,20909,7/", b"49,20910,7/"))
    assert parsed.lines == [] and [(e.line_number, e.field) for e in parsed.errors] == [(1, "file")]
    assert "control total" in parsed.errors[0].message
    assert [e.field for e in parse_bai2(b"16,115,100,Z,X,1/\n").errors] == ["file"]


@pytest.mark.django_db
def test_a_bai2_file_posts_its_credits_keeps_bad_records_and_is_recognised_again():
    a = AccountFactory(account_number="1000001")
    b = AccountFactory(account_number="1000002")
    content = SAMPLE.replace(b"16,115,2599,Z", b"16,115,25X9,Z")  # line 7's amount is bad
    batch = run(content)
    assert statuses(batch) == {4: "posted", 5: "posted", 7: "rejected"}
    bad = batch.items.get(line_number=7)
    assert bad.error_field == "amount" and "25X9" in bad.message
    assert {(p.account_id, p.amount, p.channel, p.external_reference) for p in Payment.objects.all()} == {
        (a.pk, D("125.00"), "lockbox", "LBX0302-000001"), (b.pk, D("48.10"), "lockbox", "LBX0302-000002")}
    with pytest.raises(RemittanceFileDuplicate):
        run(content, name="renamed.bai2")
    # The corrected file: lines 4 and 5 were posted already (their bank references), line 7 goes to suspense.
    again = run(SAMPLE, name="box-0302-corrected.bai2")
    assert statuses(again) == {4: "duplicate", 5: "duplicate", 7: "suspense"}
    assert Payment.objects.count() == 2


def test_the_scan_line_is_account_amount_and_a_luhn_digit():
    assert luhn_check_digit("7992739871") == "3"  # the textbook Luhn example
    line = scan_line(account_number="1000001", amount_due=D("125.00"))
    payload = "0001000001" + "0000012500"
    assert line == f"0001000001 0000012500 {luhn_check_digit(payload)}"
    read = scan_line_read(line)
    assert read is not None and read.valid and (read.account_digits, read.amount_due) == ("1000001", D("125.00"))
    assert scan_line(account_number="1000001", amount_due=D("-5.00")).split()[1] == "0000000000"
    assert scan_line_read("1000001") is None
    with pytest.raises(ValueError):
        scan_line(account_number="12345678901", amount_due=D("1"))


@pytest.mark.django_db
def test_lockbox_lines_match_by_scan_line_and_a_wrong_check_digit_goes_to_suspense():
    account = AccountFactory(account_number="1000001")
    good = scan_line(account_number="1000001", amount_due=D("125.00"))
    wrong = good[:-1] + str((int(good[-1]) + 1) % 10)
    csv = ("account_number,amount,paid_date,item_reference,tender_type,payer_name\n"
           f"{good},125.00,2026-03-02,LBX-1,cheque,\n{wrong},125.00,2026-03-02,LBX-2,cheque,\n").encode()
    batch = run(csv, name="box.csv", fmt="lockbox-csv")
    assert statuses(batch) == {2: "posted", 3: "suspense"}
    assert Payment.objects.get().account_id == account.pk
    assert "check digit" in batch.items.get(line_number=3).message
    # In a BAI2 file too (the customer reference).
    bai2 = SAMPLE.replace(b"LBX0302-000001,1000001,", f"LBX0302-000001,{good.replace(' ', '')},".encode())
    assert parse_bai2(bai2).lines[0].account_number == good.replace(" ", "")


@pytest.mark.django_db
def test_the_bill_stub_prints_the_scan_line():
    account = AccountFactory(account_number="1000009")
    bill = issued_bill(account_id=account.pk, total="80.00", bill_date=dt.date(2026, 3, 1))
    html = render_bill_html(bill=bill)
    expected = scan_line(account_number="1000009", amount_due=bill.amount_due)
    assert f'data-testid="scan-line">{expected}<' in html
    assert "Remittance stub" in html
