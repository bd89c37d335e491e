"""Register reads, the interval store (one row per channel per local day, range-partitioned by
month in SQL: Django cannot declare partitioning), its version history, and what billing reads
back: billed-through dates and replacement-read notices."""
from __future__ import annotations

import numpy as np
from django.contrib.postgres.fields import ArrayField
from django.db import models

from mdm.interval_store import IntervalEncodingError, resolution_range, scale_values, unscale_values

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


class _StoredDay(models.Model):
    """The encoded arrays of a channel-day (mdm.interval_store): `scaled` is the "values"
    column, int4[] of value x 10^decimals (NO_VALUE, the int4 minimum, where there is no
    value); `flag_bytes` the "flags" column, bytea, one Flag code per slot. `values` and
    `flags` are the decoded lists (float, NaN where missing; int codes); setting them encodes
    at the row's `decimals` (exactly, or IntervalEncodingError)."""

    interval_minutes = models.SmallIntegerField()
    decimals = models.SmallIntegerField(default=3, help_text="The channel's resolution when this version was written.")
    scaled = ArrayField(models.IntegerField(), db_column="values")
    flag_bytes = models.BinaryField(db_column="flags")

    class Meta:
        abstract = True

    @property
    def values(self) -> list[float]:
        return unscale_values(np.asarray(self.scaled, dtype=np.int64), self.decimals).tolist()

    @values.setter
    def values(self, values) -> None:
        scaled, bad = scale_values(np.asarray(values, dtype=np.float64), self.decimals)
        if bad.any():
            raise IntervalEncodingError(f"Interval {int(np.flatnonzero(bad)[0])}: cannot be stored at "
                                        f"{resolution_range(self.decimals)}.")
        self.scaled = scaled.tolist()

    @property
    def flags(self) -> list[int]:
        return list(bytes(self.flag_bytes))

    @flags.setter
    def flags(self, flags) -> None:
        self.flag_bytes = bytes(int(f) for f in flags)


class IntervalDay(_StoredDay):
    """One channel's intervals of one local day.

    The table is range-partitioned by month and created by SQL (migration 0002): Django
    cannot declare partitioning. The model is still `managed` so that test flushes truncate
    it and later field changes migrate like any other table's.

    `values[i]` / `flags[i]` are slot i: [local midnight + i*interval, +interval) in UTC,
    stored encoded (see _StoredDay; migration 0013). A missing value is NaN with flag MISSING.
    `changed_by`/`reason` say who made this version and why; the versions it replaced are in
    IntervalDayVersion."""

    pk = models.CompositePrimaryKey("channel_id", "local_date")
    channel = models.ForeignKey(Channel, on_delete=models.DO_NOTHING, related_name="+")
    local_date = models.DateField()
    version = models.IntegerField(default=1)
    updated_at = models.DateTimeField()
    import_run_id = models.BigIntegerField(null=True)
    vee_run_id = models.BigIntegerField(null=True)
    changed_by_id = models.BigIntegerField(null=True)
    reason = models.TextField(default="")

    class Meta:
        db_table = "mdm_interval_day"


class IntervalDayVersion(_StoredDay):
    """A superseded version of a channel-day, copied here before every change."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    local_date = models.DateField()
    version = models.IntegerField()
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
