"""Payments: every channel's payment, how it is allocated to charges, returned payments and
their fees, and the configuration billing staff edit in admin (allocation priority by charge
kind, the returned-payment fee, the credit-rating window).

These models belong to the billing app (billing/models.py imports this module), so their
tables are billing_*. Money rows are append-only like the ledger: a pgtrigger refuses UPDATE
and DELETE, and a correction is a new row (an allocation is undone by a release row, a payment
by a PaymentReturn plus the ledger reversal). A constraint trigger (migration
0013_payments_allocations_returns) keeps each charge's and each credit's allocations between
zero and its ledger amount, in SQL as well as in Python.
"""
from __future__ import annotations

from decimal import Decimal

import pghistory
import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import F, Q

from billing.models import MONEY

RECEIPT_SEQUENCE = "billing_payment_receipt_seq"


def _append_only() -> list[pgtrigger.Protect]:
    return [pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete)]


class ChargeKind(models.TextChoices):
    """What a positive ledger entry is, for allocation priority."""

    BILL = "bill", "Bill"
    ADJUSTMENT = "adjustment", "Charge adjustment"
    FEE = "fee", "Fee"


# Used for a kind that has no AllocationPriority row: bills and charge adjustments first (oldest
# first), fees after them.
DEFAULT_PRIORITY: dict[str, int] = {ChargeKind.BILL: 10, ChargeKind.ADJUSTMENT: 10, ChargeKind.FEE: 20}


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class AllocationPriority(models.Model):
    """The order a payment pays open charges in: the lowest rank first, and within one rank the
    oldest charge first (effective date, then posting order)."""

    kind = models.CharField(max_length=20, choices=ChargeKind.choices, unique=True)
    rank = models.PositiveSmallIntegerField(help_text="Lower ranks are paid first; equal ranks by age.")

    class Meta:
        ordering = ["rank", "kind"]
        verbose_name_plural = "allocation priorities"

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.rank}"


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class PaymentSettings(models.Model):
    """One row (id 1): the returned-payment fee and the credit-rating window."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    returned_payment_fee = models.DecimalField(
        **MONEY, default=Decimal("25.00"), help_text="Charged on each NSF or chargeback return (0: none).")
    credit_rating_months = models.PositiveSmallIntegerField(
        default=12, help_text="Returned payments in this many months count for the credit rating.")

    class Meta:
        verbose_name_plural = "payment settings"
        constraints = [
            models.CheckConstraint(name="paymentsettings_single_row", condition=Q(id=1)),
            models.CheckConstraint(name="paymentsettings_fee_not_negative", condition=Q(returned_payment_fee__gte=0)),
            models.CheckConstraint(name="paymentsettings_months_positive", condition=Q(credit_rating_months__gte=1)),
        ]

    def __str__(self) -> str:
        return "Payment settings"


@pghistory.track(pghistory.InsertEvent())
class Payment(models.Model):
    """A payment received through one channel. `external_reference` is the channel's own id of
    it (bank line, gateway transaction): unique per channel, so the same one is never posted
    twice. Its credit is `ledger_entry`; a return is its PaymentReturn."""

    class Channel(models.TextChoices):
        CASHIER = "cashier", "Cashier / CSR"
        LOCKBOX = "lockbox", "Bank lockbox"
        CARD = "card", "Card gateway"
        AUTOPAY = "autopay", "Autopay (pre-authorised debit)"
        API = "api", "API"

    class Tender(models.TextChoices):
        CASH = "cash", "Cash"
        CHEQUE = "cheque", "Cheque"
        CARD = "card", "Card"
        EFT = "eft", "EFT"

    receipt_number = models.CharField(max_length=20, unique=True)
    account = models.ForeignKey("cis.Account", on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=20, choices=Channel.choices)
    tender_type = models.CharField(max_length=20, choices=Tender.choices)
    amount = models.DecimalField(**MONEY)
    received_date = models.DateField()
    external_reference = models.CharField(max_length=100, blank=True, default="")
    reference = models.CharField(max_length=100, blank=True, default="", help_text="Cheque number, note, ...")
    ledger_entry = models.OneToOneField("billing.LedgerEntry", on_delete=models.PROTECT, related_name="payment")
    reason = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    actor = models.CharField(max_length=150, help_text="The user's name, or the system actor's.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_date", "-id"]
        indexes = [models.Index(name="payment_account_date_idx", fields=["account", "received_date"])]
        constraints = [
            models.CheckConstraint(name="payment_amount_positive", condition=Q(amount__gt=0)),
            models.UniqueConstraint(
                name="payment_unique_channel_reference", fields=["channel", "external_reference"],
                condition=~Q(external_reference=""),
                violation_error_message="This channel's reference was already posted.",
            ),
        ]
        triggers = _append_only()

    def __str__(self) -> str:
        return f"Payment {self.receipt_number} {self.amount}"


@pghistory.track(pghistory.InsertEvent())
class PaymentReturn(models.Model):
    """A payment that came back: NSF (the bank refused the cheque or debit), chargeback (the
    card holder disputed it) or a posting error (a mistake undone: no fee, not counted). One
    per payment; `reversal_entry` is the ledger reversal of the payment's credit."""

    class Kind(models.TextChoices):
        NSF = "nsf", "NSF (not sufficient funds)"
        CHARGEBACK = "chargeback", "Chargeback"
        POSTING_ERROR = "posting_error", "Posting error (reversed)"

    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, related_name="payment_return")
    account = models.ForeignKey("cis.Account", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    return_date = models.DateField()
    reason = models.TextField()
    external_reference = models.CharField(max_length=100, blank=True, default="")
    reversal_entry = models.OneToOneField("billing.LedgerEntry", on_delete=models.PROTECT, related_name="+")
    counts_for_credit = models.BooleanField(help_text="NSF and chargebacks count for the credit rating.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    actor = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-return_date", "-id"]
        indexes = [models.Index(name="paymentreturn_account_date_idx", fields=["account", "return_date"])]
        constraints = [
            models.CheckConstraint(
                name="paymentreturn_counts_by_kind",
                condition=(Q(kind="posting_error") & Q(counts_for_credit=False))
                | (~Q(kind="posting_error") & Q(counts_for_credit=True)),
            ),
        ]
        triggers = _append_only()

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.payment_id}"


