"""Kinds of batch run that the sweeper looks after. An app registers each of its run kinds from
`AppConfig.ready()` (core imports no app): the chunk model and how to queue chunks again."""
from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the models exist only once the app registry is ready
    from core.runs.models import Chunk

log = logging.getLogger(__name__)
STALE_MINUTES = 15.0
SWEEP_RESUMES = 3


@dataclass(frozen=True)
class RunKind:
    label: str  # "mdm.import", "mdm.vee", "billing.bill_run"
    chunk_model: type[Chunk]
    # (run id, chunk numbers, queue=None) -> queue the chunk tasks; `queue` is given when the
    # sweeper runs as a task: the chunks go to the queue it came from, as a run's own tasks do.
    enqueue: Callable[..., None]
    # (run_id=, now=, enqueue=) -> chunk numbers: the kind's own resume, when resuming takes
    # more than re-queueing its chunk rows (an import writes the rows a cut-off prepare did
    # not); None: core.runs.engine.run_resume.
    resume: Callable[..., list[int]] | None = None


_KINDS: dict[str, RunKind] = {}


def register_run_kind(kind: RunKind) -> None:
    _KINDS[kind.label] = kind


def run_kinds() -> list[RunKind]:
    return list(_KINDS.values())


def _resumes_in_a_row(label: str, run_id: int, progress_done: int) -> int:
    """The sweeper's resumes of this run since it last made progress (or was last failed by
    the sweeper, after which a person resumed it): the run's latest sweeps, newest first, while
    they are resumes found at the same progress."""
    from core.runs.models import RunSweep

    count = 0
    for action, done in (RunSweep.objects.filter(kind=label, run_id=run_id)
                         .order_by("-swept_at", "-id").values_list("action", "progress_done")):
        if action != RunSweep.Action.RESUMED or done != progress_done:
            break
        count += 1
    return count


def runs_sweep(*, now: dt.datetime, stale_minutes: float = STALE_MINUTES, max_resumes: int = SWEEP_RESUMES,
               queue: str | None = None) -> dict[str, list[int]]:
    """Resume every registered kind's runs whose worker died (running, no progress for
    `stale_minutes`): their chunks not done are queued again (to `queue` when given). A run
    already resumed `max_resumes` times in a row without a chunk finishing is failed instead,
    with the reason on the run. Each action is logged as a RunSweep row. Returns the run ids
    per kind (resumed or failed)."""
    from core.runs import engine  # the models exist only once the app registry is ready
    from core.runs.models import RunSweep

    swept: dict[str, list[int]] = {}
    for kind in run_kinds():
        run_model = engine.run_model_of(kind.chunk_model)
        stale = list(engine.runs_stale(run_model, now=now, minutes=stale_minutes).values_list("pk", "progress_done"))
        for run_id, progress_done in stale:
            resumes = _resumes_in_a_row(kind.label, run_id, progress_done)
            if resumes >= max_resumes:
                reason = (f"Its worker stopped and the sweeper resumed it {resumes} time{'s' if resumes != 1 else ''} "
                          f"with no chunk finishing (each time no progress for {stale_minutes:g} min); it gave "
                          f"up. Look at the worker's log, then resume the run by hand.")
                if engine.run_fail(run_model, run_id=run_id, error=reason, now=now):
                    RunSweep.objects.create(kind=kind.label, run_id=run_id, action=RunSweep.Action.FAILED,
                                            progress_done=progress_done, swept_at=now)
                    log.error("%s run %s failed by the sweeper: %s", kind.label, run_id, reason)
                    swept.setdefault(kind.label, []).append(run_id)
                continue
            enqueue = functools.partial(kind.enqueue, run_id, **({"queue": queue} if queue else {}))
            try:
                if kind.resume is not None:
                    numbers = kind.resume(run_id=run_id, now=now, enqueue=enqueue)
                else:
                    numbers = engine.run_resume(kind.chunk_model, run_id=run_id, now=now, enqueue=enqueue)
            except Exception:  # the kind failed the run with its reason; the other runs are swept
                log.exception("%s run %s could not be resumed", kind.label, run_id)
                swept.setdefault(kind.label, []).append(run_id)
                continue
            RunSweep.objects.create(kind=kind.label, run_id=run_id, action=RunSweep.Action.RESUMED,
                                    progress_done=progress_done, chunks=len(numbers), swept_at=now)
            log.warning("%s run %s had no progress for %s min: %d chunk(s) queued again (resume %d of %d)",
                        kind.label, run_id, stale_minutes, len(numbers), resumes + 1, max_resumes)
            swept.setdefault(kind.label, []).append(run_id)
    return swept
