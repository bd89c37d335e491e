"""Read-file imports on core.runs, their chunks, and the quarantine of bad records."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.runs import Chunk, Run


class ImportRun(Run):
    """One file's import (a core.runs run): progress counts records, `started_by` uploaded it.
    The idempotency key is the file's SHA-256 (`sha256`, also in `idempotency_key`)."""

    class Format(models.TextChoices):
        CMEP = "cmep", "CMEP MEPMD01"
        CSV = "csv", "CSV"
        MULTISPEAK = "multispeak", "MultiSpeak 4.1"

    file = models.FileField(upload_to="mdm/imports/%Y/%m/", blank=True)
    file_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    format = models.CharField(max_length=20, choices=Format.choices)
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Set when the same file (same SHA-256) was already imported: this run loaded nothing.",
    )
    records = models.PositiveIntegerField(default=0)
    intervals_loaded = models.PositiveBigIntegerField(default=0)
    intervals_unchanged = models.PositiveBigIntegerField(default=0)
    intervals_corrected = models.PositiveBigIntegerField(default=0)
    registers_loaded = models.PositiveIntegerField(default=0)
    quarantined = models.PositiveIntegerField(default=0)
    # A CSV header or similar: what a single fixed line needs in front of it to parse again.
    prelude = models.TextField(blank=True)
    # The zone of the file's offset-less timestamps; blank: UTILIS_READ_FILE_TIME_ZONE.
    time_zone = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The idempotency key: one real (non-failed, non-duplicate) run per file content.
            models.UniqueConstraint(
                name="import_run_one_per_file_hash",
                fields=["sha256"],
                condition=Q(duplicate_of__isnull=True) & ~Q(status="failed"),
            ),
        ]

    def __str__(self) -> str:
        return f"Import {self.pk} {self.file_name} ({self.status})"


class ImportChunk(Chunk):
    """A slice of an import's records (`size` of them), loaded in one transaction that also
    marks it done (core.runs.chunk_claim), so a killed worker's chunk is simply loaded again.
    `payload` holds the parsed records as versioned JSON (mdm.importing.payload) until loaded."""

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="chunks")
    payload = models.JSONField(null=True, blank=True, help_text="The parsed records, until loaded.")

    class Meta:
        ordering = ["run_id", "number"]
        constraints = [models.UniqueConstraint(name="import_chunk_unique", fields=["run", "number"])]


class QuarantinedRecord(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESUBMITTED = "resubmitted", "Fixed and resubmitted"
        DISCARDED = "discarded", "Discarded"

    import_run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="quarantine")
    file_name = models.CharField(max_length=255)
    line = models.PositiveIntegerField()
    field = models.CharField(max_length=50)
    message = models.TextField()
    raw = models.TextField(blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    fixed_raw = models.TextField(blank=True)
    resubmit_run = models.ForeignKey(ImportRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    # SHA-256 of format, field, message and the raw record (line endings dropped): the same bad
    # record arriving again (a replayed file, a CRLF copy) is not quarantined twice.
    fingerprint = models.CharField(max_length=64, blank=True, db_index=True)

    class Meta:
        ordering = ["import_run_id", "line", "id"]
        indexes = [models.Index(name="quarantine_status_idx", fields=["status", "import_run"])]

    def __str__(self) -> str:
        return f"{self.file_name}:{self.line} {self.field}: {self.message}"


class IntervalDayAsOf(models.Model):
    """The newest "as of" (a CMEP record's header TimeStamp) whose values a stored channel-day
    holds: a record older than it never replaces the day's values (it may fill missing slots),
    it is quarantined instead (mdm.importing.pipeline)."""

    channel = models.ForeignKey("mdm.Channel", on_delete=models.CASCADE, related_name="+")
    local_date = models.DateField()
    as_of = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(name="interval_day_as_of_unique", fields=["channel", "local_date"])]

    def __str__(self) -> str:
        return f"{self.channel_id} {self.local_date} as of {self.as_of:%Y-%m-%d %H:%M}"
