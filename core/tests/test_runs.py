"""core.runs on two throwaway concrete models (a run and its chunks) created for these tests."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, models

from core import runs
from core.runs import Chunk, Run

NOW = dt.datetime(2026, 6, 20, 12, 0, tzinfo=dt.timezone.utc)


class SampleRun(Run):
    items_done = models.PositiveIntegerField(default=0)

    class Meta:
        app_label = "core"
        db_table = "core_test_sample_run"


class SampleChunk(Chunk):
    run = models.ForeignKey(SampleRun, on_delete=models.CASCADE, related_name="chunks")
    items = models.JSONField(default=list)

    class Meta:
        app_label = "core"
        db_table = "core_test_sample_chunk"
        constraints = [models.UniqueConstraint(name="core_test_sample_chunk_unique", fields=["run", "number"])]


@pytest.fixture
def tables(transactional_db):
    with connection.schema_editor() as editor:
        editor.create_model(SampleRun)
        editor.create_model(SampleChunk)
    yield
    with connection.schema_editor() as editor:
        editor.delete_model(SampleChunk)
        editor.delete_model(SampleRun)


def make_run(n_chunks: int = 3, per_chunk: int = 2) -> SampleRun:
    run = SampleRun.objects.create(status=runs.RunStatus.RUNNING, progress_total=n_chunks * per_chunk,
                                   chunks_total=n_chunks, started_at=NOW, created_at=NOW)
    SampleChunk.objects.bulk_create(
        SampleChunk(run=run, number=i, size=per_chunk, items=list(range(i * per_chunk, (i + 1) * per_chunk)))
        for i in range(n_chunks)
    )
    return run


def do_chunk(run: SampleRun, number: int, now=NOW) -> runs.Claim | None:
    with runs.chunk_claim(SampleChunk, run_id=run.pk, number=number, now=now) as claim:
        if claim is None:
            return None
        claim.add(items_done=len(claim.chunk.items))
        claim.time("work", 0.5)
    return claim


def test_a_chunk_claimed_twice_is_done_once(tables):
    run = make_run()
    assert do_chunk(run, 0) is not None
    assert do_chunk(run, 0) is None  # done already: the second claim gets nothing
    run.refresh_from_db()
    assert (run.progress_done, run.items_done, run.timings, run.progress_at) == (2, 2, {"work": 0.5}, NOW)
    assert do_chunk(run, 99) is None  # no such chunk


def test_a_chunk_held_by_another_worker_is_skipped_not_waited_for(tables):
    run = make_run()
    inside, release, seen = threading.Event(), threading.Event(), []

    def first_worker():
        try:
            with runs.chunk_claim(SampleChunk, run_id=run.pk, number=1, now=NOW) as claim:
                seen.append(claim is not None)
                inside.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=first_worker)
    thread.start()
    assert inside.wait(10)
    try:
        assert do_chunk(run, 1) is None  # SKIP LOCKED: the other worker has it
    finally:
        release.set()
        thread.join(10)
    assert seen == [True]
    assert SampleChunk.objects.get(run=run, number=1).status == "done"
    assert do_chunk(run, 1) is None


def test_work_that_raises_rolls_back_and_leaves_the_chunk_pending(tables):
    run = make_run()
    with pytest.raises(ZeroDivisionError):
        with runs.chunk_claim(SampleChunk, run_id=run.pk, number=0, now=NOW) as claim:
            SampleRun.objects.filter(pk=run.pk).update(items_done=99)  # a write of the chunk's work
            claim.add(items_done=1)
            1 / 0
    run.refresh_from_db()
    assert (run.items_done, run.progress_done) == (0, 0)
    assert SampleChunk.objects.get(run=run, number=0).status == "pending"


def test_the_run_closes_only_when_every_chunk_is_done(tables):
    run = make_run(n_chunks=3)
    assert do_chunk(run, 2).closed is None
    assert do_chunk(run, 0).closed is None
    run.refresh_from_db()
    assert (run.status, run.finished_at) == ("running", None)
    assert runs.run_close_if_complete(SampleRun, run_id=run.pk, now=NOW) is None
    last = do_chunk(run, 1, now=NOW + dt.timedelta(minutes=1))
    assert last.closed == "done"
    run.refresh_from_db()
    assert (run.status, run.progress_done, run.progress_percent, run.finished_at) == (
        "done", 6, 100, NOW + dt.timedelta(minutes=1))
    assert runs.run_progress(run)["chunks"] == {"done": 3}


def test_a_run_with_a_failed_chunk_ends_failed_never_done(tables):
    run = make_run(n_chunks=2)
    assert runs.chunk_fail(SampleChunk, run_id=run.pk, number=0, error="ValueError: bad", now=NOW)
    run.refresh_from_db()
    assert run.status == "running"  # chunk 1 still to do
    assert do_chunk(run, 1).closed == "failed"
    run.refresh_from_db()
    assert run.status == "failed" and "1 chunk failed" in run.error
    assert SampleChunk.objects.get(run=run, number=0).error == "ValueError: bad"
    assert runs.run_progress(run)["chunks"] == {"done": 1, "failed": 1}


def test_resume_requeues_only_the_chunks_not_done(tables):
    run = make_run(n_chunks=4)
    do_chunk(run, 0)
    do_chunk(run, 2)
    runs.chunk_fail(SampleChunk, run_id=run.pk, number=3, error="boom", now=NOW)
    queued = []
    with runs.chunk_claim(SampleChunk, run_id=run.pk, number=0, now=NOW):
        pass
    numbers = runs.run_resume(SampleChunk, run_id=run.pk, now=NOW + dt.timedelta(hours=1), enqueue=queued.append)
    assert numbers == [1, 3] and queued == [[1, 3]]  # enqueued on commit (autocommit here)
    run.refresh_from_db()
    assert (run.status, run.error, run.progress_at) == ("running", "", NOW + dt.timedelta(hours=1))
    assert SampleChunk.objects.get(run=run, number=3).status == "pending"
    for n in numbers:
        do_chunk(run, n)
    run.refresh_from_db()
    assert (run.status, run.progress_done, run.items_done) == ("done", 8, 8)
    assert runs.run_resume(SampleChunk, run_id=run.pk, now=NOW) == []  # a finished run has nothing left


def test_a_failed_run_resumed_can_still_end_done(tables):
    run = make_run(n_chunks=2)
    do_chunk(run, 0)
    runs.chunk_fail(SampleChunk, run_id=run.pk, number=1, error="boom", now=NOW)
    run.refresh_from_db()
    assert run.status == "failed"
    assert runs.run_resume(SampleChunk, run_id=run.pk, now=NOW) == [1]
    assert do_chunk(run, 1).closed == "done"


def test_the_sweeper_finds_running_runs_without_progress_and_resumes_them(tables):
    stale = make_run(n_chunks=2)
    do_chunk(stale, 0, now=NOW - dt.timedelta(minutes=30))
    fresh = make_run(n_chunks=2)
    do_chunk(fresh, 0, now=NOW - dt.timedelta(minutes=2))
    never = make_run(n_chunks=1)  # started 30 min ago, no chunk finished since
    SampleRun.objects.filter(pk=never.pk).update(started_at=NOW - dt.timedelta(minutes=30))
    done = make_run(n_chunks=1)
    do_chunk(done, 0, now=NOW - dt.timedelta(hours=5))
    assert list(runs.runs_stale(SampleRun, now=NOW, minutes=15).values_list("pk", flat=True)) == [stale.pk, never.pk]

    queued = []
    runs.register_run_kind(runs.RunKind("core.test", SampleChunk, lambda run_id, nums: queued.append((run_id, nums))))
    try:
        assert runs.runs_sweep(now=NOW, stale_minutes=15)["core.test"] == [stale.pk, never.pk]
    finally:
        runs.registry._KINDS.pop("core.test")
    assert queued == [(stale.pk, [1]), (never.pk, [0])]
    assert not runs.runs_stale(SampleRun, now=NOW, minutes=15).exists()  # resumed: the clock starts again


def test_begin_fail_and_progress(tables):
    run = SampleRun.objects.create(created_at=NOW, progress_total=0)
    assert runs.run_begin(SampleRun, run_id=run.pk, now=NOW)
    assert not runs.run_begin(SampleRun, run_id=run.pk, now=NOW)
    assert runs.run_fail(SampleRun, run_id=run.pk, error="unreadable", now=NOW)
    run.refresh_from_db()
    data = runs.run_progress(run, extra_field=7)
    assert (data["status"], data["status_label"], data["percent"], data["error"], data["extra_field"]) == (
        "failed", "Failed", 0, "unreadable", 7)


def test_the_sweeper_gives_up_on_a_run_that_never_moves_and_says_why(tables):
    from core.runs.models import RunSweep

    run = make_run(n_chunks=3)
    do_chunk(run, 0, now=NOW - dt.timedelta(hours=2))
    queued = []
    runs.register_run_kind(runs.RunKind("core.test", SampleChunk, lambda run_id, nums: queued.append(nums)))
    try:
        times = [NOW + dt.timedelta(minutes=20 * k) for k in range(4)]
        assert [runs.runs_sweep(now=t, stale_minutes=15, max_resumes=2) for t in times[:2]] == [
            {"core.test": [run.pk]}] * 2
        run.refresh_from_db()
        assert run.status == "running" and queued == [[1, 2], [1, 2]]
        # A chunk finishing is progress: the count of resumes in a row starts again.
        do_chunk(run, 1, now=times[1] + dt.timedelta(minutes=1))
        assert runs.runs_sweep(now=times[2], stale_minutes=15, max_resumes=2) == {"core.test": [run.pk]}
        assert runs.runs_sweep(now=times[3], stale_minutes=15, max_resumes=2) == {"core.test": [run.pk]}
        run.refresh_from_db()
        assert run.status == "running" and queued[-1] == [2]
        # Two resumes at the same progress: the next sweep fails the run with the reason.
        later = times[3] + dt.timedelta(minutes=20)
        assert runs.runs_sweep(now=later, stale_minutes=15, max_resumes=2) == {"core.test": [run.pk]}
    finally:
        runs.registry._KINDS.pop("core.test")
    run.refresh_from_db()
    assert (run.status, run.finished_at) == ("failed", later)
    assert run.error == ("Its worker stopped and the sweeper resumed it 2 times with no chunk finishing (each time no "
                         "progress for 15 min); it gave up. Look at the worker's log, then resume the run by hand.")
    assert list(RunSweep.objects.filter(run_id=run.pk).values_list("action", "progress_done")) == [
        ("resumed", 2), ("resumed", 2), ("resumed", 4), ("resumed", 4), ("failed", 4)]
    assert len(queued) == 4  # nothing queued when it failed
