"""The read import pipeline: file -> ImportRun -> parser -> chunks -> channel-days -> store.

1. `import_run_create` keeps the file and its SHA-256: the same content again makes a run
   that points at the first one (`duplicate_of`) and loads nothing.
2. `import_run_prepare` parses once, quarantines the parser's RecordErrors, and splits the
   records into chunks by meter serial (every channel's data in exactly one chunk, so a
   duplicate interval across records is caught inside one chunk). A chunk keeps its records
   as versioned JSON (mdm.importing.payload) until it is loaded.
3. `import_chunk_load` resolves meter serial + unit + direction + interval length to a
   channel, maps the blocks' intervals onto local-day slots with numpy, and merges them into
   the interval store (mdm.services.intervals) in one transaction that also marks the chunk
   done (core.runs.chunk_claim): a chunk is loaded exactly once however often a worker runs it.

A bad record is quarantined with its file, line and field and never stops the good ones."""
from __future__ import annotations

import contextlib
import datetime as dt
import gc
import hashlib
import itertools
import json
import math
import zoneinfo
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from core.clock import utility_zone
from django.conf import settings
from django.core.files.base import ContentFile, File
from django.db import IntegrityError, connection, transaction

from core import runs
from core.money import to_decimal
from mdm.flags import NOT_PROVIDED, QUALITY_WORDS, Flag
from mdm.importing.payload import payload_as_of, payload_pack, payload_unpack
from mdm.importing.registry import read_file_zone, read_format
from mdm.importing.screen import read_limits, screen_result, value_field
from mdm.interval_store import DEFAULT_DECIMALS, resolution_range, scale_values
from mdm.importing.slots import day_lengths_minutes, epoch_minutes, from_epoch_minutes, locate
from mdm.models import ImportChunk, ImportRun, QuarantinedRecord
from mdm.records import IntervalBlock, ParsedRegisterRead, ParseResult, RecordError
from mdm.services.intervals import MergeCounts, StagedDay, interval_days_merge, interval_partitions_ensure

CHUNK_RECORDS = 2000  # interval blocks + register reads per chunk: ~200k intervals of 15-min days


class ImportRunError(Exception):
    """The run cannot go on (unreadable file, parser crash); the run is marked failed."""


class ImportInputError(ValueError):
    """An upload refused before any run exists (too large, unknown time zone); the message
    says why, fit to show the person who uploaded it."""


def upload_size_check(size: int | None) -> None:
    """Raises ImportInputError for a file above UTILIS_IMPORT_MAX_UPLOAD_BYTES."""
    limit = int(settings.UTILIS_IMPORT_MAX_UPLOAD_BYTES)
    if size is not None and size > limit:
        raise ImportInputError(
            f"The file is {size:,} bytes; the largest accepted upload is {limit:,} bytes "
            f"(UTILIS_IMPORT_MAX_UPLOAD_BYTES). Split it, or import it with manage.py import_reads."
        )


def time_zone_check(name: str) -> str:
    """A read-file time zone name ("" = the setting). Raises ImportInputError for an unknown zone."""
    name = (name or "").strip()
    if not name:
        return ""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ImportInputError(f"Unknown time zone {name!r}: give an IANA name such as America/Toronto or UTC.") from None
    return name


def _digest(content: bytes | File) -> str:
    if isinstance(content, bytes):
        return hashlib.sha256(content).hexdigest()
    sha = hashlib.sha256()
    content.seek(0)
    for piece in content.chunks():
        sha.update(piece)
    content.seek(0)
    return sha.hexdigest()


# ---------------------------------------------------------------------------------------------
# Runs and chunks


def import_run_create(*, content: bytes | File, file_name: str, format: str, now: dt.datetime, user=None,
                      time_zone: str = "") -> ImportRun:
    """Register a file for import (status queued). `content` is the bytes or a Django File
    (an upload: hashed and copied to storage in chunks, never read whole into memory);
    `time_zone` the zone of its offset-less timestamps ("" = UTILIS_READ_FILE_TIME_ZONE).

    The same content (SHA-256) as an earlier run that did not fail gives a new run already
    `done`, with `duplicate_of` set and all counts zero; a failed run never blocks the same
    file again. Raises mdm.importing.registry.UnknownFormatError for a format with no parser,
    ImportInputError for an unknown time zone."""
    read_format(format)
    time_zone = time_zone_check(time_zone)
    digest = _digest(content)
    original = _original_run(digest)
    if original is None:
        try:
            with transaction.atomic():
                run = ImportRun(file_name=file_name[:255], sha256=digest, idempotency_key=digest, format=format,
                                started_by=_user(user), created_at=now, time_zone=time_zone)
                stored = content if isinstance(content, File) else ContentFile(content)
                run.file.save(Path(file_name).name or "import", stored, save=False)
                run.save()
                return run
        except IntegrityError:
            # A parallel upload of the same file won the idempotency key.
            original = _original_run(digest)
            if original is None:
                raise
    return ImportRun.objects.create(
        file_name=file_name[:255], sha256=digest, idempotency_key=digest, format=format, started_by=_user(user),
        created_at=now, status=ImportRun.Status.DONE, duplicate_of=original, started_at=now, finished_at=now,
        time_zone=time_zone,
    )


def _original_run(digest: str) -> ImportRun | None:
    return (
        ImportRun.objects.filter(sha256=digest, duplicate_of__isnull=True)
        .exclude(status=ImportRun.Status.FAILED)
        .order_by("id")
        .first()
    )


