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


@dataclass(frozen=True)
class RunKind:
    label: str  # "mdm.import", "mdm.vee", "billing.bill_run"
    chunk_model: type[Chunk]
    enqueue: Callable[[int, list[int]], None]  # (run id, chunk numbers) -> queue the chunk tasks


_KINDS: dict[str, RunKind] = {}


def register_run_kind(kind: RunKind) -> None:
    _KINDS[kind.label] = kind


def run_kinds() -> list[RunKind]:
    return list(_KINDS.values())


def runs_sweep(*, now: dt.datetime, stale_minutes: float = STALE_MINUTES) -> dict[str, list[int]]:
    """Resume every registered kind's runs whose worker died (running, no progress for
    `stale_minutes`): their chunks not done are queued again. Returns the run ids per kind."""
    from core.runs import engine  # the models exist only once the app registry is ready

    resumed: dict[str, list[int]] = {}
    for kind in run_kinds():
        run_model = engine.run_model_of(kind.chunk_model)
        run_ids: list[int] = list(engine.runs_stale(run_model, now=now, minutes=stale_minutes).values_list("pk", flat=True))
        for run_id in run_ids:
            numbers = engine.run_resume(kind.chunk_model, run_id=run_id, now=now,
                                        enqueue=functools.partial(kind.enqueue, run_id))
            log.warning("%s run %s had no progress for %s min: %d chunk(s) queued again",
                        kind.label, run_id, stale_minutes, len(numbers))
            resumed.setdefault(kind.label, []).append(run_id)
    return resumed
