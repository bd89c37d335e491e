"""VEE configuration (rule sets and their assignments), VEE runs on core.runs, their findings
and the worklist."""
from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import ArrayField, RangeOperators
from django.db import models
from django.db.models import F, Q

from core.ranges import DateRange
from core.runs import Chunk, Run
from mdm.models.devices import Channel


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
