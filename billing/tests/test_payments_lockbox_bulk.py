"""The bulk remittance posting (billing/payments/remittance_posting.py) against the reference,
payment_post one line at a time (billing/payments/tests/lockbox_reference.py), on one mixed
file: good lines (exact numbers, unpadded numbers, scan lines, several payments per account with
dates out of order, overpayments), duplicates (in the file and of a payment posted before),
unmatched, ambiguous, a scan line with a wrong check digit, and bad lines named by line and
field; accounts with open bills, fees paid first by the configured priority, unapplied credits,
an account left unsettled by a bulk bill insert and one with an allocation to a reversed charge.
Both runs start from the same database state (each is rolled back to a savepoint) and must
leave the same ledger, payments, allocations, remittance items and file counts. No timings."""
from __future__ import annotations

import datetime as dt
import random
import re
from decimal import Decimal

import pghistory.models
import pytest
from django.db import transaction
from django.utils import timezone

from billing.models import LedgerEntry
from billing.payments.models import Allocation, AllocationPriority, Fee, Payment, RemittanceFile, RemittanceItem
from billing.payments.scanline import scan_line
from billing.payments.tests.helpers import CLERK, assert_consistent, charge, issued_bill
from billing.payments.tests.lockbox_reference import remittance_import_one_by_one
from billing.services import RemittanceFileDuplicate, ledger, payment_post, remittance_import
from cis.tests.factories import AccountFactory
from core.actors import Actor
from integrations.services import LockboxItem, write_bai2_lockbox, write_lockbox_csv

pytestmark = pytest.mark.django_db
D = Decimal
DAYS = [dt.date(2026, 3, d) for d in (2, 5, 3, 9, 4)]  # out of order on purpose
RECEIPT = re.compile(r"R\d{9}")


class _Undo(Exception):
    pass


def utility(rng: random.Random) -> list:
    """40 accounts with a history, the numbers that make lines ambiguous, a payment posted before."""
    AllocationPriority.objects.update_or_create(kind="fee", defaults={"rank": 5})  # fees before bills
    accounts = [AccountFactory() for _ in range(40)]
    AccountFactory(account_number="0000012345")
    AccountFactory(account_number="12345")
    for i, account in enumerate(accounts):
        for month in range(rng.randint(0, 3)):
            issued_bill(account_id=account.pk, total=f"{rng.randint(20, 180)}.{rng.randint(0, 99):02d}",
                        bill_date=dt.date(2025, 12, 1) + dt.timedelta(days=31 * month))
        if i % 5 == 0:
            entry = charge(account_id=account.pk, amount="25.00", on=dt.date(2026, 1, 20))
            Fee.objects.create(account_id=account.pk, kind=Fee.Kind.RETURNED_PAYMENT, amount=D("25.00"),
                               ledger_entry=entry)
        if i % 7 == 0:
            payment_post(account_id=account.pk, amount="300.00", received_date=dt.date(2026, 2, 1), channel="cashier",
                         tender_type="cash", actor=CLERK)
    # Posted by a bulk insert that sends no signal (as a bill run's issue): the account's open
    # credit is not yet applied; the next payment's settling applies it.
    unsettled, stale = AccountFactory(), AccountFactory()
    accounts[:0] = [unsettled, stale]
    payment_post(account_id=unsettled.pk, amount="50.00", received_date=dt.date(2026, 2, 2), channel="cashier",
                 tender_type="cash", actor=CLERK)
    LedgerEntry.objects.bulk_create([LedgerEntry(account_id=unsettled.pk, kind="bill", amount=D("80.00"),
                                                 effective_date=dt.date(2026, 2, 15), description="Bill (bulk)")])
    # A paid charge reversed by a bulk insert: its allocation is stale until the next settling.
    paid = charge(account_id=stale.pk, amount="40.00", on=dt.date(2026, 1, 5))
    payment_post(account_id=stale.pk, amount="40.00", received_date=dt.date(2026, 1, 6), channel="cashier",
                 tender_type="cash", actor=CLERK)
    LedgerEntry.objects.bulk_create([LedgerEntry(account_id=stale.pk, kind="reversal", amount=D("-40.00"),
                                                 effective_date=dt.date(2026, 2, 1), description="Reversal",
                                                 reverses=paid)])
    payment_post(account_id=accounts[2].pk, amount="10.00", received_date=dt.date(2026, 2, 20), channel="lockbox",
                 tender_type="cheque", external_reference="EARLIER-1", actor=CLERK)
    return accounts


