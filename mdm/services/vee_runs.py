"""VEE runs on core.runs: a run over channels x local dates, split into chunks of channels,
each chunk processed in one transaction (mdm.vee_processing) that also marks it done, so a
chunk killed half-way is simply run again; resumable, idempotent by (scope, channels, dates,
configuration). Also the run that follows an import. Each chunk carries its own channel ids:
no chunk reads the run's whole channel list. Domain code never reads the clock: callers pass
`now`."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from core import runs
from django.db import transaction

from mdm import vee_processing
from mdm.models import IntervalDay, VeeFinding, VeeRun, VeeRunChunk, VeeWorklistItem
from mdm.vee_config import fingerprint
from mdm.vee_config_resolution import config_version

DAY = dt.timedelta(days=1)
# Channel-days a chunk works on, and the channels a chunk may hold. A chunk's fixed cost (about
# 35 queries: channels, installations, agreements, registers, multipliers, rule sets, worklist)
# was a third of a 500-channel one-day chunk; 2,000 channels halve the cost per channel-day
# (docs/performance.md, issue 12), and a long run keeps chunks of a bounded size in memory.
CHUNK_CHANNEL_DAYS = 20_000
CHUNK_CHANNELS_MAX = 2_000
CHUNK_CHANNELS_MIN = 50


def chunk_size_for(start_date: dt.date, end_date: dt.date) -> int:
    """Channels per chunk for a run over [start_date, end_date): about CHUNK_CHANNEL_DAYS
    channel-days, within CHUNK_CHANNELS_MIN .. CHUNK_CHANNELS_MAX channels."""
    days = max(1, (end_date - start_date).days)
    return max(CHUNK_CHANNELS_MIN, min(CHUNK_CHANNELS_MAX, CHUNK_CHANNEL_DAYS // days))


class VeeRunError(Exception):
    """A VEE run that cannot be created or continued (no channels, bad dates)."""


def vee_run_create(*, channel_ids: Sequence[int], start_date: dt.date, end_date: dt.date, scope: str,
                   now: dt.datetime, user=None, chunk_size: int | None = None) -> VeeRun:
    """A queued run over the channels and [start_date, end_date), split into chunks of
    `chunk_size` channels (default: chunk_size_for the dates; each chunk keeps its own channel
    ids). While a run with the same
    key (scope, channels, dates, configuration) is unfinished, that run is returned instead of
    a second one.

    Raises VeeRunError when there are no channels or end_date is not after start_date."""
    ids = sorted({int(c) for c in channel_ids})
    if not ids:
        raise VeeRunError("No channels to run VEE over.")
    if end_date <= start_date:
        raise VeeRunError("The end date must be after the start date.")
    if chunk_size is None:
        chunk_size = chunk_size_for(start_date, end_date)
    if chunk_size < 1:
        raise VeeRunError("The chunk size must be at least 1.")
    version = config_version()
    key = fingerprint([scope, ids, start_date.isoformat(), end_date.isoformat(), version])
    with transaction.atomic():
        existing = VeeRun.objects.filter(idempotency_key=key, status__in=runs.UNFINISHED).first()
        if existing:
            return existing
        slices = [ids[i:i + chunk_size] for i in range(0, len(ids), chunk_size)]
        run = VeeRun.objects.create(
            idempotency_key=key, scope=scope[:200], start_date=start_date, end_date=end_date,
            config_version=version, chunk_size=chunk_size, progress_total=len(ids), chunks_total=len(slices),
            created_at=now, started_by=user if user is not None and user.is_authenticated else None,
        )
        VeeRunChunk.objects.bulk_create(
            VeeRunChunk(run=run, number=i, size=len(part), channel_ids=part) for i, part in enumerate(slices)
        )
    return run


def vee_run_submit(*, channel_ids: Sequence[int], start_date: dt.date, end_date: dt.date, scope: str,
                   now: dt.datetime, user=None, chunk_size: int | None = None) -> VeeRun:
    """Create the run and hand it to the Celery workers once committed. Raises VeeRunError."""
    run = vee_run_create(channel_ids=channel_ids, start_date=start_date, end_date=end_date, scope=scope, now=now,
                         user=user, chunk_size=chunk_size)
    from mdm.tasks import vee_run_task

    transaction.on_commit(lambda: vee_run_task.delay(vee_run_id=run.pk))
    return run


def channels_with_data(*, start_date: dt.date, end_date: dt.date) -> list[int]:
    """Interval channels with any stored day in [start_date, end_date)."""
    return list(
        IntervalDay.objects.filter(local_date__gte=start_date, local_date__lt=end_date)
        .values_list("channel_id", flat=True).distinct().order_by("channel_id")
    )


def vee_run_pending_chunks(*, vee_run_id: int) -> list[int]:
    return runs.pending_chunks(VeeRunChunk, run_id=vee_run_id)


def vee_run_begin(*, vee_run_id: int, now: dt.datetime) -> list[int]:
    """Mark the run running; returns the chunks still to do (none for a finished run)."""
    if not VeeRun.objects.filter(pk=vee_run_id, status__in=runs.UNFINISHED).exists():
        return []
    runs.run_begin(VeeRun, run_id=vee_run_id, now=now)
    return vee_run_pending_chunks(vee_run_id=vee_run_id)


def vee_run_resume(*, vee_run_id: int, now: dt.datetime, enqueue=None) -> list[int]:
    """Queue again the chunks not done (failed ones too); `enqueue(numbers)` runs after commit."""
    return runs.run_resume(VeeRunChunk, run_id=vee_run_id, now=now, enqueue=enqueue)


def vee_run_chunk_process(*, vee_run_id: int, chunk: int, now: dt.datetime) -> bool:
    """Run one chunk; False if it was already done (or another worker holds it). Its writes,
    findings, worklist items, done mark and the run's counts commit together."""
    with runs.chunk_claim(VeeRunChunk, run_id=vee_run_id, number=chunk, now=now) as claim:
        if claim is None:
            return False
        run = claim.run
        # As of the run's creation, whenever the chunk runs: intervals that had not happened
        # when the run was asked for are never estimated (and a resumed chunk judges the same).
        outcome = vee_processing.vee_channel_days(channel_ids=claim.chunk.channel_ids, start_date=run.start_date,
                                                  end_date=run.end_date, now=now, vee_run=run, as_of=run.created_at)
        if run.status == VeeRun.Status.QUEUED:  # a chunk run without vee_run_begin (tests, a stray task)
            runs.run_begin(VeeRun, run_id=vee_run_id, now=now)
        claim.add(
            channel_days_validated=outcome.validated, channel_days_changed=outcome.changed,
            intervals_estimated=outcome.estimated, findings_count=outcome.findings, worklist_items=outcome.worklist,
        )
        size, step = claim.chunk.size, run.chunk_size
    # The findings and worklist a run fills: a later chunk looks its days' items up by channel.
    done = VeeRun.objects.values_list("progress_done", flat=True).get(pk=vee_run_id)
    runs.tables_analyze_if_grown([VeeFinding._meta.db_table, VeeWorklistItem._meta.db_table],
                                 before=done - size, after=done, step=step)
    return True


