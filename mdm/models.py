"""Meters, their channels and multipliers, where they are installed, virtual meters, register
reads, the interval store, imports and their quarantine, and replacement-read notices.

Service points belong to cis: mdm keeps `service_point_id` as a plain number and meets cis
through its selectors. The interval store table `mdm_interval_day` is range-partitioned by
month and created by SQL in the migrations (Django cannot declare partitioning)."""
from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import ArrayField, DateTimeRangeField, RangeOperators
from django.db import models
from django.db.models import F, Q

from core.ranges import DateRange
from core.runs import Chunk, Run


class TstzRange(models.Func):
    """SQL `tstzrange(start, end, '[)')`: installations are instants, not dates."""

    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


class Commodity(models.TextChoices):
    ELECTRIC = "electric", "Electric"
    WATER = "water", "Water"
    GAS = "gas", "Gas"


class Meter(models.Model):
    class Kind(models.TextChoices):
        ELECTRIC_SINGLE_PHASE = "electric_single_phase", "Electric, single-phase"
        ELECTRIC_POLYPHASE = "electric_polyphase", "Electric, polyphase"
        WATER = "water", "Water"
        GAS = "gas", "Gas"

    class Status(models.TextChoices):
        IN_STOCK = "in_stock", "In stock"
        INSTALLED = "installed", "Installed"
        REMOVED = "removed", "Removed"
        RETIRED = "retired", "Retired"

    serial_number = models.CharField(max_length=50, unique=True, help_text="The manufacturer's serial number.")
    manufacturer = models.CharField(max_length=100, blank=True)
    model = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=30, choices=Kind.choices)
    ami_capable = models.BooleanField(default=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.IN_STOCK)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["serial_number"]

    def __str__(self) -> str:
        return self.serial_number

    @property
    def commodity(self) -> str:
        if self.kind in (self.Kind.ELECTRIC_SINGLE_PHASE, self.Kind.ELECTRIC_POLYPHASE):
            return Commodity.ELECTRIC
        return self.kind


class Channel(models.Model):
    """One register or interval channel of a meter."""

    class Unit(models.TextChoices):
        KWH = "kWh", "kWh"
        KW = "kW", "kW"
        KVA = "kVA", "kVA"
        KVAR = "kVAR", "kVAR"
        KVARH = "kVARh", "kVARh"
        M3 = "m3", "m³"
        USGAL = "USgal", "US gal"
        FT3 = "ft3", "ft³"

    class Direction(models.TextChoices):
        DELIVERED = "delivered", "Delivered (to the customer)"
        RECEIVED = "received", "Received (from the customer)"

    INTERVAL_CHOICES = [(5, "5 minutes"), (15, "15 minutes"), (30, "30 minutes"), (60, "60 minutes")]

    meter = models.ForeignKey(Meter, on_delete=models.CASCADE, related_name="channels")
    channel_number = models.PositiveSmallIntegerField(default=1)
    unit = models.CharField(max_length=10, choices=Unit.choices)
    direction = models.CharField(max_length=10, choices=Direction.choices, default=Direction.DELIVERED)
    interval_minutes = models.PositiveSmallIntegerField(
        choices=INTERVAL_CHOICES, null=True, blank=True, help_text="Empty for a register-only channel."
    )
    dials = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Register digits: the register rolls over at 10^dials."
    )

    class Meta:
        ordering = ["meter_id", "channel_number", "id"]
        constraints = [
            models.UniqueConstraint(
                name="channel_unique_per_meter",
                fields=["meter", "unit", "direction", "interval_minutes"],
                nulls_distinct=False,
            ),
            models.CheckConstraint(
                name="channel_interval_length",
                condition=Q(interval_minutes__isnull=True) | Q(interval_minutes__in=[5, 15, 30, 60]),
            ),
        ]

    def __str__(self) -> str:
        length = f"{self.interval_minutes} min" if self.interval_minutes else "register"
        return f"{self.meter.serial_number} #{self.channel_number} {self.unit} {self.direction} {length}"

    @property
    def rollover(self) -> Decimal | None:
        return Decimal(10) ** self.dials if self.dials else None