def _user(user):
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def import_run_prepare(*, import_run_id: int, now: dt.datetime,
                       on_chunks: Callable[[list[int]], None] | None = None) -> list[int]:
    """Parse the run's file, quarantine the parser's errors and split the records into chunks.

    Returns the indexes of the chunks still to load (all of them the first time; after a
    worker died, the ones it did not finish; none for a finished run).

    The chunk rows are committed PREPARE_BATCH at a time, the first batch together with the
    run's counts and quarantine: `on_chunks(numbers)`, when given, is called after each commit
    with the chunks it made loadable (every returned number exactly once), so workers load the
    first chunks while the rest are still being written. A prepare cut off between batches
    leaves the run with fewer chunk rows than chunks_total; it never closes like that, and the
    next prepare or resume writes the missing rows from the same file and limits.
    Raises ImportRunError (and marks the run failed) when the file cannot be parsed at all."""
    run = ImportRun.objects.get(pk=import_run_id)
    if run.status in (ImportRun.Status.DONE, ImportRun.Status.FAILED):
        return []
    handed = _Handed(on_chunks)
    try:
        if run.chunks_total:
            if _chunk_rows(run.pk) < run.chunks_total:
                _prepare_complete(run)
            pending = _pending_chunks(run.pk)
            if pending:
                handed(pending)
            return pending
        return _prepare(run, now, handed)
    except _HandOffFailed as failed:
        # Queueing failed (the broker is away): the run stays running with its rows so far;
        # the sweeper's resume writes any missing rows and queues what is left.
        cause = failed.__cause__
        raise cause if cause is not None else failed
    except Exception as exc:  # a parser bug, an unreadable file, anything: the run fails, loudly
        import_run_fail(import_run_id=run.pk, error=f"{type(exc).__name__}: {exc}"[:2000], now=now)
        raise ImportRunError(f"{run.file_name}: {exc}") from exc


class _HandOffFailed(Exception):
    """on_chunks raised (its exception is the __cause__): not a reason to fail the run."""


class _Handed:
    def __init__(self, on_chunks: Callable[[list[int]], None] | None):
        self.on_chunks = on_chunks

    def __call__(self, numbers: list[int]) -> None:
        if self.on_chunks is None:
            return
        try:
            self.on_chunks(numbers)
        except Exception as exc:
            raise _HandOffFailed() from exc


# Chunk rows written per commit while preparing (the first batch with the run's counts).
PREPARE_BATCH = 2


def _run_zone(run: ImportRun) -> dt.tzinfo:
    return zoneinfo.ZoneInfo(run.time_zone) if run.time_zone else read_file_zone()


@contextlib.contextmanager
def _collector_paused():
    """Python's cyclic garbage collector off while a parser builds a file's records (hundreds
    of thousands of tuples, no reference cycles): each collection walks the whole growing heap,
    and it cost 25-35 % of a 300,000-meter parse (0.42 against 0.57-0.63 us an interval,
    docs/performance.md). Restored as it was, whatever happens."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _screened(run: ImportRun, now: dt.datetime):
    """The run's file parsed and screened as of `now`: (content, format, result, as_of)."""
    content = _read_content(run)
    fmt = read_format(run.format)
    limits = read_limits(now)
    with _collector_paused():
        parsed = fmt.parse(content, run.file_name, tz=_run_zone(run), limits=limits)
    # A format that reads a record's "as of" (CMEP's header TimeStamp) hands it by source line.
    as_of: dict[int, dt.datetime] = dict(getattr(parsed, "as_of", None) or {})
    raw = _RawLines(run, content)
    late = {line for line, at in as_of.items() if at > limits.latest}
    if late:  # an "as of" in the future would outrank every later correction: not loaded
        parsed.errors.extend(RecordError(line, "TimeStamp", f"Record TimeStamp {limits.time_problem(as_of[line])}.",
                                         raw(line)) for line in sorted(late))
        parsed.intervals = [b for b in parsed.intervals if b.source_line not in late]
        parsed.registers = [r for r in parsed.registers if r.source_line not in late]
    return content, fmt, screen_result(parsed, limits, raw), as_of


def _prepare(run: ImportRun, now: dt.datetime, on_chunks: Callable[[list[int]], None]) -> list[int]:
    import_run_id = run.pk
    content, fmt, result, as_of = _screened(run, now)
    chunks = split_into_chunks(result)
    with transaction.atomic():  # a failure here leaves an outer transaction usable
        _ensure_partitions(result.intervals)
    rows = ((len(b) + len(r), payload_pack(b, r, as_of=_as_of_of(b, as_of))) for b, r in chunks)
    with transaction.atomic():
        run = ImportRun.objects.select_for_update().get(pk=import_run_id)
        if run.chunks_total:  # another worker prepared it meanwhile
            return _pending_chunks(run.pk)
        n_errors = quarantine_errors(run=run, errors=result.errors)
        _chunks_insert(run.pk, itertools.islice(rows, PREPARE_BATCH))
        run.status = ImportRun.Status.RUNNING
        run.started_at = run.started_at or now
        run.progress_at = now
        run.records = len(result.intervals) + len(result.registers) + len(result.errors)
        run.progress_total = len(result.intervals) + len(result.registers)
        run.chunks_total = len(chunks)
        run.quarantined = n_errors
        run.prelude = _escape_text(fmt.prelude(content))
        if not chunks:
            run.status = ImportRun.Status.DONE
            run.finished_at = now
        run.save()
    done = min(PREPARE_BATCH, len(chunks))
    if done:
        on_chunks(list(range(done)))
    while done < len(chunks):
        batch = list(range(done, min(done + PREPARE_BATCH, len(chunks))))
        with transaction.atomic():
            _chunks_insert(run.pk, itertools.islice(rows, len(batch)), first=done)
        on_chunks(batch)
        done += len(batch)
    return list(range(len(chunks)))


def _chunk_rows(run_id: int) -> int:
    return ImportChunk.objects.filter(run_id=run_id).count()