class Fee(models.Model):
    """A fee charged to an account: an open charge of kind "fee" (its ledger entry is a charge
    adjustment; this row says it is a fee and why)."""

    class Kind(models.TextChoices):
        RETURNED_PAYMENT = "returned_payment", "Returned payment fee"
        LATE_PAYMENT = "late_payment", "Late payment charge"  # billing.collections
        DEPOSIT = "deposit", "Security deposit instalment"  # billing.deposits

    account = models.ForeignKey("cis.Account", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    amount = models.DecimalField(**MONEY)
    ledger_entry = models.OneToOneField("billing.LedgerEntry", on_delete=models.PROTECT, related_name="fee")
    payment_return = models.OneToOneField(PaymentReturn, null=True, blank=True, on_delete=models.PROTECT,
                                          related_name="fee")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(name="fee_amount_positive", condition=Q(amount__gt=0))]
        triggers = _append_only()

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}"


class Allocation(models.Model):
    """`amount` of a credit (a payment's ledger entry, or any other credit) paying a charge (a
    positive ledger entry). A release row (negative, `releases` the allocation it undoes)
    reopens the charge: a charge's open amount is its ledger amount minus the sum of its
    allocation rows, and a credit's unallocated amount is its amount minus the sum of its."""

    account = models.ForeignKey("cis.Account", on_delete=models.PROTECT, related_name="+")
    credit = models.ForeignKey("billing.LedgerEntry", on_delete=models.PROTECT, related_name="allocations_out")
    charge = models.ForeignKey("billing.LedgerEntry", on_delete=models.PROTECT, related_name="allocations_in")
    amount = models.DecimalField(**MONEY)
    releases = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="released_by")
    reason = models.CharField(max_length=200, blank=True)
    allocated_date = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(name="allocation_account_idx", fields=["account"]),
        ]
        constraints = [
            models.CheckConstraint(
                name="allocation_release_is_negative",
                condition=(Q(releases__isnull=True) & Q(amount__gt=0)) | (Q(releases__isnull=False) & Q(amount__lt=0)),
            ),
            models.CheckConstraint(name="allocation_credit_is_not_charge", condition=~Q(credit=F("charge"))),
        ]
        triggers = _append_only()

    def __str__(self) -> str:
        return f"{self.amount} of {self.credit_id} to {self.charge_id}"