class ChannelMultiplier(models.Model):
    """CT ratio x PT ratio x register constant, over [start_date, end_date)."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="multipliers")
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True, help_text="First day no longer in effect (exclusive).")
    ct_ratio = models.DecimalField(max_digits=12, decimal_places=4, default=Decimal(1))
    pt_ratio = models.DecimalField(max_digits=12, decimal_places=4, default=Decimal(1))
    register_constant = models.DecimalField(max_digits=12, decimal_places=6, default=Decimal(1))

    class Meta:
        ordering = ["channel_id", "start_date"]
        constraints = [
            ExclusionConstraint(
                name="multiplier_no_overlap_per_channel",
                expressions=[
                    ("channel", RangeOperators.EQUAL),
                    (DateRange("start_date", "end_date"), RangeOperators.OVERLAPS),
                ],
                violation_error_message="This channel already has a multiplier in that period.",
            ),
            models.CheckConstraint(
                name="multiplier_end_after_start",
                condition=Q(end_date__isnull=True) | Q(end_date__gt=F("start_date")),
            ),
        ]

    @property
    def multiplier(self) -> Decimal:
        return self.ct_ratio * self.pt_ratio * self.register_constant


class Installation(models.Model):
    """Record of installation: a meter at a service point over [installed_at, removed_at)."""

    meter = models.ForeignKey(Meter, on_delete=models.PROTECT, related_name="installations")
    # cis owns service points; mdm keeps the id and meets cis through its selectors.
    service_point_id = models.BigIntegerField(db_index=True)
    commodity = models.CharField(max_length=10, choices=Commodity.choices)
    installed_at = models.DateTimeField()
    removed_at = models.DateTimeField(null=True, blank=True)
    install_read = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    removal_read = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["service_point_id", "installed_at"]
        constraints = [
            ExclusionConstraint(
                name="installation_meter_one_place",
                expressions=[
                    ("meter", RangeOperators.EQUAL),
                    (TstzRange("installed_at", "removed_at"), RangeOperators.OVERLAPS),
                ],
                violation_error_message="This meter is installed elsewhere in that period.",
            ),
            ExclusionConstraint(
                name="installation_one_meter_per_sp_commodity",
                expressions=[
                    ("service_point_id", RangeOperators.EQUAL),
                    ("commodity", RangeOperators.EQUAL),
                    (TstzRange("installed_at", "removed_at"), RangeOperators.OVERLAPS),
                ],
                violation_error_message="This service point already has a meter for that commodity in that period.",
            ),
            models.CheckConstraint(
                name="installation_removed_after_installed",
                condition=Q(removed_at__isnull=True) | Q(removed_at__gt=F("installed_at")),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.meter.serial_number} at SP {self.service_point_id} from {self.installed_at:%Y-%m-%d %H:%M}"


class VirtualMeter(models.Model):
    """A service point's usage as a signed sum of channels or other service points' usage.

    `formula` is {"terms": [{"channel_id": 7, "sign": 1}, {"service_point_id": 12, "sign": -1}]}:
    net = delivered - received, a building master minus the sum of its suites, a sum of meters."""

    service_point_id = models.BigIntegerField(unique=True)
    name = models.CharField(max_length=100, blank=True)
    formula = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["service_point_id"]

    def __str__(self) -> str:
        return self.name or f"Virtual meter of SP {self.service_point_id}"


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

    class Meta:
        ordering = ["import_run_id", "line", "id"]
        indexes = [models.Index(name="quarantine_status_idx", fields=["status", "import_run"])]

    def __str__(self) -> str:
        return f"{self.file_name}:{self.line} {self.field}: {self.message}"


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

    service_point_id = models.BigIntegerField(unique=True)
    billed_through_date = models.DateField()
    updated_at = models.DateTimeField(auto_now=True)


class ReplacementReadNotice(models.Model):
    """Data already used for a billed period changed: billing picks this up to cancel/rebill."""

    service_point_id = models.BigIntegerField(db_index=True)
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


# ---- VEE configuration, runs and their results ----------------------------------------------


class VeeRuleSet(models.Model):
    """A staff-configured VEE rule set. `rules` is the JSON `mdm.vee_config` turns into a
    `mdm.vee.rules.RuleSet`; `version` goes up on every change so a VEE run's idempotency key
    can tell an old configuration from a new one."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    rules = models.JSONField(help_text='{"validations": [{"kind": "spike", "threshold_pct": 300, ...}], "estimations": [...]}')
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "VEE rule set"

    def __str__(self) -> str:
        return self.name


