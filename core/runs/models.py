"""The abstract batch run and its chunks. Each app's concrete run/chunk models subclass these
and add their own fields (counts, scope, work list) and constraints (the idempotency key's
scope: one per file hash, one unfinished per key, ...).

A concrete chunk model must have `run = models.ForeignKey(<its run>, related_name="chunks")`
and a unique constraint over (run, number): the engine (core.runs.engine) meets chunks through
`run_id` and `number` only."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class RunStatus(models.TextChoices):
    """The one status vocabulary of a batch run. An app may add states that follow DONE in its
    own lifecycle (a bill run's approved, issued) by overriding `status` with more choices."""

    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


UNFINISHED = (RunStatus.QUEUED, RunStatus.RUNNING)


class ChunkStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Run(models.Model):
    """A batch run: a status, an idempotency key, progress counters and timings."""

    Status = RunStatus

    status = models.CharField(max_length=20, choices=RunStatus.choices, default=RunStatus.QUEUED)
    idempotency_key = models.CharField(
        max_length=100, blank=True, help_text="What makes two requests the same run (its uniqueness is the app's)."
    )
    progress_done = models.PositiveBigIntegerField(default=0, help_text="Work items done (records, channels, accounts).")
    progress_total = models.PositiveBigIntegerField(default=0)
    chunks_total = models.PositiveIntegerField(default=0)
    timings = models.JSONField(default=dict, blank=True, help_text="Seconds per phase, summed over chunks.")
    error = models.TextField(blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    progress_at = models.DateTimeField(
        null=True, blank=True, help_text="When a chunk last finished: the sweeper's sign that a worker is alive."
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def progress_percent(self) -> int:
        if self.progress_total:
            return min(100, int(100 * self.progress_done / self.progress_total))
        return 100 if self.status == RunStatus.DONE else 0

    @property
    def is_unfinished(self) -> bool:
        return self.status in UNFINISHED


class Chunk(models.Model):
    """A slice of a run's work. Done at most once: the work's writes and the DONE mark commit
    in one transaction (core.runs.engine.chunk_claim). The work list itself (records, channel
    ids, account ids) is the concrete model's field, in a stable, explicit format."""

    Status = ChunkStatus

    number = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=ChunkStatus.choices, default=ChunkStatus.PENDING)
    size = models.PositiveIntegerField(default=0, help_text="Work items in the chunk: what the run's progress moves by.")
    error = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class RunSweep(models.Model):
    """What the sweeper did to one stale run (core.runs.registry.runs_sweep): resumed it (its
    chunks not done queued again) or, after UTILIS_RUN_SWEEP_RESUMES resumes in a row with no
    chunk finishing between, failed it with the reason. `progress_done` is the run's count
    when it was found: equal counts on consecutive sweeps mean no chunk finished between."""

    class Action(models.TextChoices):
        RESUMED = "resumed", "Resumed"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=40, help_text='The run kind\'s label, e.g. "mdm.import".')
    run_id = models.BigIntegerField()
    action = models.CharField(max_length=10, choices=Action.choices)
    progress_done = models.PositiveBigIntegerField()
    chunks = models.PositiveIntegerField(default=0, help_text="Chunks queued again.")
    swept_at = models.DateTimeField()

    class Meta:
        app_label = "core"
        ordering = ["kind", "run_id", "swept_at", "id"]
        indexes = [models.Index(name="core_runsweep_run_idx", fields=["kind", "run_id", "swept_at"])]

    def __str__(self) -> str:
        return f"{self.kind} run {self.run_id} {self.action} at {self.swept_at:%Y-%m-%d %H:%M}"
