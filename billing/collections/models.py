"""Collections tables (billing app; imported by billing/models.py).

Configuration is data: `DunningPlan` / `DunningStep` (per customer class), `ProtectionRule`
(with an Ontario preset), `ExtremeWeatherDay`. Each account's delinquency episode is a
`CollectionCase`; each step it reached is a `CollectionAction`, at most once per case (a unique
constraint), so a run done twice, or a chunk redone after a killed worker, adds nothing."""
from __future__ import annotations

from decimal import Decimal
from typing import TypedDict

import pghistory
from django.conf import settings
from django.db import models
from django.db.models import Q

from core.runs.models import Chunk, Run

class _Digits(TypedDict):
    max_digits: int
    decimal_places: int


MONEY: _Digits = {"max_digits": 14, "decimal_places": 2}  # as billing.models.MONEY


def _user_fk():
    return models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")


class CustomerClass(models.TextChoices):
    RESIDENTIAL = "residential", "Residential"
    COMMERCIAL = "commercial", "Commercial"


class StepKind(models.TextChoices):
    REMINDER = "reminder", "Reminder"
    LATE_CHARGE = "late_charge", "Late payment charge"
    FINAL_NOTICE = "final_notice", "Final notice"
    DISCONNECT_NOTICE = "disconnect_notice", "Disconnection notice"
    DISCONNECT = "disconnect", "Disconnect order"
    WRITE_OFF = "write_off", "Write-off"


NOTICE_KINDS = (StepKind.REMINDER, StepKind.FINAL_NOTICE, StepKind.DISCONNECT_NOTICE)


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class DunningPlan(models.Model):
    """The dunning ladder of one customer class (one active plan per class)."""

    code = models.CharField(max_length=30, unique=True)
    name = models.CharField(max_length=100)
    customer_class = models.CharField(max_length=20, choices=CustomerClass.choices)
    active = models.BooleanField(default=True)
    late_charge_percent = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("1.50"),
        help_text="Late payment charge, % per month of the overdue bill amounts (never of fees).")

    class Meta:
        ordering = ["customer_class", "code"]
        constraints = [
            models.UniqueConstraint(name="dunningplan_one_active_per_class", fields=["customer_class"],
                                    condition=Q(active=True)),
            models.CheckConstraint(name="dunningplan_late_percent_range",
                                   condition=Q(late_charge_percent__gte=0, late_charge_percent__lte=10)),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_customer_class_display()})"


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class DunningStep(models.Model):
    """One step: taken when the oldest overdue bill is `delay_days` past its due date and the
    overdue amount is at least `min_overdue`, after the steps before it."""

    plan = models.ForeignKey(DunningPlan, on_delete=models.CASCADE, related_name="steps")
    sequence = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=30, choices=StepKind.choices)
    delay_days = models.PositiveSmallIntegerField(help_text="Days after the oldest overdue bill's due date.")
    min_overdue = models.DecimalField(**MONEY, default=Decimal("0.01"), help_text="Smallest overdue amount it acts on.")
    notice_days = models.PositiveSmallIntegerField(
        default=0, help_text="Disconnection notice: the regulator's notice period before a disconnect order.")

    class Meta:
        ordering = ["plan", "sequence"]
        constraints = [
            models.UniqueConstraint(name="dunningstep_sequence_unique", fields=["plan", "sequence"]),
            models.UniqueConstraint(name="dunningstep_kind_unique", fields=["plan", "kind"]),
            models.CheckConstraint(name="dunningstep_min_overdue_positive", condition=Q(min_overdue__gt=0)),
        ]

    def __str__(self) -> str:
        return f"{self.sequence}. {self.get_kind_display()} (+{self.delay_days} d)"


class RuleKind(models.TextChoices):
    SEASONAL_BAN = "seasonal_ban", "Seasonal disconnection ban"
    NO_DISCONNECT_DAYS = "no_disconnect_days", "No-disconnection days"
    EXTREME_WEATHER = "extreme_weather", "Extreme weather day"
    NOTICE_PERIOD = "notice_period", "Minimum notice period"
    CONTACT_ATTEMPT = "contact_attempt", "Contact attempt before disconnection"
    MEDICAL = "medical", "Medical / life-support certificate"
    EMERGENCY_ASSISTANCE = "emergency_assistance", "Emergency assistance application"
    ARRANGEMENT = "arrangement", "Active payment arrangement"
    PROMISE = "promise", "Promise to pay"
    DISPUTE = "dispute", "Disputed bill"
    PENDING_PAYMENT = "pending_payment", "Pending payment"
    STAFF_HOLD = "staff_hold", "Hold by staff"