class VeeRuleSetAssignment(models.Model):
    """Which rule set applies where over [start_date, end_date). For a channel-day the most
    specific assignment in effect wins: service point > rate class > meter kind > default."""

    class Scope(models.TextChoices):
        SERVICE_POINT = "service_point", "Service point"
        RATE_CLASS = "rate_class", "Rate class"
        METER_KIND = "meter_kind", "Meter kind"
        DEFAULT = "default", "Default"

    rule_set = models.ForeignKey(VeeRuleSet, on_delete=models.PROTECT, related_name="assignments")
    scope = models.CharField(max_length=20, choices=Scope.choices)
    scope_value = models.CharField(
        max_length=50, blank=True,
        help_text="Service point id, rate class or meter kind; empty for the default.",
    )
    priority = models.SmallIntegerField(default=0, help_text="Higher wins between equally specific assignments.")
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True, help_text="First day no longer in effect (exclusive).")

    class Meta:
        ordering = ["scope", "scope_value", "start_date"]
        verbose_name = "VEE rule set assignment"
        constraints = [
            ExclusionConstraint(
                name="vee_assignment_no_overlap",
                expressions=[
                    ("scope", RangeOperators.EQUAL),
                    ("scope_value", RangeOperators.EQUAL),
                    (DateRange("start_date", "end_date"), RangeOperators.OVERLAPS),
                ],
                violation_error_message="Another rule set is already assigned to this scope in that period.",
            ),
            models.CheckConstraint(
                name="vee_assignment_end_after_start",
                condition=Q(end_date__isnull=True) | Q(end_date__gt=F("start_date")),
            ),
            models.CheckConstraint(
                name="vee_assignment_default_has_no_value",
                condition=~Q(scope="default") | Q(scope_value=""),
            ),
        ]

    def __str__(self) -> str:
        where = self.get_scope_display() + (f" {self.scope_value}" if self.scope_value else "")
        return f"{self.rule_set} for {where} from {self.start_date}"


class VeeRun(Run):
    """VEE over a set of channels and local dates [start_date, end_date), in chunks of channels
    (a core.runs run: progress counts channels). Each chunk carries its own channel ids.

    The idempotency key (scope, dates, configuration fingerprint) is unique among unfinished
    runs: asking again while one is queued or running resumes that run instead of starting a
    second. A finished run may be repeated; VEE being idempotent, it then writes nothing."""

    scope = models.CharField(max_length=200, help_text="What was asked for: all channels, an import, a channel list.")
    start_date = models.DateField()
    end_date = models.DateField(help_text="Exclusive.")
    config_version = models.CharField(max_length=64, help_text="Fingerprint of the rule sets and assignments used.")
    chunk_size = models.PositiveIntegerField(default=500)
    channel_days_validated = models.PositiveBigIntegerField(default=0)
    channel_days_changed = models.PositiveBigIntegerField(default=0)
    intervals_estimated = models.PositiveBigIntegerField(default=0)
    findings_count = models.PositiveIntegerField(default=0)
    worklist_items = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "VEE run"
        constraints = [
            models.UniqueConstraint(
                name="vee_run_one_unfinished_per_key", fields=["idempotency_key"],
                condition=Q(status__in=["queued", "running"]),
            ),
        ]

    def __str__(self) -> str:
        return f"VEE run {self.pk} {self.start_date}..{self.end_date} ({self.status})"

    @property
    def channel_ids(self) -> list[int]:
        """Every channel of the run, in chunk order (read from the chunks)."""
        return [c for ids in self.chunks.order_by("number").values_list("channel_ids", flat=True) for c in ids]


class VeeRunChunk(Chunk):
    """Chunk `number` of a run and its own channels. Its writes and DONE mark commit together
    (core.runs.chunk_claim), so a killed worker's chunk is simply run again."""

    run = models.ForeignKey(VeeRun, on_delete=models.CASCADE, related_name="chunks")
    channel_ids = ArrayField(models.BigIntegerField(), default=list, help_text="This chunk's channels.")

    class Meta:
        ordering = ["run_id", "number"]
        constraints = [models.UniqueConstraint(name="vee_chunk_unique", fields=["run", "number"])]


class VeeFinding(models.Model):
    """A validation that failed on a channel-day in a run."""

    vee_run = models.ForeignKey(VeeRun, on_delete=models.CASCADE, related_name="findings")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    local_date = models.DateField()
    rule = models.CharField(max_length=50)
    slots = ArrayField(models.SmallIntegerField(), default=list)
    message = models.TextField()

    class Meta:
        ordering = ["-local_date", "channel_id", "rule"]
        indexes = [models.Index(name="vee_finding_channel_idx", fields=["channel", "local_date"])]


class VeeWorklistItem(models.Model):
    """An exception VEE could not settle, for a person."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACCEPTED = "accepted", "Accepted"
        EDITED = "edited", "Edited"
        DISMISSED = "dismissed", "Dismissed"

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    local_date = models.DateField()
    rule = models.CharField(max_length=50)
    message = models.TextField()
    slots = ArrayField(models.SmallIntegerField(), default=list)
    vee_run = models.ForeignKey(VeeRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="worklist")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField()
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["local_date", "channel_id", "rule", "id"]
        verbose_name = "VEE worklist item"
        constraints = [
            # A re-run of VEE over the same data must not pile up copies of the same exception.
            models.UniqueConstraint(
                name="vee_worklist_one_open", fields=["channel", "local_date", "rule"], condition=Q(status="open"),
            ),
        ]
        indexes = [models.Index(name="vee_worklist_status_idx", fields=["status", "local_date"])]

    def __str__(self) -> str:
        return f"{self.channel} {self.local_date} {self.rule}: {self.message}"