def _prepare_complete(run: ImportRun) -> list[int]:
    """Write the chunk rows a cut-off prepare did not: the file parsed and screened again as of
    the run's start (the first prepare's `now`, so the same records pass the same window) and
    split the same way; rows already there are left as they are. Returns the numbers written."""
    now = run.started_at or run.created_at
    _content, _fmt, result, as_of = _screened(run, now)
    chunks = split_into_chunks(result)
    if len(chunks) != run.chunks_total:  # the file or the parser changed under the run
        raise ImportRunError(f"{run.file_name}: the file now splits into {len(chunks)} chunks, not the run's "
                             f"{run.chunks_total}; import it again as a new run.")
    with transaction.atomic():
        ImportRun.objects.select_for_update().get(pk=run.pk)  # one completer at a time
        have = set(ImportChunk.objects.filter(run_id=run.pk).values_list("number", flat=True))
        missing = [n for n in range(len(chunks)) if n not in have]
        for number in missing:
            b, r = chunks[number]
            _chunks_insert(run.pk, [(len(b) + len(r), payload_pack(b, r, as_of=_as_of_of(b, as_of)))], first=number)
    return missing


def _chunks_insert(run_id: int, chunks: Iterable[tuple[int, dict]], first: int = 0) -> None:
    """The run's ImportChunk rows (size, payload), numbered from `first`, by one COPY. Not
    bulk_create: Django's psycopg cursor binds client-side, and quoting each multi-megabyte
    JSON payload in Python was half of a 10,000-meter prepare (docs/performance.md)."""
    with connection.cursor() as cursor:
        with cursor.cursor.copy("COPY mdm_importchunk (run_id, number, status, size, error, payload) FROM STDIN") as copy:
            for number, (size, payload) in enumerate(chunks, start=first):
                copy.write_row((run_id, number, runs.ChunkStatus.PENDING.value, size, "", json.dumps(payload)))


def _as_of_of(blocks: Sequence[IntervalBlock], as_of: dict[int, dt.datetime]) -> dict[int, dt.datetime]:
    return {b.source_line: as_of[b.source_line] for b in blocks if b.source_line in as_of}


def _pending_chunks(run_id: int) -> list[int]:
    return runs.pending_chunks(ImportChunk, run_id=run_id)


def import_run_fail(*, import_run_id: int, error: str, now: dt.datetime) -> None:
    runs.run_fail(ImportRun, run_id=import_run_id, error=error, now=now)


def import_chunk_fail(*, import_run_id: int, chunk: int, error: str, now: dt.datetime) -> None:
    """A chunk that cannot load: the chunk keeps its error and the run fails at once (its other
    chunks still load; resume the run once the cause is fixed)."""
    runs.chunk_fail(ImportChunk, run_id=import_run_id, number=chunk, error=error, now=now)
    import_run_fail(import_run_id=import_run_id, error=error, now=now)


def import_run_resume(*, import_run_id: int, now: dt.datetime, enqueue=None) -> list[int]:
    """Queue again the chunks of a prepared run not loaded yet (core.runs.run_resume), after
    writing the chunk rows a prepare cut off between batches did not; `enqueue(numbers)` runs
    after commit. Returns the chunk numbers. Raises ImportRunError when the rows cannot be
    written again (the file no longer splits as it did; the run is marked failed)."""
    run = ImportRun.objects.get(pk=import_run_id)
    if run.chunks_total and run.status in (ImportRun.Status.RUNNING, ImportRun.Status.FAILED) \
            and _chunk_rows(run.pk) < run.chunks_total:
        try:
            _prepare_complete(run)
        except Exception as exc:
            import_run_fail(import_run_id=run.pk, error=f"{type(exc).__name__}: {exc}"[:2000], now=now)
            if isinstance(exc, ImportRunError):
                raise
            raise ImportRunError(f"{run.file_name}: {exc}") from exc
    return runs.run_resume(ImportChunk, run_id=import_run_id, now=now, enqueue=enqueue)


def import_chunk_load(*, import_run_id: int, chunk: int, now: dt.datetime) -> bool:
    """Load one chunk of a prepared run; returns False if it was already loaded (or another
    worker is loading it right now).

    The data, the chunk's DONE mark and the run's counts commit together. Raises
    django.db.IntegrityError / OperationalError when a concurrent load of the same days got
    there first (retry the chunk), PayloadFormatError for a payload of an unknown format."""
    with runs.chunk_claim(ImportChunk, run_id=import_run_id, number=chunk, now=now, clear=("payload",)) as claim:
        if claim is None:
            return False
        run = claim.run
        blocks, registers = payload_unpack(claim.chunk.payload)
        outcome = load_records(run=run, blocks=blocks, registers=registers, now=now,
                               as_of=payload_as_of(claim.chunk.payload))
        n_errors = quarantine_errors(run=run, errors=outcome.errors)
        claim.add(
            intervals_loaded=outcome.merge.loaded, intervals_unchanged=outcome.merge.unchanged,
            intervals_corrected=outcome.merge.corrected, registers_loaded=outcome.registers_loaded,
            quarantined=n_errors,
        )
    # VEE over what this import touched (UTILIS_VEE_AFTER_IMPORT=false turns it off, e.g. for
    # bench), queued once the chunk that closed the run has committed.
    if claim.closed == ImportRun.Status.DONE and getattr(settings, "UTILIS_VEE_AFTER_IMPORT", True):
        from mdm.services.vee_runs import import_done_queue_vee

        import_done_queue_vee(import_run_id=import_run_id)
    return True