def vee_run_fail(*, vee_run_id: int, error: str, now: dt.datetime) -> None:
    runs.run_fail(VeeRun, run_id=vee_run_id, error=error, now=now)


def vee_run_chunk_fail(*, vee_run_id: int, chunk: int, error: str, now: dt.datetime) -> None:
    """A chunk that cannot be done: it keeps its error and the run fails at once."""
    runs.chunk_fail(VeeRunChunk, run_id=vee_run_id, number=chunk, error=error, now=now)
    vee_run_fail(vee_run_id=vee_run_id, error=error, now=now)


def vee_run_execute(*, vee_run_id: int, now_fn, on_chunk=None) -> VeeRun:
    """Run every pending chunk in this process (the command's --inline, the worklist re-run).
    `now_fn` gives the time for each chunk; `on_chunk(run)` is called after each."""
    for index in vee_run_begin(vee_run_id=vee_run_id, now=now_fn()):
        vee_run_chunk_process(vee_run_id=vee_run_id, chunk=index, now=now_fn())
        if on_chunk:
            on_chunk(VeeRun.objects.get(pk=vee_run_id))
    return VeeRun.objects.get(pk=vee_run_id)


def vee_run_for_import(*, import_run_id: int, now: dt.datetime) -> VeeRun | None:
    """The run over the channel-days an import loaded or corrected (their current version names
    the import), or None when it changed nothing."""
    rows = IntervalDay.objects.filter(import_run_id=import_run_id).values_list("channel_id", "local_date")
    channels, first, last = set(), None, None
    for cid, day in rows.iterator(chunk_size=5000):
        channels.add(cid)
        first = day if first is None or day < first else first
        last = day if last is None or day > last else last
    if not channels or first is None or last is None:
        return None
    return vee_run_create(channel_ids=sorted(channels), start_date=first, end_date=last + DAY,
                          scope=f"import {import_run_id}", now=now)


def import_done_queue_vee(*, import_run_id: int) -> None:
    """Called by the import pipeline when a run finishes: queue VEE over what it touched once
    the import's last chunk is committed."""
    from celery import current_task

    from mdm.tasks import vee_after_import_task

    # Inside the import's chunk task: VEE follows on the queue the import came from, so routing
    # imports to dedicated workers routes their VEE there too.
    request = current_task.request if current_task else None
    queue = ((request.delivery_info or {}).get("routing_key") if request else None) or None
    options: dict[str, Any] = {"queue": queue} if queue else {}
    transaction.on_commit(lambda: vee_after_import_task.apply_async(kwargs={"import_run_id": import_run_id}, **options))