class PaymentIdempotencyKey(models.Model):
    """An API client's `Idempotency-Key`: the request it first came with (a fingerprint of the
    body) and the answer it got, replayed for the same key and body."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=100)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the request body (canonical JSON).")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="+")
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(name="payment_idempotency_unique_user_key", fields=["user", "key"])]

    def __str__(self) -> str:
        return f"{self.key} -> {self.payment_id}"


class RemittanceFile(models.Model):
    """A bank remittance (lockbox) file imported once: the same bytes again are recognised by
    `file_hash` and post nothing. Its lines are RemittanceItems, written a batch per transaction;
    `completed_at` is set with the last batch, so an import cut off half way (a killed worker or
    web process) is resumed, not refused, when the same file is imported again."""

    format = models.CharField(max_length=30, help_text="The registered remittance format it was read as.")
    file_name = models.CharField(max_length=255)
    file_hash = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the file's bytes.")
    lines_total = models.PositiveIntegerField(default=0)
    posted = models.PositiveIntegerField(default=0)
    suspense = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    actor = models.CharField(max_length=150)
    imported_at = models.DateTimeField()
    completed_at = models.DateTimeField(
        null=True, blank=True,
        help_text="When its last line was done; empty while an import is under way or was cut off "
                  "(importing the same file again resumes it).")

    class Meta:
        ordering = ["-imported_at", "-id"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.imported_at:%Y-%m-%d})"


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent())
class RemittanceItem(models.Model):
    """One line of a remittance file and what became of it: posted (matched by account number),
    suspense (no account, or several accounts, match: staff assign it), assigned (posted from
    suspense by staff), duplicate (its bank reference was already posted: `payment` is that
    one) or rejected (a bad line: `error_field` and `message` say what is wrong)."""

    class Status(models.TextChoices):
        POSTED = "posted", "Posted"
        SUSPENSE = "suspense", "In suspense"
        ASSIGNED = "assigned", "Assigned from suspense"
        DUPLICATE = "duplicate", "Already posted"
        REJECTED = "rejected", "Rejected (bad line)"

    file = models.ForeignKey(RemittanceFile, on_delete=models.PROTECT, related_name="items")
    line_number = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=Status.choices)
    account_number = models.CharField(max_length=40, blank=True, help_text="As the bank wrote it.")
    amount = models.DecimalField(**MONEY, null=True, blank=True)
    paid_date = models.DateField(null=True, blank=True)
    item_reference = models.CharField(max_length=100, blank=True, help_text="The bank's reference of the item.")
    tender_type = models.CharField(max_length=20, blank=True)
    payer = models.CharField(max_length=200, blank=True)
    raw = models.TextField(blank=True)
    error_field = models.CharField(max_length=40, blank=True)
    message = models.TextField(blank=True, help_text="Why it is in suspense or rejected.")
    account = models.ForeignKey("cis.Account", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolve_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["file", "line_number"]
        indexes = [models.Index(name="remittanceitem_status_idx", fields=["status"])]
        constraints = [
            models.UniqueConstraint(name="remittanceitem_unique_line", fields=["file", "line_number"]),
            models.CheckConstraint(
                name="remittanceitem_payment_by_status",
                condition=(Q(status__in=["posted", "assigned", "duplicate"]) & Q(payment__isnull=False))
                | (Q(status__in=["suspense", "rejected"]) & Q(payment__isnull=True)),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.file.file_name} line {self.line_number} ({self.status})"


from billing.payments.card_models import CardCharge, CardRefund  # noqa: E402,F401  (registered under billing)
# Autopay's tables (enrolments, debit files, debits) are billing tables too.
from billing.payments import autopay_models  # noqa: E402,F401


class RemittanceUpload(models.Model):
    """A remittance file a person uploaded in the Billing Hub, kept (its bytes) until a Celery
    worker on the interactive queue has imported it (billing/payments/remittance_tasks.py): the
    web request only stores it and queues the import; the upload's page polls its progress.
    `file` is the RemittanceFile the import wrote (several uploads of the same bytes share one:
    an upload of a cut-off file resumes it)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Importing"
        DONE = "done", "Imported"
        FAILED = "failed", "Failed"

    format = models.CharField(max_length=30)
    file_name = models.CharField(max_length=255)
    content = models.BinaryField(help_text="The file's bytes, as uploaded.")
    content_hash = models.CharField(max_length=64, db_index=True, help_text="SHA-256 of the file's bytes.")
    size = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True, help_text="Why the import failed.")
    file = models.ForeignKey(RemittanceFile, null=True, blank=True, on_delete=models.PROTECT, related_name="uploads")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    actor = models.CharField(max_length=150)
    uploaded_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-uploaded_at", "-id"]

    def __str__(self) -> str:
        return f"{self.file_name} upload {self.pk} ({self.status})"