def import_file(source: str | Path | bytes, *, format: str, now: dt.datetime, file_name: str | None = None,
                user=None, on_chunk: Callable[[int, int], None] | None = None, time_zone: str = "") -> ImportRun:
    """Import a file here and now (management command, tests, quarantine resubmits).

    The same file again adds nothing; if its earlier import was cut off, this finishes it.
    `on_chunk(records_done_in_chunk, records_total)` is called after each chunk. Raises
    ImportRunError when the file cannot be parsed at all, UnknownFormatError for a bad format."""
    if isinstance(source, bytes):
        content, name = source, file_name or "upload"
    else:
        content, name = Path(source).read_bytes(), file_name or Path(source).name
    unfinished = _original_run(hashlib.sha256(content).hexdigest())
    if unfinished is not None and unfinished.status in (ImportRun.Status.QUEUED, ImportRun.Status.RUNNING):
        # The same file's import was cut off (a killed command): finish that run instead of
        # answering "already imported" with half of it loaded. Chunks already loaded are skipped.
        run = unfinished
    else:
        run = import_run_create(content=content, file_name=name, format=format, now=now, user=user,
                                time_zone=time_zone)
        if run.duplicate_of_id:
            return run
    pending = import_run_prepare(import_run_id=run.pk, now=now)  # fails the run itself
    sizes = dict(ImportChunk.objects.filter(run=run).values_list("number", "size"))
    total = sum(sizes.values())
    try:
        for index in pending:
            import_chunk_load(import_run_id=run.pk, chunk=index, now=now)
            if on_chunk:
                on_chunk(sizes[index], total)
    except Exception as exc:
        if not connection.in_atomic_block:
            import_run_fail(import_run_id=run.pk, error=f"{type(exc).__name__}: {exc}", now=now)
        raise
    run.refresh_from_db()
    return run


# ---------------------------------------------------------------------------------------------
# Splitting and packing


def split_into_chunks(result: ParseResult, size: int | None = None) -> list[tuple[list, list]]:
    """Records grouped by meter serial, cut into chunks of about `size` (CHUNK_RECORDS)
    records at serial boundaries; each serial's records stay together and in file order."""
    size = size or CHUNK_RECORDS
    by_serial: dict[str, tuple[list, list]] = defaultdict(lambda: ([], []))
    for block in result.intervals:
        by_serial[block.meter_serial][0].append(block)
    for read in result.registers:
        by_serial[read.meter_serial][1].append(read)
    chunks: list[tuple[list, list]] = []
    blocks: list = []
    reads: list = []
    for serial in sorted(by_serial):
        b, r = by_serial[serial]
        blocks.extend(b)
        reads.extend(r)
        if len(blocks) + len(reads) >= size:
            chunks.append((blocks, reads))
            blocks, reads = [], []
    if blocks or reads:
        chunks.append((blocks, reads))
    return chunks


def _read_content(run: ImportRun) -> bytes:
    with run.file.open("rb") as fh:
        return fh.read()


def _ensure_partitions(blocks: Sequence[IntervalBlock]) -> None:
    if not blocks:
        return
    tz = utility_zone()
    first = min(b.first_end_at for b in blocks) - dt.timedelta(minutes=60)
    last = max(b.first_end_at + dt.timedelta(minutes=b.interval_minutes * len(b.values)) for b in blocks)
    start, end = first.astimezone(tz).date().replace(day=1), last.astimezone(tz).date()
    months = []
    while start <= end:
        months.append(start)
        start = (start + dt.timedelta(days=32)).replace(day=1)
    interval_partitions_ensure(dates=months)


# ---------------------------------------------------------------------------------------------
# Loading records


@dataclass
class LoadOutcome:
    merge: MergeCounts = field(default_factory=MergeCounts)
    registers_loaded: int = 0
    errors: list[RecordError] = field(default_factory=list)


@dataclass(frozen=True)
class _ChannelRow:
    id: int
    unit: str
    direction: str
    interval_minutes: int | None
    decimals: int = DEFAULT_DECIMALS  # resolution_decimals: what the store keeps of its values


_CONTROL = {i: f"\\x{i:02x}" for i in [*range(0, 9), 11, 12, *range(14, 32), 127]}


def _escape_text(text: str) -> str:
    """Text PostgreSQL can store and a person can read: NUL and the other control characters
    (tab and line breaks excepted) shown as \\xNN, as bytes that are not UTF-8 are."""
    return text.translate(_CONTROL)


def raw_lines(content: bytes) -> list[str]:
    """The file's lines as stored in the quarantine: bytes that are not UTF-8 as \\xNN."""
    if content.startswith(b"\xef\xbb\xbf"):
        content = content[3:]
    return [_escape_text(line.decode("utf-8", errors="backslashreplace").rstrip("\r"))
            for line in content.split(b"\n")]


class _RawLines:
    """The file's text lines, read only if a record has to be quarantined."""

    def __init__(self, run: ImportRun, content: bytes | None = None):
        self.run = run
        self._content = content
        self._lines: list[str] | None = None

    def __call__(self, line: int) -> str:
        if self._lines is None:
            try:
                self._lines = raw_lines(self._content if self._content is not None else _read_content(self.run))
            except (ValueError, OSError):
                self._lines = []
        return self._lines[line - 1] if 0 < line <= len(self._lines) else ""


@dataclass(frozen=True)
class PlannedRegisterRead:
    """A register read resolved to its channel, to be inserted (ON CONFLICT DO NOTHING)."""

    channel_id: int
    read_at: dt.datetime
    value: Decimal
    read_type: str
    read: ParsedRegisterRead


@dataclass(frozen=True)
class ImportPlan:
    """What one chunk's records load: the channel-days to merge, the register reads to insert,
    and the records that cannot load (quarantined)."""

    days: tuple[StagedDay, ...]
    registers: tuple[PlannedRegisterRead, ...]
    errors: tuple[RecordError, ...]


