"""Billing: bill cycles and windows, rate schedules and their date-effective versions, the
append-only customer ledger, bills (segments, lines), bill runs and pre-bill exceptions.

Accounts, agreements and service points belong to cis; billing rows point at them with real
foreign keys (PROTECT), so a bill, segment or ledger entry never names a row that does not
exist and an account with bills or ledger entries cannot be deleted, in admin or in SQL.

Bills, bill runs, exceptions, rate schedules and versions and pre-bill rules are audited by
pghistory triggers (who, when, before/after, why: see core.actors)."""
from __future__ import annotations

from typing import TypedDict

import pghistory
import pgtrigger
from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import ArrayField, RangeOperators
from django.db import models
from django.db.models import F, Q

from core.ranges import DateRange
from core.runs.models import Chunk, Run


def audited():
    """Fresh trackers for each model (pghistory binds a tracker to the model it decorates)."""
    return (pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())


def _actor_fk():
    return models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")

class Digits(TypedDict):
    """A DecimalField's precision, spread into its kwargs (`models.DecimalField(**MONEY)`)."""

    max_digits: int
    decimal_places: int


MONEY: Digits = {"max_digits": 14, "decimal_places": 2}
QUANTITY: Digits = {"max_digits": 20, "decimal_places": 6}


class BillCycle(models.Model):
    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class BillWindow(models.Model):
    """One scheduled billing of a cycle: usage up to `period_end_date` (exclusive) is billed on
    `bill_date`; reads are expected from `read_window_start` to `read_window_end`."""

    cycle = models.ForeignKey(BillCycle, on_delete=models.CASCADE, related_name="windows")
    period_end_date = models.DateField(help_text="First day NOT in the billed period.")
    read_window_start = models.DateField()
    read_window_end = models.DateField()
    bill_date = models.DateField()
    due_days = models.PositiveSmallIntegerField(default=21)

    class Meta:
        ordering = ["cycle", "bill_date"]
        constraints = [
            models.UniqueConstraint(name="billwindow_unique_cycle_date", fields=["cycle", "bill_date"]),
            models.CheckConstraint(
                name="billwindow_read_window_order", condition=Q(read_window_end__gte=F("read_window_start"))
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cycle.code} bill {self.bill_date}"


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class RateSchedule(models.Model):
    code = models.CharField(max_length=30, unique=True, help_text="The rate code agreements carry.")
    name = models.CharField(max_length=200)
    commodity = models.CharField(max_length=20, default="electric")
    rate_class = models.CharField(max_length=30, blank=True)
    description = models.TextField(blank=True)
    source = models.CharField(max_length=20, default="manual", help_text="manual | urdb")
    source_ref = models.CharField(max_length=100, blank=True, help_text="e.g. the URDB label")

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class RateVersion(models.Model):
    """The components of a schedule over [start_date, end_date). `components` is a list of
    {"kind": ..., "code": ..., "params": {...}} read by billing.rating's component registry."""

    schedule = models.ForeignKey(RateSchedule, on_delete=models.CASCADE, related_name="versions")
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    components = models.JSONField(default=list)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["schedule", "start_date"]
        constraints = [
            ExclusionConstraint(
                name="rateversion_no_overlap",
                expressions=[
                    ("schedule", RangeOperators.EQUAL),
                    (DateRange("start_date", "end_date"), RangeOperators.OVERLAPS),
                ],
                violation_error_message="Another version of this schedule is in effect in that period.",
            ),
            models.CheckConstraint(
                name="rateversion_end_after_start", condition=Q(end_date__isnull=True) | Q(end_date__gt=F("start_date"))
            ),
        ]

    def __str__(self) -> str:
        return f"{self.schedule.code} from {self.start_date}"


class LedgerEntry(models.Model):
    """The customer ledger: append-only. A correction is a reversal entry plus a new entry;
    a PostgreSQL trigger refuses UPDATE and DELETE. Positive amounts are owed by the
    customer (charges); negative amounts are credits (payments, credits)."""

    class Kind(models.TextChoices):
        BILL = "bill", "Bill"
        ADJUSTMENT = "adjustment", "Adjustment"
        PAYMENT = "payment", "Payment"
        REVERSAL = "reversal", "Reversal"

    account = models.ForeignKey("cis.Account", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    amount = models.DecimalField(**MONEY)
    effective_date = models.DateField(help_text="Date the amount counts from, for aging.")
    description = models.CharField(max_length=200)
    reason = models.TextField(blank=True)
    bill = models.ForeignKey("Bill", null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_entries")
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )
    idempotency_key = models.CharField(max_length=100, unique=True, null=True, blank=True)
    payment_reference = models.CharField(max_length=100, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    posted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "ledger entries"
        ordering = ["account_id", "posted_at", "id"]
        indexes = [models.Index(name="ledger_account_date_idx", fields=["account_id", "effective_date"])]
        constraints = [
            models.CheckConstraint(name="ledger_amount_not_zero", condition=~Q(amount=0)),
            models.CheckConstraint(
                name="ledger_reversal_has_target",
                condition=(Q(kind="reversal") & Q(reverses__isnull=False)) | (~Q(kind="reversal") & Q(reverses__isnull=True)),
            ),
        ]
        triggers = [
            pgtrigger.Protect(name="ledger_append_only", operation=pgtrigger.Update | pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} ({self.effective_date})"


@pghistory.track(*audited())
class BillRun(Run):
    """A cycle's regular bill run on core.runs: chunks of bill accounts drafted by workers,
    then (past the engine's DONE: drafts ready) approved and issued by staff."""

    class Status(models.TextChoices):
        # The engine's names (QUEUED, RUNNING, DONE, FAILED) over the values bill runs have
        # always stored ("created", "completed"), then the states that follow drafting.
        QUEUED = "created", "Created"
        RUNNING = "running", "Running"
        DONE = "completed", "Completed (drafts ready)"
        # Approve and issue are chunk tasks too (billing.services.runs): the run is APPROVING
        # / ISSUING until the last chunk's mark, then APPROVED / ISSUED.
        APPROVING = "approving", "Approving"
        APPROVED = "approved", "Approved"
        ISSUING = "issuing", "Issuing"
        ISSUED = "issued", "Issued"
        FAILED = "failed", "Failed"

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    idempotency_key = models.CharField(max_length=100, unique=True)
    cycle = models.ForeignKey(BillCycle, on_delete=models.PROTECT, related_name="runs")
    bill_date = models.DateField()
    period_end_date = models.DateField()
    bills_created = models.PositiveIntegerField(default=0)
    exceptions = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0, help_text="Chunks that failed (see each chunk's error).")
    chunk_size = models.PositiveIntegerField(default=500)
    due_date = models.DateField(null=True, blank=True, help_text="Bill date + the window's due days.")
    override_reason = models.TextField(
        blank=True, help_text="Why the run was started before its window's read window closed (empty: it had).")
    approved_by = _actor_fk()
    approved_at = models.DateTimeField(null=True, blank=True)
    issued_by = _actor_fk()
    issued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Run {self.pk} {self.cycle.code} {self.bill_date}"

    # The run's work items are bill accounts.
    @property
    def total_accounts(self) -> int:
        return self.progress_total

    @total_accounts.setter
    def total_accounts(self, value: int) -> None:
        self.progress_total = value

    @property
    def done_accounts(self) -> int:
        return self.progress_done

    @done_accounts.setter
    def done_accounts(self, value: int) -> None:
        self.progress_done = value

    @property
    def progress_percent(self) -> int:
        return int(100 * self.progress_done / self.progress_total) if self.progress_total else 0


class BillRunChunk(Chunk):
    """A slice of a run's bill accounts, done by one Celery task (core.runs.chunk_claim): its
    bills and its DONE mark commit in one transaction, so a killed worker leaves it pending."""

    run = models.ForeignKey(BillRun, on_delete=models.CASCADE, related_name="chunks")
    account_ids = models.JSONField(help_text="The bill accounts of this chunk (ids), its own work list.")
    # The approve and issue steps' own marks: set in the transaction that approved / issued the
    # chunk's bills, so a redelivered or resumed chunk task finds it done and does nothing.
    approved_at = models.DateTimeField(null=True, blank=True, help_text="When this chunk's drafts were approved.")
    issued_at = models.DateTimeField(null=True, blank=True, help_text="When this chunk's approved bills were issued.")

    class Meta:
        ordering = ["run", "number"]
        constraints = [models.UniqueConstraint(name="billrunchunk_unique", fields=["run", "number"])]


# Bills are written 100k at a time by a run: their creation is the run's (who started it is on
# the run); what staff and services do to a bill afterwards (approve, issue, cancel) is tracked.
@pghistory.track(pghistory.UpdateEvent(), pghistory.DeleteEvent())
class Bill(models.Model):
    class Kind(models.TextChoices):
        REGULAR = "regular", "Regular"
        OFF_CYCLE = "off_cycle", "Off-cycle"
        FINAL = "final", "Final"
        REBILL = "rebill", "Rebill"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        HELD = "held", "Held (pre-bill exception)"
        APPROVED = "approved", "Approved"
        ISSUED = "issued", "Issued"
        CANCELLED = "cancelled", "Cancelled"

    bill_number = models.CharField(max_length=20, unique=True, null=True, blank=True)
    account = models.ForeignKey("cis.Account", on_delete=models.PROTECT, related_name="+")
    run = models.ForeignKey(BillRun, null=True, blank=True, on_delete=models.PROTECT, related_name="bills")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.REGULAR)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    period_start = models.DateField()
    period_end = models.DateField(help_text="Exclusive.")
    bill_date = models.DateField()
    due_date = models.DateField()
    total = models.DecimalField(**MONEY, default=0)
    balance_forward = models.DecimalField(**MONEY, default=0)
    amount_due = models.DecimalField(**MONEY, default=0)
    # Usage facts kept on the bill so later pre-bill edits compare against it cheaply.
    consumption = models.DecimalField(**QUANTITY, default=0)
    interval_count = models.PositiveIntegerField(default=0)
    estimated_intervals = models.PositiveIntegerField(default=0)
    replaces = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replaced_by"
    )
    cancel_reason = models.TextField(blank=True)
    approved_by = _actor_fk()
    approved_at = models.DateTimeField(null=True, blank=True)
    issued_by = _actor_fk()
    issued_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = _actor_fk()
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-bill_date", "-id"]
        indexes = [models.Index(name="bill_account_date_idx", fields=["account_id", "bill_date"])]
        constraints = [
            models.CheckConstraint(name="bill_period_order", condition=Q(period_end__gt=F("period_start"))),
        ]

    def __str__(self) -> str:
        return self.bill_number or f"Bill {self.pk}"


class BillSegment(models.Model):
    """One agreement's charges on a bill. `live` is true while the bill is not cancelled; the
    partial unique constraint gives exactly one live segment per agreement and period."""

    bill = models.ForeignKey(Bill, on_delete=models.CASCADE, related_name="segments")
    account = models.ForeignKey("cis.Account", on_delete=models.PROTECT, related_name="+", db_index=False)
    agreement = models.ForeignKey("cis.ServiceAgreement", on_delete=models.PROTECT, related_name="+", db_index=False)
    service_point = models.ForeignKey("cis.ServicePoint", on_delete=models.PROTECT, related_name="+", db_index=False)
    rate_code = models.CharField(max_length=30)
    period_start = models.DateField()
    period_end = models.DateField()
    determinants = models.JSONField(default=dict)
    subtotal = models.DecimalField(**MONEY, default=0)
    live = models.BooleanField(default=True)

    class Meta:
        ordering = ["bill", "id"]
        constraints = [
            models.UniqueConstraint(
                name="one_live_segment_per_agreement_period",
                fields=["agreement_id", "period_start", "period_end"],
                condition=Q(live=True),
            ),
        ]


class BillLine(models.Model):
    segment = models.ForeignKey(BillSegment, on_delete=models.CASCADE, related_name="lines")
    sequence = models.PositiveSmallIntegerField()
    description = models.CharField(max_length=200)
    component_kind = models.CharField(max_length=40)
    component_code = models.CharField(max_length=60)
    quantity = models.DecimalField(**QUANTITY, null=True, blank=True)
    unit = models.CharField(max_length=20, blank=True)
    price = models.DecimalField(max_digits=20, decimal_places=8, null=True, blank=True)
    tier = models.CharField(max_length=20, blank=True)
    tou_period = models.CharField(max_length=30, blank=True)
    proration = models.DecimalField(max_digits=12, decimal_places=8, null=True, blank=True)
    amount = models.DecimalField(**MONEY)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["segment", "sequence"]


@pghistory.track(*audited())
class PreBillRule(models.Model):
    """A pre-bill edit configured by billing staff; `params` holds its thresholds."""

    class Kind(models.TextChoices):
        HIGH_LOW_LAST_BILL = "high_low_last_bill", "High/low vs last bill (%)"
        HIGH_LOW_LAST_YEAR = "high_low_last_year", "High/low vs same month last year (%)"
        ZERO_CONSUMPTION = "zero_consumption", "Zero consumption"
        TOO_MANY_ESTIMATED = "too_many_estimated", "Too many estimated intervals (%)"
        CONSECUTIVE_ESTIMATED = "consecutive_estimated", "Too many consecutive estimated bills"
        NEGATIVE_AMOUNT = "negative_amount", "Negative amount"
        OVER_LIMIT = "over_limit", "Amount over limit"
        MISSING_DETERMINANTS = "missing_determinants", "Missing determinants"

    kind = models.CharField(max_length=40, choices=Kind.choices, unique=True)
    active = models.BooleanField(default=True)
    params = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return self.get_kind_display()


@pghistory.track(*audited())
class BillException(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RELEASED = "released", "Released"
        RERATED = "rerated", "Re-rated"
        METER_CHECK = "meter_check", "Sent for meter check"

    bill = models.ForeignKey(Bill, on_delete=models.CASCADE, related_name="exceptions")
    rule = models.CharField(max_length=40)
    message = models.TextField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["status", "-created_at"]


class BillTemplate(models.Model):
    """How bills look, changeable by staff without code: a logo, messages and the layout
    (a Django template body rendered to PDF). The active one is used for new PDFs."""

    name = models.CharField(max_length=100, unique=True)
    active = models.BooleanField(default=False)
    logo = models.FileField(upload_to="bill-logos/", blank=True)
    header_message = models.TextField(blank=True)
    footer_message = models.TextField(blank=True, help_text="e.g. how to pay, office hours")
    body = models.TextField(blank=True, help_text="Django template for the bill; empty uses the built-in layout.")
    css = models.TextField(blank=True, help_text="Extra CSS for the PDF.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(name="one_active_bill_template", fields=["active"], condition=Q(active=True)),
        ]

    def __str__(self) -> str:
        return self.name


class NoticeDecision(models.Model):
    """What billing decided about one of MDM's replacement-read notices, by whom and why:
    `rebilled` (the issued bills it touched were cancelled and rebilled; `bill_ids` are those
    old bills) or `dismissed` (a period that needs no rebill). One per notice; the notice is
    marked picked up in MDM in the same transaction, and a decided notice leaves the Billing
    Hub's Replacement reads page."""

    class Action(models.TextChoices):
        REBILLED = "rebilled", "Rebilled"
        DISMISSED = "dismissed", "Dismissed"

    notice = models.OneToOneField("mdm.ReplacementReadNotice", on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=20, choices=Action.choices)
    reason = models.TextField()
    bill_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    decided_by = _actor_fk()
    actor = models.CharField(max_length=150, help_text="The user's name, or the system actor's (e.g. auto-rebill).")
    decided_at = models.DateTimeField()

    class Meta:
        ordering = ["-decided_at", "-id"]

    def __str__(self) -> str:
        return f"Notice {self.notice_id}: {self.get_action_display().lower()}"


class BillDocument(models.Model):
    """A bill's printed PDF, rendered once in the background (billing.tasks.bill_documents_render)
    when the bill is issued and kept in Django storage (MEDIA_ROOT/bills/...); the hub and the
    portal serve this file, never a render in the request. `bill_state` is what the bill was
    when printed (status, number, amounts): a document from another state is printed again."""

    class Status(models.TextChoices):
        PENDING = "pending", "Being prepared"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    bill = models.OneToOneField(Bill, on_delete=models.CASCADE, primary_key=True, related_name="document")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    file = models.FileField(upload_to="bills/", max_length=300, blank=True)
    rendered_at = models.DateTimeField(null=True, blank=True)
    template_version = models.CharField(max_length=120, blank=True,
                                        help_text="The layout and bill template it was printed with.")
    bill_state = models.CharField(max_length=300, blank=True)
    error = models.TextField(blank=True)
    requested_at = models.DateTimeField(help_text="When the current render was asked for.")
    render_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "requested_at"], name="billdoc_status_requested")]

    def __str__(self) -> str:
        return f"PDF of bill {self.bill_id} ({self.status})"


