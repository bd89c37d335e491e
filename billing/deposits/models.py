"""Security deposits: deposit classes (configuration: when a deposit is required, how much, what
good payment history is, interest and refunds), date-effective interest rates, each account's
deposits with their instalments, the held-deposit ledger (its own append-only entries, apart
from the account balance), interest credits, refunds, the daily review's recommendations and
its runs. Billing app tables, imported by billing/models.py. See docs/deposits.md."""
from __future__ import annotations

from decimal import Decimal

import pghistory
import pgtrigger
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

from billing.models import MONEY, Digits
from core.runs.models import Chunk, Run

MULTIPLE: Digits = {"max_digits": 5, "decimal_places": 2}
RATE: Digits = {"max_digits": 7, "decimal_places": 4}
ACTIVE = "active"


def _tracked():
    return (pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())


def _append_only(name: str) -> list[pgtrigger.Protect]:
    return [pgtrigger.Protect(name=name, operation=pgtrigger.Update | pgtrigger.Delete)]


def _user_fk():
    return models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")


class Trigger(models.TextChoices):
    """Why a deposit is required."""

    NEW_CUSTOMER = "new_customer", "New customer without good payment history"
    DISCONNECTION = "disconnection", "Disconnected for non-payment"
    RETURNED_PAYMENTS = "returned_payments", "Returned payments"
    MANUAL = "manual", "Required by staff"