class AppliesTo(models.TextChoices):
    NOTICES = "notices", "Notices only"
    DISCONNECT = "disconnect", "Disconnect orders only"
    ALL = "all", "Notices and disconnect orders"


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class ProtectionRule(models.Model):
    """A protection evaluated before every notice and every disconnect order; `params` are the
    kind's settings (docs/collections.md lists them)."""

    code = models.CharField(max_length=40, unique=True)
    kind = models.CharField(max_length=30, choices=RuleKind.choices)
    jurisdiction = models.CharField(max_length=20, default="ON")
    applies_to = models.CharField(max_length=20, choices=AppliesTo.choices, default=AppliesTo.ALL)
    customer_class = models.CharField(max_length=20, choices=CustomerClass.choices, blank=True,
                                      help_text="Blank: every class.")
    params = models.JSONField(default=dict, blank=True)
    active = models.BooleanField(default=True)
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} ({self.get_kind_display()})"


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class ExtremeWeatherDay(models.Model):
    """Staff declare a day of extreme weather for an area (the premise city; blank: everywhere)."""

    date = models.DateField()
    area = models.CharField(max_length=100, blank=True)
    reason = models.CharField(max_length=200)
    declared_by = _user_fk()
    declared_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "area"]
        constraints = [models.UniqueConstraint(name="extremeweather_unique", fields=["date", "area"])]

    def __str__(self) -> str:
        return f"{self.date} {self.area or 'all areas'}"


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent())
class AccountProtection(models.Model):
    """A protection of one account recorded by staff: a medical certificate, an emergency
    assistance application, a disputed bill, a pending payment, a hold."""

    class Kind(models.TextChoices):
        MEDICAL = "medical", "Medical / life-support certificate"
        EMERGENCY_ASSISTANCE = "emergency_assistance", "Emergency assistance application"
        DISPUTE = "dispute", "Disputed bill"
        PENDING_PAYMENT = "pending_payment", "Pending payment"
        STAFF_HOLD = "staff_hold", "Hold by staff"

    account = models.ForeignKey("cis.Account", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    start_date = models.DateField()
    end_date = models.DateField(help_text="Last day it protects.")
    renewal_number = models.PositiveSmallIntegerField(default=0, help_text="Medical: 0 first certificate, 1.. renewals.")
    renews = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="renewed_by")
    reference = models.CharField(max_length=100, blank=True)
    reason = models.CharField(max_length=200)
    ended_on = models.DateField(null=True, blank=True, help_text="Ended early (a dispute resolved).")
    created_by = _user_fk()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-start_date", "-id"]
        constraints = [
            models.CheckConstraint(name="accountprotection_dates", condition=Q(end_date__gte=models.F("start_date"))),
            models.CheckConstraint(name="accountprotection_renewal_chain",
                                   condition=Q(renewal_number=0, renews__isnull=True) | Q(renewal_number__gt=0, renews__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.start_date}..{self.end_date}"


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent())
class CollectionCase(models.Model):
    """One delinquency episode of an account: opened when a bill is overdue, closed when the
    overdue amount is paid (or written off). At most one open case per account."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        PAID = "paid", "Paid"
        WRITTEN_OFF = "written_off", "Written off"

    account = models.ForeignKey("cis.Account", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    customer_class = models.CharField(max_length=20, choices=CustomerClass.choices)
    opened_on = models.DateField()
    closed_on = models.DateField(null=True, blank=True)
    oldest_due_date = models.DateField(help_text="Due date of the oldest overdue bill (the steps' delays count from it).")
    overdue_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    last_step = models.CharField(max_length=30, choices=StepKind.choices, blank=True)
    disconnected = models.BooleanField(default=False, help_text="A disconnect order was requested and not yet reversed.")
    held_by = models.CharField(max_length=200, blank=True, help_text="The rule holding it at the last evaluation.")
    held_until = models.DateField(null=True, blank=True)
    evaluated_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_on", "-id"]
        constraints = [
            models.UniqueConstraint(name="collectioncase_one_open_per_account", fields=["account"],
                                    condition=Q(status="open")),
            models.CheckConstraint(name="collectioncase_closed_has_date",
                                   condition=Q(status="open", closed_on__isnull=True) | (~Q(status="open") & Q(closed_on__isnull=False))),
        ]

    def __str__(self) -> str:
        return f"Case {self.pk} of account {self.account_id} ({self.get_status_display()})"


@pghistory.track(pghistory.InsertEvent())
class CollectionAction(models.Model):
    """A step a case reached (or the reconnect it got): once per case, by the database."""

    class Kind(models.TextChoices):
        REMINDER = "reminder", "Reminder"
        LATE_CHARGE = "late_charge", "Late payment charge"
        FINAL_NOTICE = "final_notice", "Final notice"
        DISCONNECT_NOTICE = "disconnect_notice", "Disconnection notice"
        DISCONNECT = "disconnect", "Disconnect order"
        WRITE_OFF = "write_off", "Write-off"
        RECONNECT = "reconnect", "Reconnect order"

    case = models.ForeignKey(CollectionCase, on_delete=models.PROTECT, related_name="actions")
    account = models.ForeignKey("cis.Account", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    action_date = models.DateField()
    overdue_amount = models.DecimalField(**MONEY)
    detail = models.CharField(max_length=300, blank=True)
    order_number = models.CharField(max_length=20, blank=True, help_text="The field work order (disconnect, reconnect).")
    email_to = models.EmailField(blank=True)
    email_sent_at = models.DateTimeField(null=True, blank=True)
    run = models.ForeignKey("billing.CollectionRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["case", "action_date", "id"]
        constraints = [models.UniqueConstraint(name="collectionaction_once_per_case", fields=["case", "kind"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.action_date}"


class LateCharge(models.Model):
    """A late payment charge: at most one per account and month (a Fee in billing's fee mechanism)."""

    account = models.ForeignKey("cis.Account", on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey(CollectionCase, on_delete=models.PROTECT, related_name="late_charges")
    month = models.DateField(help_text="First day of the month charged.")
    base = models.DecimalField(**MONEY, help_text="The overdue bill amounts it was charged on.")
    percent = models.DecimalField(max_digits=5, decimal_places=2)
    amount = models.DecimalField(**MONEY)
    fee = models.OneToOneField("billing.Fee", on_delete=models.PROTECT, related_name="late_charge")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-month"]
        constraints = [
            models.UniqueConstraint(name="latecharge_once_per_month", fields=["account", "month"]),
            models.CheckConstraint(name="latecharge_month_first_day", condition=Q(month__day=1)),
        ]


class CollectionSkip(models.Model):
    """A step the run did not take because a protection held the account: the rule and until when."""

    case = models.ForeignKey(CollectionCase, on_delete=models.CASCADE, related_name="skips")
    on_date = models.DateField()
    step = models.CharField(max_length=30, choices=StepKind.choices)
    rule = models.CharField(max_length=40)
    reason = models.CharField(max_length=300)
    until = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-on_date", "-id"]
        constraints = [models.UniqueConstraint(name="collectionskip_once_per_day", fields=["case", "on_date", "step"])]


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent())
class PromiseToPay(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        KEPT = "kept", "Kept"
        BROKEN = "broken", "Broken"
        CANCELLED = "cancelled", "Cancelled"

    account = models.ForeignKey("cis.Account", on_delete=models.PROTECT, related_name="+")
    promised_date = models.DateField()
    amount = models.DecimalField(**MONEY)
    made_on = models.DateField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    resolved_on = models.DateField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)
    created_by = _user_fk()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-made_on", "-id"]
        constraints = [
            models.UniqueConstraint(name="promise_one_open_per_account", fields=["account"], condition=Q(status="open")),
            models.CheckConstraint(name="promise_amount_positive", condition=Q(amount__gt=0)),
            models.CheckConstraint(name="promise_after_made", condition=Q(promised_date__gte=models.F("made_on"))),
        ]


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent())
class PaymentArrangement(models.Model):
    """Arrears split into instalments, paid on top of the current bills."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        COMPLETED = "completed", "Completed"
        BROKEN = "broken", "Broken"
        CANCELLED = "cancelled", "Cancelled"

    account = models.ForeignKey("cis.Account", on_delete=models.PROTECT, related_name="+")
    arrears = models.DecimalField(**MONEY)
    made_on = models.DateField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    resolved_on = models.DateField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)
    created_by = _user_fk()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-made_on", "-id"]
        constraints = [
            models.UniqueConstraint(name="arrangement_one_active_per_account", fields=["account"], condition=Q(status="active")),
            models.CheckConstraint(name="arrangement_arrears_positive", condition=Q(arrears__gt=0)),
        ]


class ArrangementInstalment(models.Model):
    arrangement = models.ForeignKey(PaymentArrangement, on_delete=models.CASCADE, related_name="instalments")
    number = models.PositiveSmallIntegerField()
    due_date = models.DateField()
    amount = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["arrangement", "number"]
        constraints = [
            models.UniqueConstraint(name="instalment_unique", fields=["arrangement", "number"]),
            models.CheckConstraint(name="instalment_amount_positive", condition=Q(amount__gt=0)),
        ]


class ContactAttempt(models.Model):
    """An attempt to reach the customer before disconnection (phone, visit, email)."""

    class Method(models.TextChoices):
        PHONE = "phone", "Phone"
        VISIT = "visit", "Visit"
        EMAIL = "email", "Email"
        SMS = "sms", "Text message"

    account = models.ForeignKey("cis.Account", on_delete=models.PROTECT, related_name="+")
    attempted_at = models.DateTimeField()
    method = models.CharField(max_length=10, choices=Method.choices)
    note = models.CharField(max_length=200, blank=True)
    created_by = _user_fk()

    class Meta:
        ordering = ["-attempted_at"]


class CollectionNote(models.Model):
    account = models.ForeignKey("cis.Account", on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    created_by = _user_fk()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent())
class CollectionRun(Run):
    """The daily collections run of one date on core.runs (one per date: its idempotency key)."""

    run_date = models.DateField()
    idempotency_key = models.CharField(max_length=100, unique=True)
    accounts_total = models.PositiveIntegerField(default=0)
    actions_taken = models.PositiveIntegerField(default=0)
    holds = models.PositiveIntegerField(default=0)
    cases_closed = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-run_date", "-id"]


class CollectionRunChunk(Chunk):
    run = models.ForeignKey(CollectionRun, on_delete=models.CASCADE, related_name="chunks")
    account_ids = models.JSONField()

    class Meta:
        ordering = ["run", "number"]
        constraints = [models.UniqueConstraint(name="collectionrunchunk_unique", fields=["run", "number"])]