def mixed_lines(accounts: list, rng: random.Random, n: int) -> tuple[list[LockboxItem], list[str]]:
    """n items and a few raw bad CSV lines."""
    items: list[LockboxItem] = []
    for k in range(n):
        account = accounts[k] if k < 2 else rng.choice(accounts[:25])  # several payments per account
        number = account.account_number
        roll = rng.random() if k >= 2 else 0.5
        if roll < 0.1:
            number = number.lstrip("9").lstrip("0") if number.lstrip("9").lstrip("0") else number
            number = f"9-{number}" if rng.random() < 0.5 else number
        elif roll < 0.2:
            number = scan_line(account_number=account.account_number, amount_due=D("99.00"))
        amount = D(rng.choice(["12.00", "35.50", "80.25", "150.00", "420.00", "0.01"]))
        reference = f"LBX-{k:05d}"
        if 0.2 <= roll < 0.26 and items:
            reference = rng.choice(items).item_reference  # the same item twice in the file
        elif 0.26 <= roll < 0.28:
            reference = "EARLIER-1"  # posted before this file
        elif 0.28 <= roll < 0.33:
            number = rng.choice(["NO-SUCH", "7777777777", "", "5"])  # unmatched
        elif 0.33 <= roll < 0.36:
            number = "012345"  # ambiguous
        elif 0.36 <= roll < 0.38:
            good = scan_line(account_number=account.account_number, amount_due=D("10.00"))
            number = good[:-1] + str((int(good[-1]) + 1) % 10)  # wrong check digit
        elif 0.38 <= roll < 0.40 and items:
            number, reference = "NO-SUCH", rng.choice(items).item_reference  # unmatched, but already posted
        items.append(LockboxItem(number, amount, rng.choice(DAYS), reference, rng.choice(["cheque", "eft"]),
                                 f"Payer {k}"))
    bad = [f"{accounts[3].account_number},12.345,2026-03-04,BAD-1,cheque,",
           f"{accounts[3].account_number},3.00,2026-13-01,BAD-2,cheque,",
           f"{accounts[3].account_number},3.00,2026-03-01,,cheque,",
           f"{accounts[3].account_number},3.00,2026-03-01,BAD-4,bitcoin,",
           "only,three,fields"]
    return items, bad


def snapshot(after: dict[str, int]) -> dict:
    """Everything the import wrote, with receipt numbers and new row ids replaced by the bank
    reference of their payment (sequences move on in a rolled-back run; the rows must not differ)."""
    payments = list(Payment.objects.filter(id__gt=after["payment"]))
    ref_of_receipt = {p.receipt_number: p.external_reference for p in payments}
    ref_of_entry = {p.ledger_entry_id: p.external_reference for p in payments}

    def text(value: str | None) -> str | None:
        return RECEIPT.sub(lambda m: f"<{ref_of_receipt.get(m.group(0), m.group(0))}>", value) if value else value

    def entry(entry_id: int | None) -> object:
        return f"payment {ref_of_entry[entry_id]}" if entry_id in ref_of_entry else f"entry {entry_id}"

    new_allocations = {a.pk: a for a in Allocation.objects.filter(id__gt=after["allocation"])}
    ledger_rows = [(e.account_id, e.kind, e.amount, e.effective_date, text(e.description), e.reason,
                    text(e.idempotency_key), text(e.payment_reference), e.created_by_id, entry(e.pk))
                   for e in LedgerEntry.objects.filter(id__gt=after["ledger"])]
    payment_rows = [(p.account_id, p.channel, p.tender_type, p.amount, p.received_date, p.external_reference,
                     p.reference, p.reason, p.created_by_id, p.actor, entry(p.ledger_entry_id)) for p in payments]
    allocation_rows = [(a.account_id, entry(a.credit_id), entry(a.charge_id), a.amount, a.allocated_date, a.reason,
                        "new" if a.releases_id in new_allocations else str(a.releases_id))
                       for a in new_allocations.values()]
    item_rows = [(i.line_number, i.status, i.account_number, i.amount, i.paid_date, i.item_reference, i.tender_type,
                  i.payer, i.raw, i.error_field, text(i.message), i.account_id,
                  i.payment.external_reference if i.payment_id else None)
                 for i in RemittanceItem.objects.select_related("payment").filter(id__gt=after["item"])]
    return {
        "ledger": sorted(ledger_rows, key=repr),
        "payments": sorted(payment_rows, key=repr),
        "allocations": sorted(allocation_rows, key=repr),
        "items": sorted(item_rows, key=repr),
        "file": list(RemittanceFile.objects.filter(id__gt=after["file"])
                     .values_list("lines_total", "posted", "suspense", "duplicates", "rejected")),
        "balances": sorted((a, ledger.account_balance(account_id=a))
                           for a in set(LedgerEntry.objects.values_list("account_id", flat=True))),
    }


def high_water() -> dict[str, int]:
    def top(model) -> int:
        return model.objects.order_by("-id").values_list("id", flat=True).first() or 0
    return {"payment": top(Payment), "ledger": top(LedgerEntry), "allocation": top(Allocation),
            "item": top(RemittanceItem), "file": top(RemittanceFile)}