@pghistory.track(*_tracked())
class DepositClass(models.Model):
    """One deposit rule set, edited by billing staff in admin. An account's class is the first
    active one (lowest `priority`) whose customer kind and rate class match it (blank: any)."""

    class Basis(models.TextChoices):
        PREMISE = "premise", "Average monthly bill of the premise (rate class when it has none)"
        RATE_CLASS = "rate_class", "Average monthly bill of the rate class"

    class InterestCredit(models.TextChoices):
        ACCOUNT = "account", "Credited to the account"
        DEPOSIT = "deposit", "Added to the deposit held"

    class RefundMethod(models.TextChoices):
        ACCOUNT = "account", "Credit to the account"
        CHEQUE = "cheque", "Cheque"

    code = models.CharField(max_length=30, unique=True)
    name = models.CharField(max_length=100)
    active = models.BooleanField(default=True)
    priority = models.PositiveSmallIntegerField(default=100, help_text="Lower first when several classes match.")
    customer_kind = models.CharField(max_length=20, blank=True, choices=[("person", "Person"), ("organisation", "Organisation")],
                                     help_text="Blank: any customer.")
    rate_class = models.CharField(max_length=30, blank=True,
                                  help_text="The service points' rate class (residential, small commercial, ...); blank: any.")
    # When a deposit is required
    require_new_customer = models.BooleanField(default=True, help_text="A new customer without good payment history.")
    require_after_disconnection = models.BooleanField(default=True, help_text="After a disconnection for non-payment.")
    returned_payments_trigger = models.PositiveSmallIntegerField(
        default=2, help_text="This many returned payments (NSF, chargeback) within the months below; 0: never.")
    returned_payments_months = models.PositiveSmallIntegerField(default=12)
    # How much
    amount_basis = models.CharField(max_length=20, choices=Basis.choices, default=Basis.PREMISE)
    lookback_months = models.PositiveSmallIntegerField(default=12, help_text="Months of bills averaged (1 to 24).")
    amount_multiple = models.DecimalField(**MULTIPLE, default=Decimal("2.00"),
                                          help_text="The deposit is this many average monthly bills.")
    cap_multiple = models.DecimalField(**MULTIPLE, default=Decimal("2.50"),
                                       help_text="Never more than this many average monthly bills (Ontario: 2.5).")
    minimum_amount = models.DecimalField(**MONEY, default=Decimal("0.00"),
                                         help_text="At least this (unless the cap is lower).")
    instalments = models.PositiveSmallIntegerField(default=1, help_text="Billed over this many bills (1 to 12).")
    # Good payment history, waivers, interest, refund
    good_history_months = models.PositiveSmallIntegerField(
        default=12, help_text="Months of good payment history for no deposit, or a refund (residential 12, "
                              "small commercial 36, others 84).")
    max_incidents = models.PositiveSmallIntegerField(
        default=1, help_text="History stays good with at most this many disconnection notices plus returned payments.")
    interest_credit = models.CharField(max_length=20, choices=InterestCredit.choices, default=InterestCredit.ACCOUNT)
    interest_credit_months = models.PositiveSmallIntegerField(default=12, help_text="Interest credited every N months "
                                                                                    "(1 to 12: at least yearly).")
    refund_method = models.CharField(max_length=20, choices=RefundMethod.choices, default=RefundMethod.ACCOUNT)
    apply_on_final_bill = models.BooleanField(default=True, help_text="A final bill takes the deposit held.")

    class Meta:
        ordering = ["priority", "code"]
        verbose_name_plural = "deposit classes"
        constraints = [
            models.CheckConstraint(name="depositclass_multiple_positive", condition=Q(amount_multiple__gt=0)),
            models.CheckConstraint(name="depositclass_multiple_within_cap", condition=Q(amount_multiple__lte=F("cap_multiple"))),
            models.CheckConstraint(name="depositclass_minimum_not_negative", condition=Q(minimum_amount__gte=0)),
            models.CheckConstraint(name="depositclass_instalments_1_12", condition=Q(instalments__gte=1, instalments__lte=12)),
            models.CheckConstraint(name="depositclass_lookback_1_24", condition=Q(lookback_months__gte=1, lookback_months__lte=24)),
            models.CheckConstraint(name="depositclass_history_positive", condition=Q(good_history_months__gte=1)),
            models.CheckConstraint(name="depositclass_interest_at_least_yearly",
                                   condition=Q(interest_credit_months__gte=1, interest_credit_months__lte=12)),
            models.CheckConstraint(name="depositclass_returned_months_positive", condition=Q(returned_payments_months__gte=1)),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.amount_multiple is not None and self.amount_multiple <= 0:
            errors["amount_multiple"] = "The deposit is a positive number of average monthly bills."
        elif self.amount_multiple is not None and self.cap_multiple is not None and self.amount_multiple > self.cap_multiple:
            errors["amount_multiple"] = (f"{self.amount_multiple} average bills is above the cap of {self.cap_multiple}; "
                                         "lower it or raise the cap.")
        if self.minimum_amount is not None and self.minimum_amount < 0:
            errors["minimum_amount"] = "The minimum cannot be negative."
        if not 1 <= (self.instalments or 0) <= 12:
            errors["instalments"] = "Bill a deposit over 1 to 12 instalments."
        if not 1 <= (self.lookback_months or 0) <= 24:
            errors["lookback_months"] = "Average between 1 and 24 months of bills."
        if not (self.good_history_months or 0) >= 1:
            errors["good_history_months"] = "Good payment history is at least 1 month."
        if not 1 <= (self.interest_credit_months or 0) <= 12:
            errors["interest_credit_months"] = "Interest is credited at least yearly: every 1 to 12 months."
        if not (self.returned_payments_months or 0) >= 1:
            errors["returned_payments_months"] = "Count returned payments over at least 1 month."
        if errors:
            raise ValidationError(errors)


@pghistory.track(*_tracked())
class DepositInterestRate(models.Model):
    """The annual interest rate on deposits held, in effect from `start_date` until the next
    rate's start (date-effective; simple interest on each day's held amount, actual/365)."""

    start_date = models.DateField(unique=True)
    annual_percent = models.DecimalField(**RATE, help_text="e.g. 2.4500 for 2.45 % a year.")
    note = models.CharField(max_length=200, blank=True, help_text="Where the rate comes from (e.g. prime - 2 %).")

    class Meta:
        ordering = ["start_date"]
        constraints = [models.CheckConstraint(name="depositrate_0_25", condition=Q(annual_percent__gte=0, annual_percent__lte=25))]

    def __str__(self) -> str:
        return f"{self.annual_percent} % from {self.start_date}"


@pghistory.track(*_tracked())
class Deposit(models.Model):
    """A deposit an account is asked for. `amount` is what is required (billed in instalments);
    `held_amount` is what the customer paid and the utility holds (the sum of its
    DepositEntry rows, kept apart from the account's ledger balance). Active: being billed or
    held. At most one active deposit per account and class (database)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active (billed or held)"
        WAIVED = "waived", "Waived"
        REFUNDED = "refunded", "Refunded"
        APPLIED = "applied", "Applied to the final bill"
        TRANSFERRED = "transferred", "Transferred to another account"
        CANCELLED = "cancelled", "Cancelled"

    class Waiver(models.TextChoices):
        LOW_INCOME = "low_income", "Low-income customer"
        REFERENCE_LETTER = "reference_letter", "Reference letter from another utility"
        OTHER = "other", "Other (say why)"

    account = models.ForeignKey("cis.Account", on_delete=models.PROTECT, related_name="+")
    deposit_class = models.ForeignKey(DepositClass, on_delete=models.PROTECT, related_name="deposits")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    trigger = models.CharField(max_length=30, choices=Trigger.choices)
    trigger_key = models.CharField(max_length=100, help_text="The event that required it (one deposit per event).")
    required_on = models.DateField()
    amount = models.DecimalField(**MONEY)
    workings = models.JSONField(default=dict, blank=True, help_text="How the amount was worked out.")
    held_amount = models.DecimalField(**MONEY, default=Decimal("0.00"))
    interest_from = models.DateField(null=True, blank=True, help_text="Interest accrues from here (the last credit).")
    waiver = models.CharField(max_length=30, choices=Waiver.choices, blank=True)
    waiver_reference = models.CharField(max_length=200, blank=True, help_text="The letter, programme or file number.")
    waived_by = _user_fk()
    closed_on = models.DateField(null=True, blank=True)
    close_reason = models.TextField(blank=True)
    transferred_from = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                            related_name="transferred_to")
    created_by = _user_fk()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["account_id", "-required_on", "-id"]
        indexes = [models.Index(name="deposit_status_idx", fields=["status", "account"])]
        constraints = [
            models.UniqueConstraint(name="deposit_one_active_per_account_class", fields=["account", "deposit_class"],
                                    condition=Q(status="active"),
                                    violation_error_message="The account already has an active deposit of this class."),
            models.UniqueConstraint(name="deposit_one_per_trigger", fields=["account", "trigger_key"]),
            models.CheckConstraint(name="deposit_held_not_negative", condition=Q(held_amount__gte=0)),
            models.CheckConstraint(name="deposit_amount_not_negative", condition=Q(amount__gte=0)),
            models.CheckConstraint(name="deposit_active_has_amount", condition=~Q(status="active") | Q(amount__gt=0)),
            models.CheckConstraint(name="deposit_waived_has_waiver",
                                   condition=(Q(status="waived") & ~Q(waiver="")) | (~Q(status="waived") & Q(waiver=""))),
            models.CheckConstraint(name="deposit_closed_has_date",
                                   condition=(Q(status="active") & Q(closed_on__isnull=True))
                                   | (~Q(status="active") & Q(closed_on__isnull=False))),
            models.CheckConstraint(name="deposit_closed_holds_nothing", condition=Q(status="active") | Q(held_amount=0)),
        ]

    def __str__(self) -> str:
        return f"Deposit {self.pk} of account {self.account_id} ({self.get_status_display()})"


class DepositInstalment(models.Model):
    """One instalment of a deposit: scheduled, then billed (a charge on the account: a ledger
    charge adjustment with a Fee of kind "deposit", on the bill it was issued with), or
    cancelled. `paid` is the part of its charge that payments have paid and that the deposit
    holds (DepositEntry rows of kind payment / payment_undone say when)."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        BILLED = "billed", "Billed"
        CANCELLED = "cancelled", "Cancelled"

    deposit = models.ForeignKey(Deposit, on_delete=models.PROTECT, related_name="instalments")
    number = models.PositiveSmallIntegerField()
    amount = models.DecimalField(**MONEY)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SCHEDULED)
    ledger_entry = models.OneToOneField("billing.LedgerEntry", null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="deposit_instalment")
    fee = models.OneToOneField("billing.Fee", null=True, blank=True, on_delete=models.PROTECT, related_name="deposit_instalment")
    bill = models.ForeignKey("billing.Bill", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    billed_on = models.DateField(null=True, blank=True)
    paid = models.DecimalField(**MONEY, default=Decimal("0.00"))

    class Meta:
        ordering = ["deposit_id", "number"]
        constraints = [
            models.UniqueConstraint(name="depositinstalment_unique_number", fields=["deposit", "number"]),
            models.CheckConstraint(name="depositinstalment_amount_positive", condition=Q(amount__gt=0)),
            models.CheckConstraint(name="depositinstalment_paid_within_amount", condition=Q(paid__gte=0, paid__lte=F("amount"))),
            models.CheckConstraint(name="depositinstalment_billed_has_charge",
                                   condition=(Q(status="scheduled") & Q(ledger_entry__isnull=True))
                                   | (~Q(status="scheduled") & (Q(ledger_entry__isnull=False) | Q(status="cancelled")))),
        ]

    def __str__(self) -> str:
        return f"Instalment {self.number} of deposit {self.deposit_id}: {self.amount}"


class DepositEntry(models.Model):
    """The held-deposit ledger, append-only: money into the deposit (+: an instalment paid,
    interest added, a transfer in) and out of it (-: a payment undone, a refund, applied to a
    bill, a transfer out). These rows are not LedgerEntry rows, so a deposit held is never in
    the account's balance; where money crosses to the account (a refund or application as a
    credit, interest credited) `ledger_entry` is the account's side."""

    class Kind(models.TextChoices):
        PAYMENT = "payment", "Instalment paid"
        PAYMENT_UNDONE = "payment_undone", "Instalment payment undone (returned or instalment cancelled)"
        INTEREST = "interest", "Interest added"
        REFUND = "refund", "Refunded"
        APPLIED = "applied", "Applied to a bill"
        TRANSFER_OUT = "transfer_out", "Transferred out"
        TRANSFER_IN = "transfer_in", "Transferred in"

    deposit = models.ForeignKey(Deposit, on_delete=models.PROTECT, related_name="entries")
    account = models.ForeignKey("cis.Account", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    amount = models.DecimalField(**MONEY)
    effective_date = models.DateField()
    description = models.CharField(max_length=200)
    instalment = models.ForeignKey(DepositInstalment, null=True, blank=True, on_delete=models.PROTECT, related_name="entries")
    ledger_entry = models.OneToOneField("billing.LedgerEntry", null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="deposit_entry")
    idempotency_key = models.CharField(max_length=100, unique=True)
    reason = models.TextField(blank=True)
    created_by = _user_fk()
    actor = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["deposit_id", "effective_date", "id"]
        verbose_name_plural = "deposit entries"
        indexes = [models.Index(name="depositentry_account_idx", fields=["account", "effective_date"])]
        constraints = [
            models.CheckConstraint(name="depositentry_amount_not_zero", condition=~Q(amount=0)),
            models.CheckConstraint(
                name="depositentry_sign_by_kind",
                condition=(Q(kind__in=["payment", "interest", "transfer_in"]) & Q(amount__gt=0))
                | (Q(kind__in=["payment_undone", "refund", "applied", "transfer_out"]) & Q(amount__lt=0))),
        ]
        triggers = _append_only("depositentry_append_only")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}"


class DepositInterest(models.Model):
    """Interest on a deposit for [period_start, period_end), credited on `period_end`: to the
    account (`ledger_entry`, a credit) or to the deposit (`entry`). `workings` has each span of
    one held amount and one rate."""

    deposit = models.ForeignKey(Deposit, on_delete=models.PROTECT, related_name="interest_credits")
    period_start = models.DateField()
    period_end = models.DateField()
    amount = models.DecimalField(**MONEY)
    credited_to = models.CharField(max_length=20, choices=DepositClass.InterestCredit.choices)
    ledger_entry = models.OneToOneField("billing.LedgerEntry", null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="deposit_interest")
    entry = models.OneToOneField(DepositEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="interest")
    workings = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["deposit_id", "period_start"]
        constraints = [
            models.UniqueConstraint(name="depositinterest_one_per_period_end", fields=["deposit", "period_end"]),
            models.CheckConstraint(name="depositinterest_period_order", condition=Q(period_end__gt=F("period_start"))),
            models.CheckConstraint(name="depositinterest_amount_not_negative", condition=Q(amount__gte=0)),
        ]
        triggers = _append_only("depositinterest_append_only")


@pghistory.track(*_tracked())
class DepositRefund(models.Model):
    """A refund of a deposit: credited to the account at once (`ledger_entry`), or a cheque to
    pay (pending until staff record its number and date)."""

    class Method(models.TextChoices):
        ACCOUNT = "account", "Credit to the account"
        CHEQUE = "cheque", "Cheque"

    class Status(models.TextChoices):
        PENDING = "pending", "Cheque to pay"
        PAID = "paid", "Paid"

    deposit = models.OneToOneField(Deposit, on_delete=models.PROTECT, related_name="refund")
    account = models.ForeignKey("cis.Account", on_delete=models.PROTECT, related_name="+")
    method = models.CharField(max_length=20, choices=Method.choices)
    status = models.CharField(max_length=20, choices=Status.choices)
    amount = models.DecimalField(**MONEY)
    payee = models.CharField(max_length=250, help_text="The customer's name when the refund was made.")
    mailing_address = models.TextField(blank=True)
    cheque_number = models.CharField(max_length=40, blank=True)
    paid_on = models.DateField(null=True, blank=True)
    entry = models.OneToOneField(DepositEntry, on_delete=models.PROTECT, related_name="refund")
    ledger_entry = models.OneToOneField("billing.LedgerEntry", null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="deposit_refund")
    reason = models.TextField()
    created_by = _user_fk()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(name="depositrefund_amount_positive", condition=Q(amount__gt=0)),
            models.CheckConstraint(
                name="depositrefund_by_method",
                condition=(Q(method="account") & Q(status="paid") & Q(ledger_entry__isnull=False))
                | (Q(method="cheque") & Q(ledger_entry__isnull=True)
                   & ((Q(status="pending") & Q(paid_on__isnull=True) & Q(cheque_number=""))
                      | (Q(status="paid") & Q(paid_on__isnull=False) & ~Q(cheque_number=""))))),
        ]