def load_records(*, run: ImportRun, blocks: Sequence[IntervalBlock], registers: Sequence[ParsedRegisterRead],
                 now: dt.datetime, as_of: dict[int, dt.datetime] | None = None) -> LoadOutcome:
    """Resolve channels, map intervals onto local-day slots and merge them; store register
    reads. Bad records come back as RecordErrors; the good ones are loaded.

    fetch (`_channels_for`: the meters' channels, one query) -> plan (`plan_records`: pure
    numpy, no ORM) -> write (`write_records`: the COPY-and-merge and the register insert)."""
    raw = _RawLines(run)
    channels = _channels_for({b.meter_serial for b in blocks} | {r.meter_serial for r in registers})
    tz = utility_zone()
    plan = plan_records(blocks=blocks, registers=registers, channels=channels, tz=tz, raw=raw,
                        value_field=value_field(run.format))
    if not as_of:
        return write_records(run=run, plan=plan, now=now, raw=raw)
    return _write_with_as_of(run=run, plan=plan, now=now, raw=raw, blocks=blocks, channels=channels,
                             as_of=as_of, tz=tz)


def _block_days(block: IntervalBlock, tz: dt.tzinfo) -> list[dt.date]:
    first = (block.first_end_at - dt.timedelta(minutes=block.interval_minutes)).astimezone(tz).date()
    last = (block.first_end_at + dt.timedelta(minutes=block.interval_minutes * (len(block.values) - 1))
            - dt.timedelta(minutes=1)).astimezone(tz).date()
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def _write_with_as_of(*, run: ImportRun, plan: ImportPlan, now: dt.datetime, raw: Callable[[int], str],
                      blocks: Sequence[IntervalBlock], channels: dict[str, list[_ChannelRow]],
                      as_of: dict[int, dt.datetime], tz: dt.tzinfo) -> LoadOutcome:
    """The merge when records carry an "as of": a day stored as of a later time than the
    incoming records only has its missing slots filled (an older record never replaces a
    newer one); each record whose values were refused is quarantined naming both times."""
    incoming: dict[tuple[int, dt.date], dt.datetime] = {}
    lines_of: dict[tuple[int, dt.date], list[int]] = defaultdict(list)
    for block in blocks:
        stamp = as_of.get(block.source_line)
        channel_id, error = _interval_channel(channels, block)
        if stamp is None or error or channel_id is None:
            continue
        for day in _block_days(block, tz):
            key = (channel_id, day)
            lines_of[key].append(block.source_line)
            if key not in incoming or stamp > incoming[key]:
                incoming[key] = stamp
    stored: dict[tuple[int, dt.date], dt.datetime] = {}
    if incoming:
        with connection.cursor() as cursor:
            keys = list(incoming)
            cursor.execute(
                """
                SELECT a.channel_id, a.local_date, a.as_of FROM mdm_intervaldayasof a
                JOIN unnest(%s::bigint[], %s::date[]) AS u(channel_id, local_date)
                  ON a.channel_id = u.channel_id AND a.local_date = u.local_date
                """,
                [[k[0] for k in keys], [k[1] for k in keys]],
            )
            stored = {(c, d): at for c, d, at in cursor.fetchall()}
    older = {key for key, stamp in incoming.items() if key in stored and stored[key] > stamp}
    outcome = LoadOutcome(errors=list(plan.errors))
    outcome.merge = interval_days_merge(days=plan.days, now=now, import_run_id=run.pk,
                                        reason=f"import {run.pk}: {run.file_name}"[:200], fill_only=older)
    outcome.registers_loaded = _insert_registers(run, plan.registers, outcome.errors, raw, now)
    for key in outcome.merge.refused_days:
        for line in sorted(set(lines_of.get(key, ()))):
            stamp = as_of[line]
            outcome.errors.append(RecordError(
                line, "TimeStamp",
                f"Record as of {stamp:%Y-%m-%d %H:%M}Z is older than the stored data of {key[1]} (as of "
                f"{stored[key]:%Y-%m-%d %H:%M}Z): its differing values were not loaded, the newer ones kept.",
                raw(line),
            ))
    newer = [(key, stamp) for key, stamp in incoming.items() if key not in older]
    if newer:
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO mdm_intervaldayasof (channel_id, local_date, as_of)
                SELECT * FROM unnest(%s::bigint[], %s::date[], %s::timestamptz[])
                ON CONFLICT (channel_id, local_date) DO UPDATE SET as_of = greatest(mdm_intervaldayasof.as_of, excluded.as_of)
                """,
                [[k[0] for k, _ in newer], [k[1] for k, _ in newer], [s for _, s in newer]],
            )
    return outcome


def plan_records(*, blocks: Sequence[IntervalBlock], registers: Sequence[ParsedRegisterRead],
                 channels: dict[str, list[_ChannelRow]], tz: dt.tzinfo,
                 raw: Callable[[int], str] = lambda line: "", value_field: str = "Value") -> ImportPlan:
    """Pure: each block resolved to its channel (or an error), the accepted intervals laid out
    as channel-days (`stage_blocks`, which also refuses values the channel's resolution does
    not store exactly), the register reads resolved and checked. `raw(line)` gives a
    quarantined record's source line; `value_field` the format's name of a value field."""
    errors: list[RecordError] = []
    accepted: list[tuple[IntervalBlock, int]] = []
    for block in blocks:  # one step per record; the intervals are handled as arrays below
        channel_id, error = _interval_channel(channels, block)
        if error:
            errors.append(RecordError(block.source_line, error[0], error[1], raw(block.source_line)))
        else:
            accepted.append((block, channel_id))
    decimals = {c.id: c.decimals for chans in channels.values() for c in chans}
    days, stage_errors = stage_blocks(accepted, tz=tz, raw=raw, decimals=decimals, value_field=value_field)
    errors.extend(stage_errors)
    reads = _plan_registers(registers, channels, errors, raw)
    return ImportPlan(days=tuple(days), registers=tuple(reads), errors=tuple(errors))


def write_records(*, run: ImportRun, plan: ImportPlan, now: dt.datetime,
                  raw: Callable[[int], str] = lambda line: "") -> LoadOutcome:
    """Merge the planned days into the store and insert the register reads; a read already
    stored with another value comes back as an error."""
    outcome = LoadOutcome(errors=list(plan.errors))
    outcome.merge = interval_days_merge(days=plan.days, now=now, import_run_id=run.pk,
                                        reason=f"import {run.pk}: {run.file_name}"[:200])
    outcome.registers_loaded = _insert_registers(run, plan.registers, outcome.errors, raw, now)
    return outcome


def _channels_for(serials: set[str]) -> dict[str, list[_ChannelRow]]:
    """Every known serial maps to its channels (an empty list for a meter with none).

    The serials go to PostgreSQL as ONE text parameter split there: as 2,000 separate IN
    parameters, interpolating and parsing the query cost more than running it."""
    found: dict[str, list[_ChannelRow]] = {}
    if not serials:
        return found
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT m.serial_number, c.id, c.unit, c.direction, c.interval_minutes, c.resolution_decimals
            FROM mdm_meter m LEFT JOIN mdm_channel c ON c.meter_id = m.id
            WHERE m.serial_number = ANY(string_to_array(%s, %s))
            """,
            [_SERIAL_SEPARATOR.join(serials), _SERIAL_SEPARATOR],
        )
        for serial, cid, unit, direction, minutes, decimals in cursor.fetchall():
            chans = found.setdefault(serial, [])
            if cid is not None:
                chans.append(_ChannelRow(cid, unit, direction, minutes, decimals))
    return found


