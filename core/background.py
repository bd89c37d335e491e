"""What is still being prepared in the background: the start banner (`manage.py demo_status`)
and the hubs' status line (core.context_processors.background) read it here.

An app that prepares something after start-up (the demo: its AMI days, their VEE runs, a bill
run) registers a source from its AppConfig.ready() (core imports no app): a function that
returns the steps still unfinished, and nothing once all is done. The batch runs of every kind
registered with core.runs (imports, VEE runs, bill runs) are counted here, by kind."""
from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class PreparationStep:
    """One thing still being prepared: `label` ("demo AMI data"), `detail` ("12 of 35 days
    imported"), and `done` / `total` when it is counted."""

    label: str
    detail: str
    done: int | None = None
    total: int | None = None


PreparationSource = Callable[[], list[PreparationStep]]
_SOURCES: dict[str, PreparationSource] = {}


def preparation_source_register(name: str, source: PreparationSource) -> None:
    _SOURCES[name] = source


def preparation_steps() -> list[PreparationStep]:
    """Every registered source's unfinished steps, in the order the sources were registered;
    empty when nothing is being prepared."""
    return [step for source in _SOURCES.values() for step in source()]


def runs_unfinished() -> dict[str, int]:
    """Queued or running batch runs per kind ("import runs", "VEE runs", "bill runs"), for
    every kind registered with core.runs, zeros included."""
    from core.runs import UNFINISHED, run_kinds, run_model_of

    counts: dict[str, int] = {}
    for kind in run_kinds():
        model = run_model_of(kind.chunk_model)
        counts[str(model._meta.verbose_name_plural)] = model._default_manager.filter(status__in=UNFINISHED).count()
    return counts


def runs_unfinished_of(*, kind_label: str, run_ids: Iterable[int]) -> list[int]:
    """Which of the runs of one registered kind ("mdm.vee") are still queued or running.
    Raises KeyError for a kind that is not registered."""
    from core.runs import UNFINISHED, run_kinds, run_model_of

    kind = {k.label: k for k in run_kinds()}[kind_label]
    model = run_model_of(kind.chunk_model)
    return sorted(model._default_manager.filter(pk__in=list(run_ids), status__in=UNFINISHED).values_list("pk", flat=True))


def runs_requeue(*, kind_label: str, run_ids: Iterable[int], now: dt.datetime) -> dict[int, int]:
    """Queue again the chunks not done of these runs (their messages may have been lost with a
    stopped Redis): what the sweeper does for a stale run, without waiting for it to go stale.
    Safe while a worker holds some of them (a chunk done twice is skipped the second time).
    Returns the run id -> number of chunks queued. Raises KeyError for an unknown kind."""
    from core.runs import run_kinds, run_resume

    kind = {k.label: k for k in run_kinds()}[kind_label]
    return {run_id: len(run_resume(kind.chunk_model, run_id=run_id, now=now,
                                   enqueue=functools.partial(kind.enqueue, run_id)))
            for run_id in run_ids}


def run_progress_of(*, kind_label: str, run_id: int) -> tuple[int, int] | None:
    """(done, total) work items of one run of a registered kind; None when there is no such run.
    Raises KeyError for a kind that is not registered."""
    from core.runs import run_kinds, run_model_of

    kind = {k.label: k for k in run_kinds()}[kind_label]
    row = run_model_of(kind.chunk_model)._default_manager.filter(pk=run_id).values_list(
        "progress_done", "progress_total").first()
    return (int(row[0]), int(row[1])) if row else None