class DepositReview(Run):
    """The daily deposit review of one date on core.runs (one per date: its idempotency key)."""

    run_date = models.DateField()
    idempotency_key = models.CharField(max_length=100, unique=True)
    accounts_total = models.PositiveIntegerField(default=0)
    recommended = models.PositiveIntegerField(default=0)
    instalments_paid = models.PositiveIntegerField(default=0)
    interest_credited = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-run_date", "-id"]


class DepositReviewChunk(Chunk):
    run = models.ForeignKey(DepositReview, on_delete=models.CASCADE, related_name="chunks")
    account_ids = models.JSONField()

    class Meta:
        ordering = ["run", "number"]
        constraints = [models.UniqueConstraint(name="depositreviewchunk_unique", fields=["run", "number"])]


@pghistory.track(*_tracked())
class DepositRecommendation(models.Model):
    """What the daily review recommends for an account: require a deposit (by which rule),
    refund one (good payment history reached) or apply one (the account is closing). Once per
    account, action and event (`key`): a dismissed recommendation is not made again."""

    class Action(models.TextChoices):
        REQUIRE = "require", "Require a deposit"
        REFUND = "refund", "Refund the deposit"
        APPLY = "apply", "Apply the deposit to the final bill"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACCEPTED = "accepted", "Accepted"
        DISMISSED = "dismissed", "Dismissed"

    account = models.ForeignKey("cis.Account", on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=20, choices=Action.choices)
    key = models.CharField(max_length=100, help_text="The trigger key (require) or the deposit (refund, apply).")
    trigger = models.CharField(max_length=30, choices=Trigger.choices, blank=True)
    deposit_class = models.ForeignKey(DepositClass, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    deposit = models.ForeignKey(Deposit, null=True, blank=True, on_delete=models.PROTECT, related_name="recommendations")
    amount = models.DecimalField(**MONEY, null=True, blank=True)
    reason = models.CharField(max_length=300)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    recommended_on = models.DateField()
    review = models.ForeignKey(DepositReview, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_by = _user_fk()
    decided_on = models.DateField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-recommended_on", "-id"]
        constraints = [
            models.UniqueConstraint(name="depositrecommendation_once", fields=["account", "action", "key"]),
            models.CheckConstraint(name="depositrecommendation_deposit_unless_require",
                                   condition=Q(action="require") | Q(deposit__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} for account {self.account_id}"
