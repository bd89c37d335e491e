"""Register reads, the interval store (one row per channel per local day, range-partitioned by
month in SQL: Django cannot declare partitioning), its version history, and what billing reads
back: billed-through dates and replacement-read notices."""
from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models

from mdm.models.devices import Channel
from mdm.models.imports import ImportRun


class RegisterRead(models.Model):
    class ReadType(models.TextChoices):
        MANUAL = "manual", "Manual / walk read"
        AMI_DAILY = "ami_daily", "AMI daily register"
        MV90 = "mv90", "MV90"
        INSTALL = "install", "Install read"
        REMOVAL = "removal", "Removal read"

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="register_reads")
    read_at = models.DateTimeField()
    value = models.DecimalField(max_digits=16, decimal_places=4)
    read_type = models.CharField(max_length=12, choices=ReadType.choices, default=ReadType.AMI_DAILY)
    import_run = models.ForeignKey(ImportRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="register_reads")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["channel_id", "read_at"]
        constraints = [
            models.UniqueConstraint(name="register_read_unique", fields=["channel", "read_at", "read_type"]),
        ]


class IntervalDay(models.Model):
    """One channel's intervals of one local day.

    The table is range-partitioned by month and created by SQL (migration 0002): Django
    cannot declare partitioning. The model is still `managed` so that test flushes truncate
    it and later field changes migrate like any other table's.

    `values[i]` / `flags[i]` are slot i: [local midnight + i*interval, +interval) in UTC. A
    missing value is NaN with flag MISSING. `changed_by`/`reason` say who made this version and
    why; the versions it replaced are in IntervalDayVersion."""

    pk = models.CompositePrimaryKey("channel_id", "local_date")
    channel = models.ForeignKey(Channel, on_delete=models.DO_NOTHING, related_name="+")
    local_date = models.DateField()
    interval_minutes = models.SmallIntegerField()
    values = ArrayField(models.FloatField())
    flags = ArrayField(models.SmallIntegerField())
    version = models.IntegerField(default=1)
    updated_at = models.DateTimeField()
    import_run_id = models.BigIntegerField(null=True)
    vee_run_id = models.BigIntegerField(null=True)
    changed_by_id = models.BigIntegerField(null=True)
    reason = models.TextField(default="")

    class Meta:
        db_table = "mdm_interval_day"


class IntervalDayVersion(models.Model):
    """A superseded version of a channel-day, copied here before every change."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    local_date = models.DateField()
    interval_minutes = models.SmallIntegerField()
    version = models.IntegerField()
    values = ArrayField(models.FloatField())
    flags = ArrayField(models.SmallIntegerField())
    changed_at = models.DateTimeField(help_text="When this version was written.")
    changed_by_id = models.BigIntegerField(null=True)
    reason = models.TextField(default="")
    import_run_id = models.BigIntegerField(null=True)
    vee_run_id = models.BigIntegerField(null=True)
    superseded_at = models.DateTimeField()

    class Meta:
        db_table = "mdm_interval_day_version"
        ordering = ["channel_id", "local_date", "version"]
        constraints = [
            models.UniqueConstraint(name="interval_day_version_unique", fields=["channel", "local_date", "version"]),
        ]


class BilledThrough(models.Model):
    """The last local date billing has billed a service point through (billing sets it)."""

    service_point = models.OneToOneField("cis.ServicePoint", on_delete=models.PROTECT, related_name="+")
    billed_through_date = models.DateField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "billed-through date"


class ReplacementReadNotice(models.Model):
    """Data already used for a billed period changed: billing picks this up to cancel/rebill."""

    service_point = models.ForeignKey("cis.ServicePoint", on_delete=models.PROTECT, related_name="+")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    period_start = models.DateField()
    period_end = models.DateField(help_text="Exclusive.")
    reason = models.TextField()
    import_run = models.ForeignKey(ImportRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()
    picked_up_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(name="notice_open_idx", fields=["picked_up_at", "service_point_id"])]


class UsageClassDay(models.Model):
    """What the service points of one rate class used on one local day (commodity, unit and
    direction apart): how many had a complete day while in service, and their total. The
    portal's "similar premises" average is total / premises; it is kept by
    `mdm.services.usage_class_days_refresh` (set-based SQL, a nightly beat job) so a page reads
    a few rows instead of every premise's intervals."""

    rate_class = models.CharField(max_length=30)
    commodity = models.CharField(max_length=20)
    unit = models.CharField(max_length=10)
    direction = models.CharField(max_length=10)
    local_date = models.DateField()
    premises = models.PositiveIntegerField(help_text="Service points with a complete day, in service that day.")
    total = models.FloatField(help_text="Their day totals summed, in `unit`.")
    updated_at = models.DateTimeField()

    class Meta:
        db_table = "mdm_usage_class_day"
        constraints = [
            models.UniqueConstraint(name="mdm_usage_class_day_once",
                                    fields=["rate_class", "commodity", "unit", "direction", "local_date"]),
        ]
