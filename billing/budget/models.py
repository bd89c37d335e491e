"""Equal payment plans (budget billing): plan types (configuration), enrolments, the deferred
balance and the reviews and settlements of each plan year. Billing app tables, imported by
billing/models.py. See docs/budget.md."""
from __future__ import annotations

import pghistory
import pgtrigger
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from billing.models import MONEY, Digits

PERCENT: Digits = {"max_digits": 5, "decimal_places": 2}


def _tracked():
    return (pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())


@pghistory.track(*_tracked())
class BudgetPlanType(models.Model):
    """One equal-payment-plan rule set, edited by billing staff (admin, Billing Hub)."""

    class Basis(models.TextChoices):
        BILLED = "billed", "Average billed charges"
        CONSUMPTION = "consumption", "Average consumption priced at current rates"

    class Settlement(models.TextChoices):
        TRUE_UP = "true_up", "True-up on the anniversary bill"
        ROLL = "roll", "Roll into the next plan year"
        SPREAD = "spread", "Spread over the next months"

    code = models.CharField(max_length=30, unique=True)
    name = models.CharField(max_length=100)
    active = models.BooleanField(default=True)
    basis = models.CharField(max_length=20, choices=Basis.choices, default=Basis.BILLED)
    lookback_months = models.PositiveSmallIntegerField(default=12, help_text="Bills looked back at (1 to 24).")
    min_history_months = models.PositiveSmallIntegerField(
        default=3, help_text="With fewer billed months the premise's rate class estimate is used.")
    uplift_percent = models.DecimalField(**PERCENT, default=0, help_text="Added to the average, 0 to 50 %.")
    review_months = ArrayField(models.PositiveSmallIntegerField(), default=list, blank=True,
                               help_text="Plan months (1 to 11) after whose bill the amount is reviewed, e.g. 4, 8.")
    variance_percent = models.DecimalField(
        **PERCENT, default=15, help_text="At a review, re-size when actual differs from plan by more than this %.")
    settlement = models.CharField(max_length=20, choices=Settlement.choices, default=Settlement.TRUE_UP)
    spread_months = models.PositiveSmallIntegerField(null=True, blank=True,
                                                     help_text="For a spread settlement: over how many bills (2 to 12).")
    min_refund = models.DecimalField(**MONEY, default=0,
                                     help_text="A settlement credit below this stays on the account instead of a refund.")
    require_no_arrears = models.BooleanField(default=True, help_text="Refuse accounts with charges 30+ days overdue.")
    min_months_at_address = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(name="budgettype_lookback_1_24", condition=Q(lookback_months__gte=1, lookback_months__lte=24)),
            models.CheckConstraint(name="budgettype_min_history_le_lookback",
                                   condition=Q(min_history_months__lte=models.F("lookback_months"))),
            models.CheckConstraint(name="budgettype_uplift_0_50", condition=Q(uplift_percent__gte=0, uplift_percent__lte=50)),
            models.CheckConstraint(name="budgettype_variance_0_100",
                                   condition=Q(variance_percent__gt=0, variance_percent__lte=100)),
            models.CheckConstraint(name="budgettype_review_months_1_11",
                                   condition=Q(review_months__contained_by=list(range(1, 12)))),
            models.CheckConstraint(
                name="budgettype_spread_months",
                condition=(Q(settlement="spread", spread_months__isnull=False, spread_months__gte=2, spread_months__lte=12)
                           | (~Q(settlement="spread") & Q(spread_months__isnull=True)))),
            models.CheckConstraint(name="budgettype_min_refund_not_negative", condition=Q(min_refund__gte=0)),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if not 1 <= (self.lookback_months or 0) <= 24:
            errors["lookback_months"] = "Look back between 1 and 24 months."
        elif (self.min_history_months or 0) > self.lookback_months:
            errors["min_history_months"] = (f"The minimum history ({self.min_history_months} months) cannot be longer "
                                            f"than the look-back ({self.lookback_months} months).")
        months = list(self.review_months or [])
        bad = [m for m in months if not 1 <= m <= 11]
        if bad:
            errors["review_months"] = (f"Review months are plan months 1 to 11 (month 12 is the anniversary); "
                                       f"{', '.join(map(str, bad))} is not.")
        elif len(set(months)) != len(months):
            errors["review_months"] = "A review month is given twice."
        else:
            self.review_months = sorted(months)
        if self.uplift_percent is not None and not 0 <= self.uplift_percent <= 50:
            errors["uplift_percent"] = "The uplift is between 0 and 50 %."
        if self.variance_percent is not None and not 0 < self.variance_percent <= 100:
            errors["variance_percent"] = "The variance threshold is more than 0 and at most 100 %."
        if self.settlement == self.Settlement.SPREAD:
            if self.spread_months is None or not 2 <= self.spread_months <= 12:
                errors["spread_months"] = "A spread settlement needs 2 to 12 months to spread over."
        elif self.spread_months is not None:
            errors["spread_months"] = "Only a spread settlement has months to spread over; leave it empty."
        if self.min_refund is not None and self.min_refund < 0:
            errors["min_refund"] = "The smallest refund cannot be negative."
        if errors:
            raise ValidationError(errors)