# ASCII unit separator: no serial number contains it (the formats are line- and comma-based)
_SERIAL_SEPARATOR = "\x1f"


def _interval_channel(channels: dict[str, list[_ChannelRow]], block: IntervalBlock):
    chans = channels.get(block.meter_serial)
    if chans is None:
        return None, ("MeterID", f"Unknown meter {block.meter_serial!r}.")
    same_unit = [c for c in chans if c.unit == block.unit and c.direction == block.direction]
    if not same_unit:
        return None, ("Units", f"Meter {block.meter_serial} has no {block.unit} {block.direction} channel.")
    exact = [c for c in same_unit if c.interval_minutes == block.interval_minutes]
    if not exact:
        lengths = ", ".join(f"{c.interval_minutes} min" if c.interval_minutes else "register only" for c in same_unit)
        return None, ("Interval", f"Meter {block.meter_serial} {block.unit} {block.direction} records {lengths}, "
                                  f"not {block.interval_minutes}-minute intervals.")
    return exact[0].id, None


def _quality_flags(block: IntervalBlock) -> np.ndarray:
    if not block.qualities:
        return np.zeros(len(block.values), dtype=np.int16)
    words, inverse = np.unique(np.asarray(block.qualities, dtype=object).astype(str), return_inverse=True)
    codes = np.array([QUALITY_WORDS.get(w.lower(), Flag.ACTUAL) for w in words], dtype=np.int16)
    return codes[inverse]


@dataclass(frozen=True)
class _Intervals:
    """Every interval of the accepted blocks as flat arrays, located on local-day slots."""

    blk: np.ndarray  # block of each interval
    chan: np.ndarray  # channel id
    step: np.ndarray  # interval minutes
    starts: np.ndarray  # UTC start, epoch minutes
    values: np.ndarray
    flags: np.ndarray
    days: list[dt.date]  # the distinct local days
    day_idx: np.ndarray  # index into days
    day_len: np.ndarray  # minutes in each of days
    offset: np.ndarray  # minutes after local midnight


def stage_blocks(accepted: Sequence[tuple[IntervalBlock, int]], *, tz: dt.tzinfo,
                 raw: Callable[[int], str] = lambda line: "", decimals: Mapping[int, int] | None = None,
                 value_field: str = "Value") -> tuple[list[StagedDay], list[RecordError]]:
    """Interval blocks (already resolved to channel ids) -> one StagedDay per channel and local
    day, vectorised over all intervals of all blocks. Also returns the intervals that cannot
    load: not on the local day's interval grid ("Interval"), a value the channel cannot store
    exactly at its resolution (`decimals`: channel id -> resolution_decimals, default 3; with
    more decimals or beyond the int4 range: `value_field`; never rounded), or the same
    interval given twice with different values ("Value": the first occurrence in file order
    is kept). Pure."""
    if not accepted:
        return [], []
    blocks = [b for b, _ in accepted]
    iv = _intervals(accepted, tz)
    if iv is None:
        return [], []
    errors: list[RecordError] = []
    on_grid = _on_grid(iv, blocks, errors, raw)
    storable = _storable(iv, on_grid, blocks, decimals or {}, errors, raw, value_field)
    keep = _drop_repeats(iv, storable, blocks, errors, raw)
    return _channel_days(iv, keep), errors


