"""What collections sends out (billing app tables; imported by billing/models.py): the notice
letters (a PDF per notice step, `NoticeLetter`), their bulk prints for a run date
(`LetterPrint`, on core.runs' Run for status and progress) and the collection agency referral
exports (`AgencyExport`, with one `AgencyReferral` per case: a case is exported once, by the
database). Code: billing/collections/letters.py and agency.py; docs/collections.md."""
from __future__ import annotations

import pghistory
from django.conf import settings
from django.db import models
from django.db.models import Q

from billing.collections.models import MONEY, CollectionAction, CollectionCase
from core.runs.models import Run


class NoticeLetter(models.Model):
    """The printed letter of one notice step (reminder, final notice, disconnection notice):
    rendered once in the background and kept in Django storage (MEDIA_ROOT/letters/...)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Being prepared"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    action = models.OneToOneField(CollectionAction, on_delete=models.PROTECT, primary_key=True, related_name="letter")
    account = models.ForeignKey("cis.Account", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    file = models.FileField(upload_to="letters/", max_length=300, blank=True)
    requested_at = models.DateTimeField()
    rendered_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at"]
        indexes = [models.Index(fields=["status", "requested_at"], name="noticeletter_status_idx")]
        constraints = [models.CheckConstraint(name="noticeletter_ready_has_file",
                                              condition=~Q(status="ready") | ~Q(file=""))]

    def __str__(self) -> str:
        return f"Letter of {self.action_id} ({self.status})"


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent())
class LetterPrint(Run):
    """The notice letters of one run date in one PDF, for the mail room (a Celery task with
    progress: letters rendered of total). At most one unfinished per date."""

    run_date = models.DateField()
    file = models.FileField(upload_to="letters/print/", max_length=300, blank=True)
    letters = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(name="letterprint_one_unfinished_per_date", fields=["run_date"],
                                               condition=Q(status__in=["queued", "running"]))]

    def __str__(self) -> str:
        return f"Letters of {self.run_date} ({self.status})"


@pghistory.track(pghistory.InsertEvent())
class AgencyExport(models.Model):
    """One referral file handed to the collection agency (docs/collections.md, "Agency referral")."""

    file_name = models.CharField(max_length=100, unique=True)
    content = models.TextField()
    file_hash = models.CharField(max_length=64)
    accounts = models.PositiveIntegerField()
    total_amount = models.DecimalField(**MONEY)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    actor = models.CharField(max_length=150)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.file_name


@pghistory.track(pghistory.InsertEvent())
class AgencyReferral(models.Model):
    """A case referred to the agency: written off, or referred by staff. Exported once (the
    unique on `case`); `export` is empty until the file that carried it is made."""

    case = models.OneToOneField(CollectionCase, on_delete=models.PROTECT, related_name="agency_referral")
    account = models.ForeignKey("cis.Account", on_delete=models.PROTECT, related_name="+")
    export = models.ForeignKey(AgencyExport, null=True, blank=True, on_delete=models.PROTECT, related_name="referrals")
    amount = models.DecimalField(**MONEY, help_text="What was owed (written off) when it was exported.")
    reason = models.CharField(max_length=200)
    referred_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    referred_at = models.DateTimeField()

    class Meta:
        ordering = ["-referred_at", "-id"]
        constraints = [models.CheckConstraint(name="agencyreferral_amount_positive", condition=Q(amount__gt=0))]
