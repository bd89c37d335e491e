"""Autopay (pre-authorised debit) tables: an account's enrolment with its bank account (the
routing and account numbers encrypted at rest, only the last four digits in clear), the NACHA
debit files produced for a due date, and each bill's debit.

Billing app tables (billing.payments.models imports this module). Enrolments and debits are
tracked by pghistory (who, what, why through core.actors); the database keeps one active
enrolment per account, one debit per bill and one trace number per debit.
"""
from __future__ import annotations

import pghistory
from django.conf import settings
from django.db import models
from django.db.models import Q

from billing.models import MONEY

TRACE_SEQUENCE = "billing_autopay_trace_seq"


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent())
class AutopayEnrolment(models.Model):
    """An account's authorisation to debit a bank account for its bills from `start_date`.
    `routing_number_encrypted` / `account_number_encrypted` are Fernet tokens
    (settings.UTILIS_FIELD_ENCRYPTION_KEY); `account_last4` is the clear part shown as "•••• 6789"
    (empty for an account number too short to show any of it)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        CANCELLED = "cancelled", "Cancelled"

    class AccountType(models.TextChoices):
        CHECKING = "checking", "Checking (chequing)"
        SAVINGS = "savings", "Savings"

    account = models.ForeignKey("cis.Account", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    routing_number_encrypted = models.TextField()
    account_number_encrypted = models.TextField()
    account_last4 = models.CharField(max_length=4, blank=True)
    account_type = models.CharField(max_length=20, choices=AccountType.choices)
    holder_name = models.CharField(max_length=100)
    start_date = models.DateField(help_text="Bills due on or after this date are debited.")
    max_amount = models.DecimalField(**MONEY, null=True, blank=True,
                                     help_text="A debit above this is held for review (empty: no maximum).")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    actor = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    cancel_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(name="autopay_one_active_per_account", fields=["account"],
                                    condition=Q(status="active"),
                                    violation_error_message="The account already has an active autopay enrolment."),
            models.CheckConstraint(name="autopay_max_amount_positive",
                                   condition=Q(max_amount__isnull=True) | Q(max_amount__gt=0)),
            models.CheckConstraint(name="autopay_last4_digits", condition=Q(account_last4__regex=r"^([0-9]{4})?$")),
            models.CheckConstraint(
                name="autopay_cancel_has_reason",
                condition=(Q(status="active") & Q(cancelled_at__isnull=True))
                | (Q(status="cancelled") & Q(cancelled_at__isnull=False) & ~Q(cancel_reason="")),
            ),
        ]

    def __str__(self) -> str:
        return f"Autopay of account {self.account_id} ({self.status})"


class AutopayDebitFile(models.Model):
    """A NACHA PPD debit file produced for bills due on `due_date`. The first file of a date has
    file id modifier A; a later run for the same date writes a new file (B, C, ...) only for
    bills not debited yet. `content` is the file exactly as written (written again unchanged)."""

    due_date = models.DateField()
    file_id_modifier = models.CharField(max_length=1)
    content = models.TextField()
    file_hash = models.CharField(max_length=64, help_text="SHA-256 of the content.")
    entry_count = models.PositiveIntegerField()
    total_amount = models.DecimalField(**MONEY)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    actor = models.CharField(max_length=150)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-due_date", "-file_id_modifier"]
        constraints = [
            models.UniqueConstraint(name="autopayfile_unique_date_modifier", fields=["due_date", "file_id_modifier"]),
            models.CheckConstraint(name="autopayfile_modifier_format", condition=Q(file_id_modifier__regex=r"^[A-Z0-9]$")),
        ]

    def __str__(self) -> str:
        return f"Autopay debit file {self.due_date} {self.file_id_modifier}"


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent())
class AutopayDebit(models.Model):
    """One bill's debit: `sent` (an entry of `file`, posted as `payment` with the trace number as
    its external reference), `held` (above the enrolment's maximum: not sent, listed for
    review) or `returned` (the bank's returns file sent it back: `return_code`)."""

    class Status(models.TextChoices):
        SENT = "sent", "Sent (payment posted)"
        HELD = "held", "Held for review (above the maximum)"
        RETURNED = "returned", "Returned by the bank"
        SKIPPED = "skipped", "Skipped at review (not debited)"

    bill = models.OneToOneField("billing.Bill", on_delete=models.PROTECT, related_name="autopay_debit")
    enrolment = models.ForeignKey(AutopayEnrolment, on_delete=models.PROTECT, related_name="debits")
    account = models.ForeignKey("cis.Account", on_delete=models.PROTECT, related_name="+")
    due_date = models.DateField()
    amount = models.DecimalField(**MONEY)
    status = models.CharField(max_length=20, choices=Status.choices)
    trace_number = models.CharField(max_length=15, blank=True, default="")
    file = models.ForeignKey(AutopayDebitFile, null=True, blank=True, on_delete=models.PROTECT, related_name="debits")
    payment = models.OneToOneField("billing.Payment", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="autopay_debit")
    hold_reason = models.CharField(max_length=200, blank=True)
    return_code = models.CharField(max_length=3, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The review of a held debit (billing.payments.autopay_review): sent anyway or skipped, by whom and why.
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    reviewed_actor = models.CharField(max_length=150, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["due_date", "id"]
        indexes = [models.Index(name="autopaydebit_status_idx", fields=["status", "due_date"])]
        constraints = [
            models.CheckConstraint(name="autopaydebit_amount_positive", condition=Q(amount__gt=0)),
            models.UniqueConstraint(name="autopaydebit_unique_trace", fields=["trace_number"],
                                    condition=~Q(trace_number="")),
            models.CheckConstraint(
                name="autopaydebit_fields_by_status",
                condition=(Q(status__in=["held", "skipped"]) & Q(file__isnull=True) & Q(payment__isnull=True)
                           & Q(trace_number=""))
                | (Q(status__in=["sent", "returned"]) & Q(file__isnull=False) & Q(payment__isnull=False)
                   & Q(trace_number__regex=r"^[0-9]{15}$")),
            ),
            models.CheckConstraint(
                name="autopaydebit_review_says_who_and_why",
                condition=(Q(reviewed_at__isnull=True) & Q(review_reason="") & ~Q(status="skipped"))
                | (Q(reviewed_at__isnull=False) & ~Q(review_reason="") & ~Q(reviewed_actor="")),
            ),
        ]

    def __str__(self) -> str:
        return f"Autopay debit of bill {self.bill_id} ({self.status})"