def _intervals(accepted: Sequence[tuple[IntervalBlock, int]], tz: dt.tzinfo) -> _Intervals | None:
    blocks = [b for b, _ in accepted]
    counts = np.fromiter((len(b.values) for b in blocks), dtype=np.int64, count=len(blocks))
    total = int(counts.sum())
    if total == 0:
        return None
    minutes = np.fromiter((b.interval_minutes for b in blocks), dtype=np.int64, count=len(blocks))
    first_start = np.fromiter((epoch_minutes(b.first_end_at) for b in blocks), dtype=np.int64, count=len(blocks)) - minutes
    chan_of_block = np.fromiter((c for _, c in accepted), dtype=np.int64, count=len(blocks))

    blk = np.repeat(np.arange(len(blocks)), counts)
    pos = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    step = minutes[blk]
    starts = first_start[blk] + pos * step
    values = np.fromiter(itertools.chain.from_iterable(b.values for b in blocks), dtype=np.float64, count=total)
    flags = np.concatenate([_quality_flags(b) for b in blocks])
    flags[np.isnan(values)] = Flag.MISSING
    days, day_idx, offset = locate(starts, tz)
    return _Intervals(blk, chan_of_block[blk], step, starts, values, flags, days, day_idx,
                      day_lengths_minutes(days, tz), offset)


def _on_grid(iv: _Intervals, blocks: Sequence[IntervalBlock], errors: list[RecordError],
             raw: Callable[[int], str]) -> np.ndarray:
    """Indexes of the intervals on their local day's grid; one error per block with any off it."""
    off_grid = iv.offset % iv.step != 0
    for b in np.unique(iv.blk[off_grid]):
        block = blocks[b]
        first_bad = int(np.flatnonzero(off_grid & (iv.blk == b))[0])
        errors.append(RecordError(
            block.source_line, "Interval",
            f"Interval ending {from_epoch_minutes(iv.starts[first_bad] + iv.step[first_bad]):%Y-%m-%d %H:%M}Z is not "
            f"on the {block.interval_minutes}-minute grid of the local day.", raw(block.source_line),
        ))
    return np.flatnonzero(~off_grid)


def _storable(iv: _Intervals, idx: np.ndarray, blocks: Sequence[IntervalBlock], decimals: Mapping[int, int],
              errors: list[RecordError], raw: Callable[[int], str], value_field: str) -> np.ndarray:
    """Of `idx`, the intervals whose value the channel stores exactly at its resolution (NaN,
    no value, always); one error per block with any other, whose good intervals still load."""
    chans, inverse = np.unique(iv.chan[idx], return_inverse=True)
    dec = np.array([decimals.get(int(c), DEFAULT_DECIMALS) for c in chans], dtype=np.int64)[inverse]
    _, bad = scale_values(iv.values[idx], dec)
    if not bad.any():
        return idx
    for b in np.unique(iv.blk[idx[bad]]):
        block = blocks[b]
        in_block = bad & (iv.blk[idx] == b)
        first = int(np.flatnonzero(in_block)[0])
        errors.append(RecordError(
            block.source_line, value_field,
            f"Interval value {float(iv.values[idx[first]])!r} {block.unit} cannot be stored at the channel's resolution "
            f"({resolution_range(int(dec[first]))}); {int(in_block.sum())} of {len(block.values)} intervals of this "
            "record not loaded.", raw(block.source_line),
        ))
    return idx[~bad]


def _drop_repeats(iv: _Intervals, idx: np.ndarray, blocks: Sequence[IntervalBlock], errors: list[RecordError],
                  raw: Callable[[int], str]) -> np.ndarray:
    """Sort by (channel, day, slot, position in file); an interval equal to its predecessor's
    key is a repeat: dropped if it says the same, an error if it says something else. Returns
    the kept intervals, sorted."""
    slot = iv.offset // iv.step
    values, flags, blk = iv.values, iv.flags, iv.blk
    order = idx[np.lexsort((idx, slot[idx], iv.day_idx[idx], iv.chan[idx]))]
    c, d, s = iv.chan[order], iv.day_idx[order], slot[order]
    repeat = np.zeros(len(order), dtype=bool)
    repeat[1:] = (c[1:] == c[:-1]) & (d[1:] == d[:-1]) & (s[1:] == s[:-1])
    run_head = np.maximum.accumulate(np.where(repeat, 0, np.arange(len(order))))
    first = order[run_head]
    v, fv = values[order], values[first]
    same = ((v == fv) | (np.isnan(v) & np.isnan(fv))) & (flags[order] == flags[first])
    conflict = repeat & ~same
    if conflict.any():
        seen: set[int] = set()
        for k in np.flatnonzero(conflict):
            b = int(blk[order[k]])
            if b in seen:
                continue
            seen.add(b)
            block, other = blocks[b], blocks[int(blk[first[k]])]
            end = from_epoch_minutes(iv.starts[order[k]] + iv.step[order[k]])
            errors.append(RecordError(
                block.source_line, "Value",
                f"Interval ending {end:%Y-%m-%d %H:%M}Z is {values[order[k]]:g} here but {values[first[k]]:g} "
                f"on line {other.source_line} of the same file.", raw(block.source_line),
            ))
    return order[~repeat]


def _channel_days(iv: _Intervals, keep: np.ndarray) -> list[StagedDay]:
    """One row per (channel, local day): kept intervals are sorted, so groups are contiguous."""
    if not len(keep):
        return []
    slot = iv.offset // iv.step
    c, d = iv.chan[keep], iv.day_idx[keep]
    starts_group = np.ones(len(keep), dtype=bool)
    starts_group[1:] = (c[1:] != c[:-1]) | (d[1:] != d[:-1])
    group = np.cumsum(starts_group) - 1
    heads = keep[starts_group]
    n_slots = iv.day_len[iv.day_idx[heads]] // iv.step[heads]
    width = int(n_slots.max())
    mat_v = np.full((len(heads), width), np.nan)
    mat_f = np.full((len(heads), width), NOT_PROVIDED, dtype=np.int16)
    mat_v[group, slot[keep]] = iv.values[keep]
    mat_f[group, slot[keep]] = iv.flags[keep]
    return [
        StagedDay(int(iv.chan[h]), iv.days[int(iv.day_idx[h])], int(iv.step[h]), mat_v[g, : n_slots[g]],
                  mat_f[g, : n_slots[g]])
        for g, h in enumerate(heads)
    ]


