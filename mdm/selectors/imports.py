"""Reads about read-file imports and their quarantine."""
from __future__ import annotations

from django.db.models import QuerySet

from mdm.models import ImportRun, QuarantinedRecord


def import_runs(*, limit: int = 50) -> QuerySet[ImportRun]:
    return ImportRun.objects.order_by("-created_at", "-id")[:limit]


def import_run_quarantine(*, import_run: ImportRun, status: str = "") -> QuerySet[QuarantinedRecord]:
    qs = import_run.quarantine.order_by("line", "id")
    return qs.filter(status=status) if status else qs


def open_quarantine() -> QuerySet[QuarantinedRecord]:
    return QuarantinedRecord.objects.filter(status=QuarantinedRecord.Status.OPEN).select_related("import_run")