@pghistory.track(*_tracked())
class BudgetPlan(models.Model):
    """One plan year of an account on an equal payment plan. `monthly_amount` is what each
    bill asks (re-sized at reviews). At most one active plan per account (database)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SETTLED = "settled", "Settled"

    account = models.ForeignKey("cis.Account", on_delete=models.PROTECT, related_name="+")
    plan_type = models.ForeignKey(BudgetPlanType, on_delete=models.PROTECT, related_name="plans")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    start_date = models.DateField(help_text="Bills dated on or after this day are on the plan.")
    monthly_amount = models.DecimalField(**MONEY)
    months_billed = models.PositiveSmallIntegerField(default=0)
    workings = models.JSONField(default=dict, blank=True, help_text="How the amount was worked out.")
    previous = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="next_plan")
    spread_total = models.DecimalField(**MONEY, default=0,
                                       help_text="Last year's balance spread over this year's first bills.")
    spread_months = models.PositiveSmallIntegerField(default=0)
    ended_on = models.DateField(null=True, blank=True)
    end_reason = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["account_id", "-start_date", "-id"]
        constraints = [
            models.UniqueConstraint(name="budgetplan_one_active_per_account", fields=["account"],
                                    condition=Q(status="active")),
            models.CheckConstraint(name="budgetplan_amount_positive", condition=Q(monthly_amount__gt=0)),
            models.CheckConstraint(name="budgetplan_months_0_12", condition=Q(months_billed__lte=12)),
            models.CheckConstraint(name="budgetplan_settled_has_end",
                                   condition=Q(status="active", ended_on__isnull=True)
                                   | Q(status="settled", ended_on__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"Plan {self.pk} of account {self.account_id} ({self.monthly_amount}/month)"


class BudgetDeferral(models.Model):
    """The deferred balance, append-only: actual charges minus plan amounts not yet due. A
    positive amount is owed later by the customer, a negative one is owed to them. Every row
    but a roll (which moves a balance from one plan year to the next) has the ledger entry
    that offsets it (amount = -ledger amount), so ledger balance + deferred balance = what
    was charged minus what was paid."""

    class Kind(models.TextChoices):
        BILL = "bill", "Bill: actual minus plan"
        SETTLEMENT = "settlement", "Settled on the bill"
        SPREAD = "spread", "Spread instalment"
        ROLL_OUT = "roll_out", "Rolled into the next plan year"
        ROLL_IN = "roll_in", "Rolled in from the last plan year"
        CANCELLED = "cancelled", "Bill cancelled"

    plan = models.ForeignKey(BudgetPlan, on_delete=models.PROTECT, related_name="deferrals")
    account = models.ForeignKey("cis.Account", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    amount = models.DecimalField(**MONEY)
    bill = models.ForeignKey("billing.Bill", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    ledger_entry = models.OneToOneField("billing.LedgerEntry", null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="budget_deferral")
    effective_date = models.DateField()
    description = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["account_id", "effective_date", "id"]
        indexes = [models.Index(name="budgetdeferral_account_idx", fields=["account", "effective_date"])]
        constraints = [
            models.CheckConstraint(name="budgetdeferral_amount_not_zero", condition=~Q(amount=0)),
            models.CheckConstraint(name="budgetdeferral_ledger_unless_roll",
                                   condition=Q(kind__in=["roll_out", "roll_in"], ledger_entry__isnull=True)
                                   | (~Q(kind__in=["roll_out", "roll_in"]) & Q(ledger_entry__isnull=False))),
            models.UniqueConstraint(name="budgetdeferral_one_per_bill_kind", fields=["bill", "kind"],
                                    condition=Q(bill__isnull=False) & ~Q(kind="cancelled")),
        ]
        triggers = [pgtrigger.Protect(name="budgetdeferral_append_only", operation=pgtrigger.Update | pgtrigger.Delete)]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}"


class BudgetPlanBill(models.Model):
    """A bill issued on a plan: its month of the plan year, its actual charges and the plan
    amount it asked. One per bill (the issue hook runs once per bill)."""

    plan = models.ForeignKey(BudgetPlan, on_delete=models.PROTECT, related_name="plan_bills")
    bill = models.OneToOneField("billing.Bill", on_delete=models.PROTECT, related_name="budget_line")
    month = models.PositiveSmallIntegerField()
    actual = models.DecimalField(**MONEY)
    planned = models.DecimalField(**MONEY)
    spread = models.DecimalField(**MONEY, default=0, help_text="Last year's balance instalment on this bill.")
    settled = models.DecimalField(**MONEY, default=0, help_text="Deferred balance settled on this bill.")
    cancelled = models.BooleanField(default=False)

    class Meta:
        ordering = ["plan_id", "month", "id"]
        constraints = [models.CheckConstraint(name="budgetplanbill_month_1_12", condition=Q(month__gte=1, month__lte=12))]

    @property
    def due_change(self):
        """What the plan changed on the bill's amount due: plan - actual + spread + settled."""
        return self.planned - self.actual + self.spread + self.settled


