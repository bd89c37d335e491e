"""Writes to the interval store: partitions, the COPY-and-merge load, versioned replacement
(VEE and manual edits), billed-through dates and replacement-read notices.

Every change to an existing channel-day first copies the row to mdm_interval_day_version, so
any past state can be shown. All of it is set-based SQL over a temp staging table filled by
psycopg 3 COPY: no per-row ORM saves."""
from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from core.clock import utility_zone
from django.conf import settings
from django.db import connection, transaction

from mdm.flags import NOT_PROVIDED, Flag
from mdm.interval_store import COPY_HEADER, COPY_TRAILER, IntervalEncodingError, copy_rows  # noqa: F401 - raised here
from mdm.models import BilledThrough


class IntervalLayoutError(ValueError):
    """Incoming and stored days of a channel do not have the same slots."""


@dataclass(frozen=True)
class StagedDay:
    """One channel-day of incoming values: `flags[i] == NOT_PROVIDED` where the source said
    nothing about slot i. Arrays are the full local day (92/96/100 quarter hours...)."""

    channel_id: int
    local_date: dt.date
    interval_minutes: int
    values: np.ndarray
    flags: np.ndarray


@dataclass
class MergeCounts:
    loaded: int = 0  # values that were new (new day or a missing slot filled); "missing" markers are no value
    unchanged: int = 0  # slots that already held the same value (or a person's edit)
    corrected: int = 0  # slots whose value changed: a new version
    days_inserted: int = 0
    days_versioned: int = 0
    notices: int = 0
    refused: int = 0  # slots an older record would have replaced (fill_only days): not taken
    refused_days: list[tuple[int, dt.date]] = field(default_factory=list)

    def add(self, other: MergeCounts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def interval_partitions_ensure(*, dates: Iterable[dt.date]) -> list[str]:
    """Create the monthly partitions holding `dates` (one call per distinct month).

    Raises ValueError for a month whose partition bounds a date cannot hold (year 1, year
    9999): the import's plausibility screen keeps such dates out, this is the last guard."""
    months = sorted({d.replace(day=1) for d in dates})
    if months and (months[0].year < 2 or months[-1].year > 9998):
        raise ValueError(f"No interval partition for {months[0] if months[0].year < 2 else months[-1]}: "
                         "the date is outside any storable range.")
    names = []
    with connection.cursor() as cursor:
        for month in months:
            cursor.execute("SELECT mdm_interval_partition_ensure(%s)", [month])
            names.append(cursor.fetchone()[0])
    return names


_STAGE_DDL = """
CREATE TEMP TABLE IF NOT EXISTS mdm_stage_day (
    channel_id bigint NOT NULL,
    local_date date NOT NULL,
    interval_minutes smallint NOT NULL,
    decimals smallint NOT NULL,
    vals int4[] NOT NULL,
    flags bytea NOT NULL,
    provided integer NOT NULL,
    is_new boolean NOT NULL DEFAULT false,
    fill_only boolean NOT NULL DEFAULT false
) ON COMMIT DROP
"""


def channel_resolutions(channel_ids: Iterable[int]) -> dict[int, int]:
    """{channel id: resolution_decimals}, one query."""
    ids = sorted({int(c) for c in channel_ids})
    if not ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, resolution_decimals FROM mdm_channel WHERE id = ANY(%s::bigint[])", [ids])
        return {int(c): int(d) for c, d in cursor.fetchall()}


def _stage(days: Sequence[StagedDay], *, round_values: bool = False) -> None:
    """COPY the days into the session's staging table, encoded at each channel's resolution
    (mdm.interval_store: int4 scaled values, one byte a flag; NOT_PROVIDED staged as MISSING).
    Raises IntervalEncodingError for a value the channel cannot store (exactly, unless
    `round_values`).

    Binary COPY whose rows numpy lays out in one go per slot count (92/96/100...; the layout is
    mdm.interval_store's, the codec the reader decodes with): no Python step per value. Text built with str.join per array was most of a fresh import's time
    (20,000 96-slot days: 2.6 s, of which PostgreSQL needed 0.4 s)."""
    decimals = channel_resolutions(d.channel_id for d in days)
    with connection.cursor() as cursor:
        cursor.execute(_STAGE_DDL)
        cursor.execute("TRUNCATE mdm_stage_day")
        raw = cursor.cursor  # the psycopg 3 cursor under Django's wrapper
        with raw.copy(
            "COPY mdm_stage_day (channel_id, local_date, interval_minutes, decimals, vals, flags, provided)"
            " FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.write(COPY_HEADER)
            for chunk in copy_rows(days, decimals, round_values=round_values):
                copy.write(chunk)
            copy.write(COPY_TRAILER)
        cursor.execute("ANALYZE mdm_stage_day")


# The per-slot merge rule (counts are of values given: a "missing" marker is not one). A slot is taken from the file when the file provides a value
# (not NOT_PROVIDED, not the head-end's own "missing") and the stored slot is not a person's
# edit, and the stored slot is missing, or differs in value, or holds the same value with
# another head-end quality (actual <-> estimated by the head-end). The same value under a flag
# VEE set (failed validation, a VEE estimate) is the value already stored: a replayed file
# changes nothing. On a fill_only day (the stored day is newer than the incoming record) only
# missing slots are taken; the others it would have replaced are counted as refused. Values
# compare as the stored integers (both sides at the same resolution: checked before), flags
# are bytes (get_byte), and the new flags are assembled back into one bytea per day.
_HEAD_END_FLAGS = f"({int(Flag.ACTUAL)}, {int(Flag.ESTIMATED_HEAD_END)})"
_MERGE = f"""
CREATE TEMP TABLE mdm_stage_merge ON COMMIT DROP AS
SELECT s.channel_id, s.local_date, s.decimals, m.new_vals, m.new_flags, m.filled, m.corrected, m.unchanged, m.refused
FROM mdm_stage_day s
JOIN mdm_interval_day d ON d.channel_id = s.channel_id AND d.local_date = s.local_date
CROSS JOIN LATERAL (
    SELECT array_agg(CASE WHEN take THEN sv ELSE ev END ORDER BY i) AS new_vals,
           string_agg(set_byte('\\x00'::bytea, 0, CASE WHEN take THEN sf ELSE ef END), ''::bytea ORDER BY i) AS new_flags,
           count(*) FILTER (WHERE take AND ef = {int(Flag.MISSING)}) AS filled,
           count(*) FILTER (WHERE take AND ef <> {int(Flag.MISSING)}) AS corrected,
           count(*) FILTER (WHERE sf NOT IN ({NOT_PROVIDED}, {int(Flag.MISSING)}) AND NOT take AND NOT refuse) AS unchanged,
           count(*) FILTER (WHERE refuse) AS refused
    FROM (
        SELECT ev, ef, sv, sf, i, would AND s.fill_only AND ef <> {int(Flag.MISSING)} AS refuse,
               would AND (NOT s.fill_only OR ef = {int(Flag.MISSING)}) AS take
        FROM (
            SELECT ev, ef, sv, sf, i,
                   (sf NOT IN ({NOT_PROVIDED}, {int(Flag.MISSING)}) AND ef <> {int(Flag.EDITED)}
                    AND (ef = {int(Flag.MISSING)} OR ev IS DISTINCT FROM sv
                         OR (ef <> sf AND ef IN {_HEAD_END_FLAGS}))) AS would
            FROM (SELECT ev, sv, i, get_byte(d.flags, i::int - 1) AS ef, get_byte(s.flags, i::int - 1) AS sf
                  FROM unnest(d."values", s.vals) WITH ORDINALITY AS u(ev, sv, i)) u
        ) w
    ) x
) m
WHERE NOT s.is_new
"""

_COPY_TO_HISTORY = """
INSERT INTO mdm_interval_day_version
    (channel_id, local_date, interval_minutes, version, decimals, "values", flags, changed_at, changed_by_id,
     reason, import_run_id, vee_run_id, superseded_at)
SELECT d.channel_id, d.local_date, d.interval_minutes, d.version, d.decimals, d."values", d.flags, d.updated_at,
       d.changed_by_id, d.reason, d.import_run_id, d.vee_run_id, %(now)s
FROM mdm_interval_day d
JOIN mdm_stage_merge m ON m.channel_id = d.channel_id AND m.local_date = d.local_date
WHERE m.filled + m.corrected > 0
"""

_UPDATE_CHANGED = """
UPDATE mdm_interval_day d
SET decimals = m.decimals, "values" = m.new_vals, flags = m.new_flags, version = d.version + 1, updated_at = %(now)s,
    import_run_id = %(run)s, vee_run_id = %(vee)s, changed_by_id = %(user)s, reason = %(reason)s
FROM mdm_stage_merge m
WHERE m.channel_id = d.channel_id AND m.local_date = d.local_date AND m.filled + m.corrected > 0
"""

# A corrected day at or before the service point's billed-through date, for the service point
# the channel's meter was installed at on that local day: one notice per service point and
# channel, spanning the corrected days.
_NOTICES = """
INSERT INTO mdm_replacementreadnotice
    (service_point_id, channel_id, period_start, period_end, reason, import_run_id, created_at)
SELECT i.service_point_id, m.channel_id, min(m.local_date), max(m.local_date) + 1, %(reason)s, %(run)s, %(now)s
FROM mdm_stage_merge m
JOIN mdm_channel c ON c.id = m.channel_id
JOIN mdm_installation i ON i.meter_id = c.meter_id
     AND tstzrange(i.installed_at, i.removed_at, '[)')
         && tstzrange(m.local_date::timestamp AT TIME ZONE %(tz)s, (m.local_date + 1)::timestamp AT TIME ZONE %(tz)s, '[)')
JOIN mdm_billedthrough b ON b.service_point_id = i.service_point_id AND m.local_date <= b.billed_through_date
WHERE m.corrected > 0
GROUP BY i.service_point_id, m.channel_id
"""


def interval_days_merge(*, days: Sequence[StagedDay], now: dt.datetime, import_run_id: int | None = None,
                        vee_run_id: int | None = None, changed_by_id: int | None = None,
                        reason: str = "import", fill_only: Collection[tuple[int, dt.date]] = ()) -> MergeCounts:
    """Load channel-days: new days are inserted; on stored days a missing slot is filled, the
    same value leaves it alone, a different value makes a new version (the prior row goes to
    the history first) and, on a billed day, a replacement-read notice.

    Callers resolve duplicates inside one source first: each (channel, date) once in `days`.
    Raises IntervalLayoutError when a stored day has another slot count than the incoming
    one, and django.db.IntegrityError when a concurrent load inserted the same day first (the
    caller's transaction is then rolled back and can be retried), and IntervalEncodingError
    for a value the channel cannot store exactly at its resolution (the import refuses those
    records first, naming file, line and field: mdm.importing.pipeline).

    `fill_only` (channel id, local date) days are stored as of a later time than the incoming
    data: there only missing slots are filled; `refused` counts the values not taken and
    `refused_days` names the days."""
    counts = MergeCounts()
    if not days:
        return counts
    interval_partitions_ensure(dates={d.local_date for d in days})
    params = {"now": now, "run": import_run_id, "vee": vee_run_id, "user": changed_by_id, "reason": reason,
              "tz": settings.UTILIS_LOCAL_TIME_ZONE}
    with transaction.atomic():
        _stage(days)
        with connection.cursor() as cursor:
            if fill_only:
                keys = list(fill_only)
                cursor.execute(
                    """
                    UPDATE mdm_stage_day s SET fill_only = true
                    FROM unnest(%s::bigint[], %s::date[]) AS u(channel_id, local_date)
                    WHERE s.channel_id = u.channel_id AND s.local_date = u.local_date
                    """,
                    [[k[0] for k in keys], [k[1] for k in keys]],
                )
            cursor.execute(
                """
                UPDATE mdm_stage_day s SET is_new = NOT EXISTS (
                    SELECT 1 FROM mdm_interval_day d WHERE d.channel_id = s.channel_id AND d.local_date = s.local_date)
                """
            )
            # Lock the stored days this load compares against, so a parallel load of the same
            # days waits instead of merging against a stale row.
            cursor.execute(
                """
                SELECT 1 FROM mdm_interval_day d JOIN mdm_stage_day s
                  ON d.channel_id = s.channel_id AND d.local_date = s.local_date
                FOR UPDATE OF d
                """
            )
            cursor.execute(
                """
                INSERT INTO mdm_interval_day
                    (channel_id, local_date, interval_minutes, decimals, "values", flags, version, updated_at,
                     import_run_id, vee_run_id, changed_by_id, reason)
                SELECT s.channel_id, s.local_date, s.interval_minutes, s.decimals, s.vals, s.flags,
                       1, %(now)s, %(run)s, %(vee)s, %(user)s, %(reason)s
                FROM mdm_stage_day s WHERE s.is_new
                """,
                params,
            )
            counts.days_inserted = cursor.rowcount
            cursor.execute("SELECT coalesce(sum(provided), 0) FROM mdm_stage_day WHERE is_new")
            counts.loaded += int(cursor.fetchone()[0])
            # Slot-by-slot merging needs the stored day laid out like the incoming one; a
            # channel whose interval length was changed after loading must not be zipped.
            cursor.execute(
                """
                SELECT s.channel_id, s.local_date FROM mdm_stage_day s JOIN mdm_interval_day d
                  ON d.channel_id = s.channel_id AND d.local_date = s.local_date
                WHERE cardinality(d."values") <> cardinality(s.vals) OR d.decimals <> s.decimals LIMIT 1
                """
            )
            mismatch = cursor.fetchone()
            if mismatch:
                raise IntervalLayoutError(
                    f"Channel {mismatch[0]} on {mismatch[1]}: the stored day has another number of intervals"
                    " or was stored at another resolution."
                )
            cursor.execute("DROP TABLE IF EXISTS mdm_stage_merge")
            cursor.execute(_MERGE)
            cursor.execute(
                "SELECT coalesce(sum(filled), 0), coalesce(sum(corrected), 0), coalesce(sum(unchanged), 0),"
                " count(*) FILTER (WHERE filled + corrected > 0) FROM mdm_stage_merge"
            )
            filled, corrected, unchanged, changed_days = (int(v) for v in cursor.fetchone())
            if fill_only:
                cursor.execute("SELECT channel_id, local_date FROM mdm_stage_merge WHERE refused > 0 ORDER BY 1, 2")
                counts.refused_days = [(int(c), d) for c, d in cursor.fetchall()]
                cursor.execute("SELECT coalesce(sum(refused), 0) FROM mdm_stage_merge")
                counts.refused = int(cursor.fetchone()[0])
            counts.loaded += filled
            counts.corrected += corrected
            counts.unchanged += unchanged
            counts.days_versioned = changed_days
            if changed_days:
                cursor.execute(_COPY_TO_HISTORY, params)
                cursor.execute(_UPDATE_CHANGED, params)
            if corrected:
                cursor.execute(_NOTICES, {**params, "reason": f"Corrected interval data ({reason})"})
                counts.notices = cursor.rowcount
            cursor.execute("DROP TABLE mdm_stage_merge")
    return counts


def interval_days_replace(*, days: Sequence[StagedDay], now: dt.datetime, reason: str,
                          changed_by_id: int | None = None, vee_run_id: int | None = None) -> MergeCounts:
    """Write whole channel-days as given (VEE estimates, a person's edit): unlike an import, a
    stored EDITED slot is overwritten too. Every changed day keeps its prior version.

    Values are computed (estimates) or already checked (a person's edit,
    mdm.services.worklist): they are stored rounded to the channel's resolution.

    Raises ValueError when a day's arrays do not have the day's slot count, and
    IntervalEncodingError for a value beyond what the channel's resolution stores."""
    from mdm.timeutil import slots_in_day


    tz = utility_zone()
    for day in days:
        expected = slots_in_day(day.local_date, tz, day.interval_minutes)
        if len(day.values) != expected or len(day.flags) != expected:
            raise ValueError(f"{day.local_date}: {expected} slots expected, got {len(day.values)} values / {len(day.flags)} flags")
        if np.any(np.asarray(day.flags) == NOT_PROVIDED):
            raise ValueError("A replacement gives every slot a flag.")
    counts = MergeCounts()
    if not days:
        return counts
    interval_partitions_ensure(dates={d.local_date for d in days})
    params = {"now": now, "vee": vee_run_id, "user": changed_by_id, "reason": reason,
              "tz": settings.UTILIS_LOCAL_TIME_ZONE, "run": None}
    with transaction.atomic():
        _stage(days, round_values=True)
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS mdm_stage_merge")
            cursor.execute(
                """
                CREATE TEMP TABLE mdm_stage_merge ON COMMIT DROP AS
                SELECT s.channel_id, s.local_date, s.decimals, s.vals AS new_vals, s.flags AS new_flags,
                       0::bigint AS filled, 1::bigint AS corrected, 0::bigint AS unchanged, 0::bigint AS refused
                FROM mdm_stage_day s JOIN mdm_interval_day d
                  ON d.channel_id = s.channel_id AND d.local_date = s.local_date
                WHERE d."values" IS DISTINCT FROM s.vals OR d.flags IS DISTINCT FROM s.flags OR d.decimals <> s.decimals
                """
            )
            cursor.execute("SELECT count(*) FROM mdm_stage_merge")
            counts.days_versioned = int(cursor.fetchone()[0])
            cursor.execute(_COPY_TO_HISTORY, params)
            cursor.execute(_UPDATE_CHANGED, params)
            cursor.execute(
                """
                INSERT INTO mdm_interval_day
                    (channel_id, local_date, interval_minutes, decimals, "values", flags, version, updated_at,
                     vee_run_id, changed_by_id, reason)
                SELECT s.channel_id, s.local_date, s.interval_minutes, s.decimals, s.vals, s.flags, 1, %(now)s, %(vee)s, %(user)s, %(reason)s
                FROM mdm_stage_day s
                WHERE NOT EXISTS (SELECT 1 FROM mdm_interval_day d WHERE d.channel_id = s.channel_id AND d.local_date = s.local_date)
                """,
                params,
            )
            counts.days_inserted = cursor.rowcount
            cursor.execute(_NOTICES, {**params, "reason": f"Interval data changed ({reason})"})
            counts.notices = cursor.rowcount
            cursor.execute("DROP TABLE mdm_stage_merge")
    return counts


def billed_through_set(*, service_point_id: int, billed_through_date: dt.date) -> BilledThrough:
    """Billing records the last local date it billed a service point through; later changes to
    data on or before it raise replacement-read notices."""
    obj, _ = BilledThrough.objects.update_or_create(
        service_point_id=service_point_id, defaults={"billed_through_date": billed_through_date}
    )
    return obj


def replacement_read_notices_pick_up(*, notice_ids: Sequence[int], now: dt.datetime) -> int:
    """Billing marks the notices it has taken; returns how many were still open."""
    from mdm.models import ReplacementReadNotice

    return ReplacementReadNotice.objects.filter(pk__in=notice_ids, picked_up_at__isnull=True).update(picked_up_at=now)


def billed_through_set_many(*, dates: dict[int, dt.date]) -> int:
    """Billing's billed-through dates for many service points in one upsert (a bill run issues
    thousands of bills at once; `mdm.services.billed_through_set` is the one-at-a-time form).
    Like billed_through_set, the last call wins."""
    if not dates:
        return 0
    BilledThrough.objects.bulk_create(
        [BilledThrough(service_point_id=sp, billed_through_date=day) for sp, day in sorted(dates.items())],
        update_conflicts=True, unique_fields=["service_point_id"], update_fields=["billed_through_date", "updated_at"],
    )
    return len(dates)
