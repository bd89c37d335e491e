"""Working the import quarantine: fix a bad record and resubmit it, or discard it."""
from __future__ import annotations

import datetime as dt

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from mdm.importing.pipeline import import_file
from mdm.models import ImportRun, QuarantinedRecord


class QuarantineError(Exception):
    """The quarantined record cannot be resolved as asked; the message says why."""


def quarantine_record_resubmit(*, record: QuarantinedRecord, fixed_raw: str, now: dt.datetime, user=None) -> ImportRun:
    """Parse the corrected line with the same format's parser (after the original file's
    header, for CSV) and load it as a small import of its own.

    Raises QuarantineError when the record is not open, the fix is empty or was already
    submitted, or the fixed record still fails (then nothing is loaded)."""
    if record.status != QuarantinedRecord.Status.OPEN:
        raise QuarantineError(f"This record is already {record.get_status_display().lower()}.")
    if not fixed_raw.strip():
        raise QuarantineError("Give the corrected record.")
    original = record.import_run
    text = original.prelude + fixed_raw.strip("\r\n") + "\n"
    with transaction.atomic():
        run = import_file(
            text.encode("utf-8"), format=original.format, now=now, user=user,
            file_name=f"{original.file_name} line {record.line} (fixed)",
        )
        if run.duplicate_of_id:
            raise QuarantineError(f"That exact fix was already submitted (import {run.duplicate_of_id}).")
        problems = list(run.quarantine.all())
        if problems:
            detail = "; ".join(f"{p.field}: {p.message}" for p in problems[:5])
            # Leaving the atomic block by this exception rolls the small import back whole.
            raise QuarantineError(f"The fixed record still fails: {detail}")
        if run.intervals_loaded + run.intervals_unchanged + run.intervals_corrected + run.registers_loaded == 0:
            raise QuarantineError("The fixed record holds no reads.")
        record.status = QuarantinedRecord.Status.RESUBMITTED
        record.fixed_raw = fixed_raw
        record.resubmit_run = run
        record.resolved_by = user if getattr(user, "is_authenticated", False) else None
        record.resolved_at = now
        record.save(update_fields=["status", "fixed_raw", "resubmit_run", "resolved_by", "resolved_at"])
    return run


def quarantine_record_discard(*, record: QuarantinedRecord, now: dt.datetime, reason: str | None = None,
                              user=None) -> QuarantinedRecord:
    """Discard an open record for good, saying why: the reason is recorded with who and when in
    the record's history (the record's admin log; `quarantine_discard_reasons` reads it back).
    The Meter Hub always asks for one; `reason=None` is left only for callers that do not ask
    yet (the REST endpoint and the admin action) and is recorded as "no reason given".

    Raises QuarantineError when the record is not open or the reason is blank."""
    if reason is not None and not reason.strip():
        raise QuarantineError("Say why the record is discarded.")
    reason = reason.strip() if reason is not None else "(no reason given)"
    if record.status != QuarantinedRecord.Status.OPEN:
        raise QuarantineError(f"This record is already {record.get_status_display().lower()}.")
    actor = user if getattr(user, "is_authenticated", False) else None
    with transaction.atomic():
        record.status = QuarantinedRecord.Status.DISCARDED
        record.resolved_by = actor
        record.resolved_at = now
        record.save(update_fields=["status", "resolved_by", "resolved_at"])
        if actor is not None:
            LogEntry.objects.log_actions(
                user_id=actor.pk, queryset=[record], action_flag=CHANGE,
                change_message=f"{DISCARD_PREFIX}{reason}", single_object=True,
            )
    return record


DISCARD_PREFIX = "Discarded: "


def quarantine_discard_reasons(*, record_ids) -> dict[int, str]:
    """{record id: the reason given when it was discarded} (records discarded with a reason)."""
    ids = [str(i) for i in record_ids]
    if not ids:
        return {}
    content_type = ContentType.objects.get_for_model(QuarantinedRecord)
    out: dict[int, str] = {}
    for object_id, message in LogEntry.objects.filter(
        content_type=content_type, object_id__in=ids, change_message__startswith=DISCARD_PREFIX,
    ).order_by("action_time").values_list("object_id", "change_message"):
        if object_id:
            out[int(object_id)] = message[len(DISCARD_PREFIX):]
    return out