def rolled_back(run) -> dict:
    """The snapshot of `run()`'s writes; the database is left as it was."""
    result: dict = {}
    try:
        with transaction.atomic():
            after = high_water()
            run()
            result = snapshot(after)
            for account_id in {a for a, *_ in result["ledger"]}:
                assert_consistent(account_id, as_of=dt.date(2026, 3, 31))
            raise _Undo
    except _Undo:
        pass
    return result


def test_the_bulk_import_leaves_exactly_what_payment_post_one_by_one_leaves():
    rng = random.Random(10)
    accounts = utility(rng)
    items, bad = mixed_lines(accounts, rng, 220)
    content = (write_lockbox_csv(items) + "\n".join(bad) + "\n").encode()

    def run(**kwargs):
        return lambda: remittance_import(format="lockbox-csv", content=content, file_name="mixed.csv", actor=CLERK,
                                         now=timezone.now(), **kwargs)

    reference = rolled_back(lambda: remittance_import_one_by_one(format="lockbox-csv", content=content,
                                                                 file_name="mixed.csv", actor=CLERK,
                                                                 now=timezone.now()))
    statuses = {row[1] for row in reference["items"]}
    assert statuses == {"posted", "suspense", "duplicate", "rejected"}, statuses
    assert any(row[2] == "012345" and row[10].startswith("Ambiguous") for row in reference["items"])
    assert any("check digit" in (row[10] or "") for row in reference["items"])
    assert any(row[5] == "Reversed in the ledger" for row in reference["allocations"])
    assert {row[9] for row in reference["items"] if row[1] == "rejected"} >= {"amount", "paid_date", "item_reference",
                                                                              "tender_type", "line"}
    for batch_size in (7, 2000):  # batches that cut one account's payments apart, and one batch
        bulk = rolled_back(run(batch_size=batch_size))
        for part in reference:
            assert bulk[part] == reference[part], (batch_size, part)


def test_an_import_cut_off_after_two_batches_resumes_and_posts_each_line_once():
    rng = random.Random(11)
    accounts = utility(rng)
    items, bad = mixed_lines(accounts, rng, 60)
    content = (write_lockbox_csv(items) + "\n".join(bad) + "\n").encode()
    whole = rolled_back(lambda: remittance_import(format="lockbox-csv", content=content, file_name="m.csv",
                                                  actor=CLERK, now=timezone.now(), batch_size=10))
    seen: list[int] = []

    def killed_after_two(file):
        seen.append(file.posted + file.suspense + file.duplicates + file.rejected)
        if len(seen) == 2:
            raise KeyboardInterrupt  # the worker dies: batches 1-2 are committed, the rest is not

    def cut_then_resume():
        with pytest.raises(KeyboardInterrupt):
            remittance_import(format="lockbox-csv", content=content, file_name="m.csv", actor=CLERK,
                              now=timezone.now(), batch_size=10, progress=killed_after_two)
        cut = RemittanceFile.objects.get(file_name="m.csv")
        assert cut.completed_at is None and 0 < cut.items.count() == seen[1] < cut.lines_total
        assert (cut.posted + cut.suspense + cut.duplicates + cut.rejected) == seen[1]
        resumed = remittance_import(format="lockbox-csv", content=content, file_name="m-again.csv", actor=CLERK,
                                    now=timezone.now(), batch_size=10)
        assert resumed.pk == cut.pk and resumed.completed_at is not None
        with pytest.raises(RemittanceFileDuplicate):
            remittance_import(format="lockbox-csv", content=content, file_name="m.csv", actor=CLERK,
                              now=timezone.now())

    assert rolled_back(cut_then_resume) == whole


def test_a_bai2_file_posts_in_bulk_as_payment_post_would_and_records_who_and_why(billing_user):
    rng = random.Random(12)
    accounts = utility(rng)
    items, _ = mixed_lines(accounts, rng, 80)
    items = [i for i in items if i.account_number]  # BAI2's customer reference is never empty in this file
    content = write_bai2_lockbox(items, as_of=dt.date(2026, 3, 6)).encode()
    reference = rolled_back(lambda: remittance_import_one_by_one(format="bai2", content=content, file_name="box.bai2",
                                                                 actor=CLERK, now=timezone.now()))
    assert rolled_back(lambda: remittance_import(format="bai2", content=content, file_name="box.bai2", actor=CLERK,
                                                 now=timezone.now(), batch_size=9)) == reference
    batch = remittance_import(format="bai2", content=content, file_name="box.bai2", actor=Actor.of(billing_user),
                              now=timezone.now())
    payment = Payment.objects.filter(external_reference=items[0].item_reference).get()
    assert (payment.created_by_id, payment.actor) == (billing_user.pk, billing_user.username)
    event = pghistory.models.Events.objects.tracks(payment).get()
    assert event.pgh_context["action"] == "remittance_import" and event.pgh_context["user"] == billing_user.pk
    item_event = pghistory.models.Events.objects.tracks(batch.items.first()).first()
    assert item_event is not None and item_event.pgh_context["actor"] == billing_user.username
