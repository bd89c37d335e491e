"""The batch-run engine: claim a chunk (done at most once), close the run when its last chunk
is done, fail, resume, find runs whose worker died, and report progress.

Locks are always taken chunk row first, run row second, so two workers (or a worker and a
resume) never wait on each other in a circle. Domain code passes `now`; nothing here reads the
clock."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypedDict, TypeVar

from django.db import connection, models, transaction
from django.db.models import F
from django.db.models.expressions import Combinable
from django.db.models.functions import Coalesce

from core.runs.models import Chunk, ChunkStatus, Run, RunStatus

if TYPE_CHECKING:  # django-stubs-ext is a type-checking dependency only
    from django_stubs_ext import WithAnnotations

ERROR_MAX = 5000

# The engine works over any concrete run/chunk pair: what it reads and writes are the abstract
# bases' fields (core.runs.models), its queries go through the concrete model it is given.
RunT = TypeVar("RunT", bound=Run)
ChunkT = TypeVar("ChunkT", bound=Chunk)

# The relation between them is the concrete models' (the abstract bases cannot declare it):
# a chunk's `run` foreign key, with related_name "chunks". Looked up on the model at run time.
RUN_FIELD: str = "run"
CHUNKS_RELATION: str = "chunks"


def run_model_of(chunk_model: type[Chunk]) -> type[Run]:
    """The run model of a chunk model: what its `run` foreign key points at."""
    model = chunk_model._meta.get_field(RUN_FIELD).related_model
    if not (isinstance(model, type) and issubclass(model, Run)):
        raise TypeError(f"{chunk_model.__name__}.run must be a foreign key to a core.runs Run model, not {model!r}")
    return model


def chunk_model_of(run_model: type[Run]) -> type[Chunk]:
    """The chunk model of a run model: what its `chunks` reverse relation holds."""
    model = run_model._meta.get_field(CHUNKS_RELATION).related_model
    if not (isinstance(model, type) and issubclass(model, Chunk)):
        raise TypeError(f"{run_model.__name__}.chunks must be the reverse of a core.runs Chunk model, not {model!r}")
    return model


@dataclass
class Claim(Generic[ChunkT]):
    """A claimed chunk, inside the transaction that will mark it done.

    `add(field=n)` adds to the run's counter fields when the chunk is marked done;
    `time(phase, seconds)` adds to the run's timings. After the `with` block, `closed` is the
    status the run was closed with by this chunk (None: other chunks are still to do)."""

    chunk: ChunkT
    run: Run
    counters: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    closed: str | None = None

    def add(self, **counters: int) -> None:
        for name, value in counters.items():
            self.counters[name] = self.counters.get(name, 0) + int(value)

    def time(self, phase: str, seconds: float) -> None:
        self.timings[phase] = self.timings.get(phase, 0.0) + float(seconds)


@contextmanager
def chunk_claim(chunk_model: type[ChunkT], *, run_id: int, number: int, now: dt.datetime,
                clear: tuple[str, ...] = ()) -> Iterator[Claim[ChunkT] | None]:
    """Claim chunk `number` of run `run_id` for the duration of the `with` block.

    Yields None when the chunk is done already, does not exist, or another worker holds it
    right now (SELECT ... FOR UPDATE SKIP LOCKED: a redelivered task does not wait behind the
    first copy). Otherwise yields a Claim; the block's writes, the chunk's DONE mark (with the
    fields in `clear` set to None, e.g. a payload no longer needed), the run's counters and,
    for the last chunk, the run's close all commit in ONE transaction. An exception in the
    block rolls all of it back and propagates: the chunk stays as it was (see chunk_fail)."""
    run_model = run_model_of(chunk_model)
    with transaction.atomic():
        # `of=("self",)` and no ordering: a chunk model ordered by its run (["run", "number"])
        # made `.first()` join the run table, and FOR UPDATE then locked the RUN row too, so a
        # second worker's SKIP LOCKED skipped every other chunk of the run while one chunk
        # was being worked (left pending until a resume: the two-worker bill-run benchmark).
        chunk = (
            chunk_model._default_manager.select_for_update(skip_locked=True, of=("self",))
            .filter(run_id=run_id, number=number).exclude(status=ChunkStatus.DONE).order_by().first()
        )
        if chunk is None:
            yield None
            return
        claim = Claim(chunk=chunk, run=run_model._default_manager.get(pk=run_id))
        yield claim
        chunk.status, chunk.finished_at, chunk.error = ChunkStatus.DONE, now, ""
        for name in clear:
            setattr(chunk, name, None)
        chunk.save(update_fields=["status", "finished_at", "error", *clear])
        # The run row's lock (taken here, after the chunk's) orders the chunks finishing
        # together: the second to get it sees the first's DONE mark and closes the run.
        locked = run_model._default_manager.select_for_update().only("pk", "timings").get(pk=run_id)
        updates: dict[str, Combinable | dt.datetime | dict[str, float]] = {
            name: F(name) + value for name, value in claim.counters.items()
        }
        updates["progress_done"] = F("progress_done") + chunk.size
        updates["progress_at"] = now
        if claim.timings:
            merged: dict[str, float] = dict(locked.timings or {})
            for phase, seconds in claim.timings.items():
                merged[phase] = round(merged.get(phase, 0) + seconds, 4)
            updates["timings"] = merged
        run_model._default_manager.filter(pk=run_id).update(**updates)
        claim.closed = run_close_if_complete(run_model, run_id=run_id, now=now)


def run_close_if_complete(run_model: type[Run], *, run_id: int, now: dt.datetime) -> str | None:
    """Close an unfinished run once none of its chunks is pending and all `chunks_total` of
    them exist: DONE when every chunk is done, FAILED when any failed (a run with failed
    chunks is never "done"; resume it).
    Returns the status it was closed with, or None when it stays open."""
    status = run_model.Status
    with transaction.atomic():
        run = run_model._default_manager.select_for_update().get(pk=run_id)
        if run.status not in (status.QUEUED, status.RUNNING):
            return None
        counts = chunk_counts(run)
        if counts.get(ChunkStatus.PENDING):
            return None
        if sum(counts.values()) < run.chunks_total:  # rows still being written (an import's prepare)
            return None
        failed = counts.get(ChunkStatus.FAILED, 0)
        run.status = status.FAILED if failed else status.DONE
        run.finished_at = now
        fields = ["status", "finished_at"]
        if failed and not run.error:
            run.error = f"{failed} chunk{'s' if failed != 1 else ''} failed; resume the run to try again."
            fields.append("error")
        run.save(update_fields=fields)
        return run.status


def run_chunks(chunk_model: type[ChunkT], *, run_id: int) -> models.QuerySet[ChunkT]:
    """The chunks of run `run_id` (through the concrete chunk model's `run` foreign key)."""
    return chunk_model._default_manager.filter(run_id=run_id)


def chunk_counts(run: Run) -> dict[str, int]:
    """The run's chunks counted by status."""
    chunks = run_chunks(chunk_model_of(type(run)), run_id=run.pk)
    return dict(chunks.order_by().values_list("status").annotate(n=models.Count("pk")).values_list("status", "n"))


def chunk_fail(chunk_model: type[Chunk], *, run_id: int, number: int, error: str, now: dt.datetime) -> bool:
    """Mark a chunk FAILED with its error (after its own transaction rolled back) and close the
    run if that was the last open chunk. Returns False when the chunk was done meanwhile."""
    with transaction.atomic():
        updated = run_chunks(chunk_model, run_id=run_id).filter(number=number).exclude(status=ChunkStatus.DONE).update(
            status=ChunkStatus.FAILED, error=error[:ERROR_MAX], finished_at=now,
        )
        if updated:
            run_close_if_complete(run_model_of(chunk_model), run_id=run_id, now=now)
    return bool(updated)


def run_fail(run_model: type[Run], *, run_id: int, error: str, now: dt.datetime) -> bool:
    """The run cannot go on (unreadable input, a chunk that keeps failing): FAILED now, with the
    reason. A run already DONE is left alone. Returns whether it was marked."""
    status = run_model.Status
    return bool(run_model._default_manager.filter(pk=run_id, status__in=[status.QUEUED, status.RUNNING, status.FAILED]).update(
        status=status.FAILED, error=error[:ERROR_MAX], finished_at=now,
    ))


def run_begin(run_model: type[Run], *, run_id: int, now: dt.datetime) -> bool:
    """Mark a queued run running (started_at, and the heartbeat). False if it is not queued."""
    status = run_model.Status
    return bool(run_model._default_manager.filter(pk=run_id, status=status.QUEUED).update(
        status=status.RUNNING, started_at=Coalesce(F("started_at"), now), progress_at=now,
    ))


def pending_chunks(chunk_model: type[Chunk], *, run_id: int) -> list[int]:
    """Numbers of the chunks not done (pending or failed), in order."""
    return list(run_chunks(chunk_model, run_id=run_id).exclude(status=ChunkStatus.DONE)
                .order_by("number").values_list("number", flat=True))


def run_resume(chunk_model: type[Chunk], *, run_id: int, now: dt.datetime | None = None,
               enqueue: Callable[[list[int]], None] | None = None) -> list[int]:
    """Re-queue what a run has left: failed chunks become pending again, the run is running
    again (a failed run too), and `enqueue(numbers)` is called with the chunks not done once
    this commits. Chunks that are done are never queued again. Safe while workers still hold
    some chunks: a chunk done twice is skipped the second time. Returns the numbers; none for
    a run that is done (or past done in its app's lifecycle)."""
    run_model = run_model_of(chunk_model)
    status = run_model.Status
    with transaction.atomic():
        # Chunk rows first (skipping one a worker holds right now), then the run row.
        failed = (run_chunks(chunk_model, run_id=run_id).select_for_update(skip_locked=True, of=("self",))
                  .filter(status=ChunkStatus.FAILED).order_by())
        chunk_model._default_manager.filter(pk__in=list(failed.values_list("pk", flat=True))).update(
            status=ChunkStatus.PENDING, error="", finished_at=None)
        run = run_model._default_manager.select_for_update().get(pk=run_id)
        if run.status not in (status.QUEUED, status.RUNNING, status.FAILED):
            return []
        numbers = pending_chunks(chunk_model, run_id=run_id)
        if not numbers:
            if run.status != status.FAILED and now is not None:
                run_close_if_complete(run_model, run_id=run_id, now=now)
            return []
        run.status, run.error, run.finished_at = status.RUNNING, "", None
        fields = ["status", "error", "finished_at"]
        if now is not None:
            run.progress_at = now
            run.started_at = run.started_at or now
            fields += ["progress_at", "started_at"]
        run.save(update_fields=fields)
        if enqueue is not None:
            transaction.on_commit(lambda: enqueue(numbers))
    return numbers


def tables_analyze_if_grown(tables: Iterable[str], *, before: int, after: int, step: int) -> bool:
    """ANALYZE `tables` when a run's work items done go from `before` to `after` past 1, 2, 4,
    8 ... times `step` (a chunk's worth): the tables a run fills are planned on statistics of
    their size before the run otherwise (autovacuum may be off or late), and the run's own
    lookups then scan them in full. Doubling keeps it to log2(chunks) ANALYZEs a run, each a
    sample of fixed size. Call it after the chunk's commit; a table another worker is analysing
    is skipped. Returns whether it ran."""
    names = list(tables)
    mark = max(1, step)
    while mark <= before:
        mark *= 2
    if not names or not before < mark <= after:
        return False
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE (SKIP_LOCKED) " + ", ".join(connection.ops.quote_name(t) for t in names))
    return True


class StaleSign(TypedDict):
    _last_sign: dt.datetime  # when a chunk last finished, or the run began or was made


def runs_stale(run_model: type[RunT], *, now: dt.datetime,
               minutes: float) -> models.QuerySet[WithAnnotations[RunT, StaleSign], RunT]:
    """Runs whose worker died: running, and no chunk finished (nor the run began or resumed)
    for `minutes`."""
    cutoff = now - dt.timedelta(minutes=minutes)
    return (run_model._default_manager.filter(status=run_model.Status.RUNNING)
            .annotate(_last_sign=Coalesce("progress_at", "started_at", "created_at"))
            .filter(_last_sign__lt=cutoff).order_by("pk"))


def run_progress(run: Run, *, chunks: bool = True, **extra: object) -> dict[str, object]:
    """The progress of a run as a dict (what the progress JSON views answer): status and its
    label, done/total/percent, chunk counts by status, timings, error, plus the app's `extra`."""
    data: dict[str, object] = {
        "id": run.pk,
        "status": run.status,
        "status_label": run.get_status_display(),
        "done": run.progress_done,
        "total": run.progress_total,
        "percent": run.progress_percent,
        "timings": run.timings or {},
        "error": run.error,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }
    if chunks:
        data["chunks"] = chunk_counts(run)
    data.update(extra)
    return data


__all__ = [
    "Claim", "RunStatus", "chunk_claim", "chunk_counts", "chunk_model_of", "run_chunks", "chunk_fail", "pending_chunks", "run_begin",
    "run_close_if_complete", "run_fail", "run_model_of", "run_progress", "run_resume", "runs_stale",
    "tables_analyze_if_grown",
]