def _plan_registers(reads: Sequence[ParsedRegisterRead], channels: dict[str, list[_ChannelRow]],
                    errors: list[RecordError], raw: Callable[[int], str]) -> list[PlannedRegisterRead]:
    planned: list[PlannedRegisterRead] = []
    for read in reads:
        chans = channels.get(read.meter_serial)
        if chans is None:
            errors.append(RecordError(read.source_line, "MeterID", f"Unknown meter {read.meter_serial!r}.", raw(read.source_line)))
            continue
        same_unit = [c for c in chans if c.unit == read.unit and c.direction == read.direction]
        if not same_unit:
            errors.append(RecordError(read.source_line, "Units",
                                      f"Meter {read.meter_serial} has no {read.unit} {read.direction} register.",
                                      raw(read.source_line)))
            continue
        if not math.isfinite(read.value):
            errors.append(RecordError(read.source_line, "Value", f"Register value {read.value!r} is not a number.",
                                      raw(read.source_line)))
            continue
        # A register-only channel takes register reads; else the interval channel's register.
        same_unit.sort(key=lambda ch: ch.interval_minutes is not None)
        planned.append(PlannedRegisterRead(same_unit[0].id, read.read_at, to_decimal(read.value), read.read_type, read))
    return planned


def _insert_registers(run: ImportRun, planned: Sequence[PlannedRegisterRead], errors: list[RecordError],
                      raw: Callable[[int], str], now: dt.datetime) -> int:
    if not planned:
        return 0
    kept = [p.read for p in planned]
    params: list[list[Any]] = [[p.channel_id for p in planned], [p.read_at for p in planned], [p.value for p in planned],
              [p.read_type for p in planned]]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO mdm_registerread (channel_id, read_at, value, read_type, import_run_id, created_at)
            SELECT u.channel_id, u.read_at, u.value, u.read_type, %s, %s
            FROM unnest(%s::bigint[], %s::timestamptz[], %s::numeric[], %s::text[]) AS u(channel_id, read_at, value, read_type)
            ON CONFLICT (channel_id, read_at, read_type) DO NOTHING
            """,
            [run.pk, now, *params],
        )
        inserted = cursor.rowcount
        # A read already stored with ANOTHER value is not overwritten silently: a register read
        # is a billing fact, so the new value waits in the quarantine for a person to decide.
        cursor.execute(
            """
            SELECT u.ord, r.value, r.import_run_id
            FROM unnest(%s::bigint[], %s::timestamptz[], %s::numeric[], %s::text[])
                 WITH ORDINALITY AS u(channel_id, read_at, value, read_type, ord)
            JOIN mdm_registerread r
              ON r.channel_id = u.channel_id AND r.read_at = u.read_at AND r.read_type = u.read_type
            WHERE r.value <> round(u.value, 4)
            """,
            params,
        )
        for ordinal, stored, stored_run in cursor.fetchall():
            read = kept[ordinal - 1]
            source = f"import {stored_run}" if stored_run else "entered by hand"
            errors.append(RecordError(
                read.source_line, "Value",
                f"Register read of {read.read_at:%Y-%m-%d %H:%M}Z is already stored as {stored.normalize()} ({source}); "
                f"this file says {read.value:g}.", raw(read.source_line),
            ))
    return inserted


def _fingerprint(fmt: str, error: RecordError) -> str:
    text = "\x1f".join((fmt, error.field, error.message, error.raw.rstrip("\r\n")))
    return hashlib.sha256(text.encode("utf-8", errors="backslashreplace")).hexdigest()


def quarantine_errors(*, run: ImportRun, errors: Sequence[RecordError]) -> int:
    """Quarantine the records; one already quarantined (the same format, field, message and
    raw record, from any run: a replayed file, a copy with other line endings) is not
    quarantined again. Text is stored escaped (NUL and control characters as \\xNN).
    Returns how many were quarantined."""
    rows: dict[str, QuarantinedRecord] = {}
    for e in errors:
        error = RecordError(max(int(e.line), 0), _escape_text(e.field), _escape_text(e.message), _escape_text(e.raw))
        digest = _fingerprint(run.format, error)
        rows.setdefault(digest, QuarantinedRecord(
            import_run=run, file_name=_escape_text(run.file_name), line=error.line, field=error.field[:50],
            message=error.message, raw=error.raw, fingerprint=digest,
        ))
    if not rows:
        return 0
    known = set(QuarantinedRecord.objects.filter(fingerprint__in=list(rows)).values_list("fingerprint", flat=True))
    fresh = [row for digest, row in rows.items() if digest not in known]
    QuarantinedRecord.objects.bulk_create(fresh)
    return len(fresh)


def import_run_submit(*, content: bytes | File, file_name: str, format: str, now: dt.datetime, user=None,
                      time_zone: str = "") -> ImportRun:
    """Register an uploaded file and hand it to the Celery workers once the run is committed
    (a duplicate of an earlier file is answered at once and queues nothing).

    Raises UnknownFormatError for a format with no parser, ImportInputError for a file above
    UTILIS_IMPORT_MAX_UPLOAD_BYTES or an unknown time zone."""
    upload_size_check(len(content) if isinstance(content, bytes) else content.size)
    run = import_run_create(content=content, file_name=file_name, format=format, now=now, user=user,
                            time_zone=time_zone)
    if not run.duplicate_of_id:
        from mdm.tasks import import_file_task

        transaction.on_commit(lambda: import_file_task.delay(import_run_id=run.pk))
    return run