@pghistory.track(*audited())
class AdjustmentRequest(models.Model):
    """A credit adjustment above UTILIS_ADJUSTMENT_APPROVAL_LIMIT, waiting for a second person
    (maker-checker). The maker (`requested_by`) asks; a billing user or an administrator who is
    not the maker approves it (posting the ledger entry, `ledger_entry`) or rejects it with a
    reason. The database holds the rules: the checker is never the maker; a request goes
    pending -> approved or pending -> rejected once and is then final; what was asked (account,
    amount, date, reason, maker) never changes; nothing is deleted."""

    class Status(models.TextChoices):
        PENDING = "pending", "Awaiting approval"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    account = models.ForeignKey("cis.Account", on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(**MONEY, help_text="As it will be posted: negative credits the customer.")
    effective_date = models.DateField()
    reason = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    ledger_entry = models.OneToOneField(LedgerEntry, null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="adjustment_request")

    class Meta:
        ordering = ["requested_at", "id"]
        indexes = [models.Index(name="adjreq_status_account_idx", fields=["status", "account"])]
        constraints = [
            models.CheckConstraint(name="adjreq_amount_not_zero", condition=~Q(amount=0)),
            models.CheckConstraint(name="adjreq_reason_given", condition=~Q(reason="")),
            models.CheckConstraint(name="adjreq_checker_is_not_maker",
                                   condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("requested_by"))),
            models.CheckConstraint(
                name="adjreq_status_fields",
                condition=(
                    Q(status="pending", decided_by__isnull=True, decided_at__isnull=True, ledger_entry__isnull=True)
                    | Q(status="approved", decided_by__isnull=False, decided_at__isnull=False,
                        ledger_entry__isnull=False)
                    | (Q(status="rejected", decided_by__isnull=False, decided_at__isnull=False,
                         ledger_entry__isnull=True) & ~Q(decision_reason=""))
                ),
            ),
        ]
        triggers = [
            # pending -> approved | rejected, once; what was asked stays as asked.
            pgtrigger.Protect(
                name="adjreq_decided_once", operation=pgtrigger.Update,
                condition=(
                    ~pgtrigger.Q(old__status="pending")
                    | pgtrigger.Q(old__account_id__df=pgtrigger.F("new__account_id"))
                    | pgtrigger.Q(old__amount__df=pgtrigger.F("new__amount"))
                    | pgtrigger.Q(old__effective_date__df=pgtrigger.F("new__effective_date"))
                    | pgtrigger.Q(old__reason__df=pgtrigger.F("new__reason"))
                    | pgtrigger.Q(old__requested_by_id__df=pgtrigger.F("new__requested_by_id"))
                    | pgtrigger.Q(old__requested_at__df=pgtrigger.F("new__requested_at"))
                ),
            ),
            pgtrigger.Protect(name="adjreq_no_delete", operation=pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return f"Adjustment request {self.pk}: {self.amount} ({self.get_status_display().lower()})"


# Payments live in their own package; importing it here registers its models under billing.
from billing.payments import models as payments_models  # noqa: E402,F401
from billing.collections import models as collections_models  # noqa: E402,F401
from billing.collections import output_models as collections_output_models  # noqa: E402,F401
from billing.budget import models as budget_models  # noqa: E402,F401
from billing.deposits import models as deposits_models  # noqa: E402,F401
