"""The Meter Hub: find a meter, see its configuration, installations, interval chart, register
reads and VEE results; work the import quarantine; watch import runs."""
from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from core.clock import utility_today
from core.permissions import role_required
from core.roles import Role, has_role
from mdm import charts, hub_selectors, selectors
from mdm.importing.pipeline import import_run_submit
from mdm.importing.quarantine import QuarantineError, quarantine_record_discard, quarantine_record_resubmit
from mdm.importing.registry import UnknownFormatError, read_format
from mdm.models import ImportRun, Installation, Meter, QuarantinedRecord, RegisterRead

READERS = (Role.METERING, Role.CSR, Role.BILLING)


def _service_point_labels(sp_ids) -> dict[int, str]:
    from cis.selectors import service_point_labels

    return service_point_labels(service_point_ids=list(sp_ids))


@role_required(*READERS)
def meter_search(request):
    """Find meters by serial, service point number or account number."""
    q = (request.GET.get("q") or "").strip()
    meters: list[Meter] = []
    if q:
        meters = list(hub_selectors.meters_find(query=q, limit=50))
        if len(meters) == 1 and request.GET.get("go") != "0":
            return redirect("mdm:meter", serial=meters[0].serial_number)
    recent = selectors.import_runs(limit=5)
    return render(request, "mdm/search.html", {
        "q": q, "meters": meters, "recent_runs": recent,
        "open_quarantine": selectors.open_quarantine().count(),
    })


@role_required(*READERS)
def meter_detail(request, serial: str):
    meter = get_object_or_404(Meter, serial_number=serial)
    channels = list(meter.channels.prefetch_related("multipliers").order_by("channel_number", "id"))
    installations = list(Installation.objects.filter(meter=meter).order_by("-installed_at"))
    labels = _service_point_labels({i.service_point_id for i in installations})
    for inst in installations:
        inst.label = labels.get(inst.service_point_id, f"Service point {inst.service_point_id}")
    interval_channels = [c for c in channels if c.interval_minutes]
    view = request.GET.get("view", "week")
    if view not in charts.VIEWS:
        view = "week"
    try:
        anchor = dt.date.fromisoformat(request.GET["date"]) if request.GET.get("date") else None
    except ValueError:
        anchor = None
        messages.error(request, "The date must look like 2026-03-15.")
    chosen = None
    if interval_channels:
        wanted = request.GET.get("channel")
        chosen = next((c for c in interval_channels if str(c.pk) == wanted), interval_channels[0])
        if anchor is None:
            anchor = hub_selectors.channel_last_day(channel_id=chosen.pk) or utility_today()
    anchor = anchor or utility_today()
    chart = None
    if chosen is not None:
        start, end = charts.period(view, anchor)
        days = selectors.channel_days([chosen.pk], start, end)[chosen.pk]
        chart = charts.build_chart(view=view, anchor=anchor, days=days, unit=chosen.unit)
    start, end = charts.period(view, anchor)
    step = {"day": dt.timedelta(days=1), "week": dt.timedelta(days=7)}.get(view)
    prev_anchor = anchor - step if step else (start - dt.timedelta(days=1))
    next_anchor = anchor + step if step else end
    reads = list(
        RegisterRead.objects.filter(channel__meter=meter).select_related("channel").order_by("-read_at")[:30]
    )
    return render(request, "mdm/meter_detail.html", {
        "meter": meter, "channels": channels, "installations": installations,
        "interval_channels": interval_channels, "chosen": chosen, "chart": chart, "view": view,
        "views": charts.VIEWS, "anchor": anchor, "prev_anchor": prev_anchor, "next_anchor": next_anchor,
        "reads": reads,
    })


@role_required(*READERS)
def quarantine_list(request):
    status = request.GET.get("status", QuarantinedRecord.Status.OPEN)
    qs = QuarantinedRecord.objects.select_related("import_run").order_by("-id")
    if status:
        qs = qs.filter(status=status)
    if request.GET.get("run"):
        qs = qs.filter(import_run_id=request.GET["run"])
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    return render(request, "mdm/quarantine.html", {
        "page": page, "status": status, "statuses": QuarantinedRecord.Status.choices,
        "can_fix": has_role(request.user, Role.ADMIN, Role.METERING),
    })


@require_POST
@role_required(Role.METERING)
def quarantine_resubmit(request, pk: int):
    record = get_object_or_404(QuarantinedRecord, pk=pk)
    fixed = request.POST.get("fixed_raw", "")
    try:
        run = quarantine_record_resubmit(record=record, fixed_raw=fixed, now=timezone.now(), user=request.user)
    except (QuarantineError, ValidationError, ValueError) as exc:
        messages.error(request, f"Line {record.line} of {record.file_name} not resubmitted: {exc}")
        return redirect("mdm:quarantine")
    record.refresh_from_db()
    if record.status == QuarantinedRecord.Status.RESUBMITTED:
        messages.success(request, f"Line {record.line} of {record.file_name} fixed and loaded (import {run.pk}).")
    else:
        messages.error(request, f"Line {record.line} still has a problem; see import {run.pk}'s quarantine.")
    return redirect("mdm:quarantine")


@require_POST
@role_required(Role.METERING)
def quarantine_discard(request, pk: int):
    record = get_object_or_404(QuarantinedRecord, pk=pk)
    try:
        quarantine_record_discard(record=record, now=timezone.now(), user=request.user)
    except QuarantineError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Line {record.line} of {record.file_name} discarded.")
    return redirect("mdm:quarantine")


@role_required(*READERS)
def import_list(request):
    runs = selectors.import_runs(limit=50)
    return render(request, "mdm/imports.html", {
        "runs": runs, "formats": ImportRun.Format.choices,
        "can_upload": has_role(request.user, Role.ADMIN, Role.METERING),
    })


@require_POST
@role_required(Role.METERING)
def import_upload(request):
    upload = request.FILES.get("file")
    fmt = request.POST.get("format", "")
    if upload is None:
        messages.error(request, "Choose a file to import.")
        return redirect("mdm:imports")
    try:
        read_format(fmt)
    except UnknownFormatError:
        messages.error(request, f"Unknown format {fmt!r}.")
        return redirect("mdm:imports")
    with transaction.atomic():
        run = import_run_submit(content=upload.read(), file_name=upload.name, format=fmt, now=timezone.now(), user=request.user)
    messages.success(request, f"Import {run.pk} of {upload.name} queued.")
    return redirect("mdm:imports")


@role_required(*READERS)
def import_progress(request, pk: int):
    """JSON for the live progress bars (polled every 2 s by static/js/progress.js)."""
    run = get_object_or_404(ImportRun, pk=pk)
    return JsonResponse({
        "id": run.pk, "status": run.status, "done": run.progress_done, "total": run.progress_total,
        "percent": int(100 * run.progress_done / run.progress_total) if run.progress_total else (100 if run.status == "done" else 0),
        "loaded": run.intervals_loaded, "unchanged": run.intervals_unchanged, "corrected": run.intervals_corrected,
        "quarantined": run.quarantined, "registers": run.registers_loaded,
    })