class BudgetReview(models.Model):
    """A review after a plan month's bill: actual vs plan to date and what was decided."""

    plan = models.ForeignKey(BudgetPlan, on_delete=models.PROTECT, related_name="reviews")
    bill = models.OneToOneField("billing.Bill", on_delete=models.PROTECT, related_name="+")
    month = models.PositiveSmallIntegerField()
    actual_to_date = models.DecimalField(**MONEY)
    plan_to_date = models.DecimalField(**MONEY)
    variance_percent = models.DecimalField(max_digits=9, decimal_places=2)
    old_amount = models.DecimalField(**MONEY)
    new_amount = models.DecimalField(**MONEY)
    resized = models.BooleanField()
    workings = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["plan_id", "month"]
        constraints = [models.UniqueConstraint(name="budgetreview_one_per_month", fields=["plan", "month"])]


class BudgetSettlement(models.Model):
    """How a plan year ended: at the anniversary per the plan type, or on leaving / moving out."""

    class Kind(models.TextChoices):
        TRUE_UP = "true_up", "True-up on the bill"
        ROLL = "roll", "Rolled into the next plan year"
        SPREAD = "spread", "Spread over the next bills"
        LEFT = "left", "Left the plan (settled on the account)"

    plan = models.OneToOneField(BudgetPlan, on_delete=models.PROTECT, related_name="settlement")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    settled_on = models.DateField()
    balance = models.DecimalField(**MONEY, help_text="Deferred balance settled (+ owed by the customer).")
    refund_due = models.DecimalField(**MONEY, default=0,
                                     help_text="Credit at or above the plan type's smallest refund: to refund.")
    bill = models.ForeignKey("billing.Bill", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.CheckConstraint(name="budgetsettlement_refund_not_negative", condition=Q(refund_due__gte=0))]
