"""A remittance file uploaded in the Billing Hub is imported by a Celery worker, never in the
web request (100,000 lines take about a minute): the request stores the bytes as a
RemittanceUpload and queues remittance_upload_import (below) on the interactive queue
(config/settings.py CELERY_TASK_ROUTES; BillingConfig.ready imports this module so the worker
knows the task); the upload's page polls remittance_upload_progress until it is done.

The same bytes already imported completely are refused at once (no upload is kept); the same
bytes of a file cut off half way (a killed worker) are stored and imported again, which resumes
the file at its first line not yet recorded (remittance.remittance_import), so nothing is
posted twice."""
from __future__ import annotations

import datetime as dt
import hashlib
import logging

from celery import shared_task
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from billing.payments import remittance
from billing.payments.models import RemittanceFile, RemittanceItem, RemittanceUpload
from core.actors import Actor

log = logging.getLogger(__name__)


def remittance_upload_store(*, format: str, content: bytes, file_name: str, actor: Actor,
                            now: dt.datetime) -> RemittanceUpload:
    """Keep an uploaded file and queue its import (after the transaction commits).
    Raises RemittanceError (an unknown format), RemittanceFileDuplicate (these bytes were
    imported completely already: nothing is kept nor queued)."""
    if format not in {f.key for f in remittance.remittance_formats()}:
        raise remittance.RemittanceError(f"Unknown remittance format {format!r}.")
    digest = hashlib.sha256(content).hexdigest()
    existing = RemittanceFile.objects.filter(file_hash=digest, completed_at__isnull=False).first()
    if existing is not None:
        raise remittance.RemittanceFileDuplicate(existing)
    upload = RemittanceUpload.objects.create(
        format=format, file_name=file_name[:255], content=content, content_hash=digest, size=len(content),
        uploaded_by_id=actor.user_id, actor=actor.username, uploaded_at=now)
    transaction.on_commit(lambda: remittance_upload_import.delay(upload_id=upload.pk))
    return upload


def remittance_upload_run(*, upload_id: int) -> RemittanceUpload:
    """Import a stored upload (what the worker does). An upload already done or failed is left
    as it is (a task delivered twice). The import's own errors are kept on the upload for its
    page; an unexpected one too, and logged."""
    with transaction.atomic():
        upload = RemittanceUpload.objects.select_for_update().get(pk=upload_id)
        if upload.status in (RemittanceUpload.Status.DONE, RemittanceUpload.Status.FAILED):
            return upload
        upload.status, upload.started_at = RemittanceUpload.Status.RUNNING, timezone.now()
        upload.save(update_fields=["status", "started_at"])
    user = get_user_model().objects.filter(pk=upload.uploaded_by_id).first() if upload.uploaded_by_id else None
    actor = Actor.of(user) if user is not None else Actor.system(name=upload.actor or "system")

    def progress(file: RemittanceFile) -> None:
        if upload.file_id is None:
            upload.file_id = file.pk
            RemittanceUpload.objects.filter(pk=upload.pk).update(file_id=file.pk)

    try:
        result = remittance.remittance_import(format=upload.format, content=bytes(upload.content),
                                              file_name=upload.file_name, actor=actor, now=timezone.now(),
                                              progress=progress)
    except remittance.RemittanceFileDuplicate as exc:
        # Completed by an import of the same bytes that finished since the upload was stored.
        return _finish(upload, status=RemittanceUpload.Status.FAILED, error=str(exc), file=exc.file)
    except remittance.RemittanceError as exc:
        return _finish(upload, status=RemittanceUpload.Status.FAILED, error=str(exc))
    except Exception as exc:
        log.exception("Remittance upload %s failed", upload.pk)
        return _finish(upload, status=RemittanceUpload.Status.FAILED,
                       error=f"The import stopped: {type(exc).__name__}: {exc}. Upload the same file again to "
                             "resume it (lines already recorded are not posted again).")
    return _finish(upload, status=RemittanceUpload.Status.DONE, error="", file=result)


def _finish(upload: RemittanceUpload, *, status: str, error: str,
            file: RemittanceFile | None = None) -> RemittanceUpload:
    upload.status, upload.error, upload.finished_at = status, error, timezone.now()
    if file is not None:
        upload.file_id = file.pk
    elif upload.file_id is None:
        upload.file_id = RemittanceFile.objects.filter(file_hash=upload.content_hash).values_list("pk", flat=True).first()
    upload.save(update_fields=["status", "error", "finished_at", "file"])
    return upload


def remittance_upload_progress(upload: RemittanceUpload) -> dict:
    """What the upload's page polls: its status and the file's lines done of total so far
    (the RemittanceFile's counters move with each batch of 2,000)."""
    file = (RemittanceFile.objects.filter(pk=upload.file_id).first() if upload.file_id
            else RemittanceFile.objects.filter(file_hash=upload.content_hash).first())
    counts = {"posted": 0, "suspense": 0, "duplicates": 0, "rejected": 0}
    total = 0
    if file is not None:
        counts = {name: getattr(file, name) for name in counts}
        total = file.lines_total
        if file.completed_at is not None:
            # Suspense items assigned later still count as lines done.
            counts["suspense"] += RemittanceItem.objects.filter(file_id=file.pk,
                                                                status=RemittanceItem.Status.ASSIGNED).count()
    done = sum(counts.values())
    return {"status": upload.status, "status_label": upload.get_status_display(), "done": done, "total": total,
            "percent": round(100 * done / total) if total else (100 if upload.status == "done" else 0),
            **counts, "error": upload.error}


@shared_task(name="billing.payments.remittance_uploads.remittance_upload_import")
def remittance_upload_import(*, upload_id: int) -> dict:
    upload = remittance_upload_run(upload_id=upload_id)
    return {"upload": upload.pk, "status": upload.status, "file": upload.file_id, "error": upload.error}
