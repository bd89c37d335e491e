"""The Meter Hub: find a meter, see its configuration, installations, interval chart, register
reads and VEE results; work the import quarantine; watch import runs."""
from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_http_methods, require_POST

from core.clock import utility_zone, utility_today
from core.permissions import role_required
from core.runs import progress_response
from core.roles import Role, has_role
from mdm import charts, selectors, services
from cis.selectors import service_point_labels
from mdm.importing.pipeline import ImportInputError, import_run_submit
from mdm.importing.quarantine import (
    QuarantineError,
    quarantine_discard_reasons,
    quarantine_record_discard,
    quarantine_record_resubmit,
)
from mdm.services.worklist import worklist_item_unsettled_slots
from mdm.importing.registry import UnknownFormatError, read_format
from mdm.models import ImportRun, Installation, Meter, QuarantinedRecord, RegisterRead

READERS = (Role.METERING, Role.CSR, Role.BILLING)


def _service_point_labels(sp_ids) -> dict[int, str]:
    return service_point_labels(service_point_ids=list(sp_ids))


@role_required(*READERS)
def meter_search(request):
    """Find meters by serial, service point number or account number."""
    q = (request.GET.get("q") or "").strip()
    meters: list[Meter] = []
    if q:
        meters = list(selectors.meters_find(query=q, limit=50))
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
        # Shown beside each installation on the page (not a model field).
        setattr(inst, "label", labels.get(inst.service_point_id, f"Service point {inst.service_point_id}"))
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
            anchor = selectors.channel_last_day(channel_id=chosen.pk) or utility_today()
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
    from mdm.models import VeeWorklistItem

    findings = list(selectors.latest_findings_for_meter(meter_id=meter.pk, limit=20))
    open_items = VeeWorklistItem.objects.filter(channel__meter=meter, status=VeeWorklistItem.Status.OPEN).count()
    return render(request, "mdm/meter_detail.html", {
        "findings": findings, "open_items": open_items,
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
    reasons = quarantine_discard_reasons(record_ids=[r.pk for r in page if r.status == QuarantinedRecord.Status.DISCARDED])
    for rec in page:
        setattr(rec, "discard_reason", reasons.get(rec.pk, ""))  # shown on the page, not a field
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


@require_http_methods(["GET", "POST"])
@role_required(Role.METERING)
def quarantine_discard(request, pk: int):
    """GET: the confirmation step (the record, what discarding means, a reason to give).
    POST: discard it with the reason (required; recorded with who and when)."""
    record = get_object_or_404(QuarantinedRecord.objects.select_related("import_run"), pk=pk)
    error = ""
    if request.method == "POST":
        reason = request.POST.get("reason", "")
        try:
            quarantine_record_discard(record=record, now=timezone.now(), user=request.user, reason=reason)
        except QuarantineError as exc:
            error = str(exc)
        else:
            messages.success(request, f"Line {record.line} of {record.file_name} discarded: {reason.strip()}")
            return redirect("mdm:quarantine")
    if record.status != QuarantinedRecord.Status.OPEN:
        messages.error(request, f"This record is already {record.get_status_display().lower()}.")
        return redirect("mdm:quarantine")
    return render(request, "mdm/quarantine_discard.html", {"rec": record, "error": error,
                                                           "reason": request.POST.get("reason", "")},
                  status=400 if error else 200)


@role_required(*READERS)
def import_list(request):
    runs = selectors.import_runs(limit=50)
    return render(request, "mdm/imports.html", {
        "runs": runs, "formats": ImportRun.Format.choices,
        "can_upload": has_role(request.user, Role.ADMIN, Role.METERING),
        "read_file_zone": settings.UTILIS_READ_FILE_TIME_ZONE,
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
    try:
        with transaction.atomic():
            # the upload is streamed to storage, never read whole; refused above the size limit
            run = import_run_submit(content=upload, file_name=upload.name, format=fmt, now=timezone.now(),
                                    user=request.user, time_zone=request.POST.get("time_zone", ""))
    except ImportInputError as exc:
        messages.error(request, str(exc))
        return redirect("mdm:imports")
    messages.success(request, f"Import {run.pk} of {upload.name} queued.")
    return redirect("mdm:imports")


@role_required(*READERS)
def import_progress(request, pk: int):
    """The run's core.runs progress JSON (polled by static/js/run-progress.js) and its counts."""
    run = get_object_or_404(ImportRun, pk=pk)
    return progress_response(
        run, loaded=run.intervals_loaded, unchanged=run.intervals_unchanged, corrected=run.intervals_corrected,
        quarantined=run.quarantined, registers=run.registers_loaded,
    )


# ---- VEE: worklist, runs, results, version history ---------------------------------------------


def _rows_of(values, flags, tz, day, minutes):
    """One table row per slot for the version history: start time, value, flag name."""
    from mdm.flags import Flag
    from mdm.timeutil import slot_start_utc

    rows = []
    for i, (v, f) in enumerate(zip(values, flags)):
        start = timezone.localtime(slot_start_utc(day, tz, minutes, i), tz)
        try:
            name = Flag(f).name.replace("_", " ").lower()
        except ValueError:
            name = str(f)
        rows.append({"slot": i, "start": start, "value": None if v != v else v, "flag": name})
    return rows


@role_required(*READERS)
def worklist(request):
    from mdm.models import VeeWorklistItem

    status = request.GET.get("status", VeeWorklistItem.Status.OPEN)
    meter = (request.GET.get("meter") or "").strip()
    rule = (request.GET.get("rule") or "").strip()
    qs = VeeWorklistItem.objects.select_related("channel__meter", "resolved_by").order_by("local_date", "channel_id", "rule", "id")
    if status:
        qs = qs.filter(status=status)
    if meter:
        qs = qs.filter(channel__meter__serial_number=meter)
    if rule:
        qs = qs.filter(rule=rule)
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    # The filters without the page, for the pager's links; every action form posts back the
    # full path (filters and page) as `next`, so acting on an item lands on the same list.
    filters = urlencode({k: v for k, v in (("status", status), ("meter", meter), ("rule", rule)) if v or k == "status"})
    rules = VeeWorklistItem.objects.order_by("rule").values_list("rule", flat=True).distinct()
    return render(request, "mdm/worklist.html", {
        "page": page, "status": status, "statuses": VeeWorklistItem.Status.choices, "meter": meter, "rule": rule,
        "rules": list(rules), "filters": filters, "back": request.get_full_path(),
        "can_act": has_role(request.user, Role.ADMIN, Role.METERING),
    })


def _worklist_back(request):
    """Back to the worklist page the action came from; `next` only ever names a page of this
    site (an outside URL there would be an open redirect)."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return redirect(target)
    return redirect("mdm:worklist")


@require_POST
@role_required(Role.METERING)
def worklist_action(request, pk: int, action: str):
    """accept / edit / dismiss / rerun one worklist item."""
    now = timezone.now()
    reason = request.POST.get("reason", "")
    try:
        if action == "accept":
            services.worklist_item_accept(item_id=pk, user=request.user, now=now, reason=reason)
            messages.success(request, "Accepted.")
        elif action == "dismiss":
            services.worklist_item_dismiss(item_id=pk, user=request.user, now=now, reason=reason)
            messages.success(request, "Dismissed.")
        elif action == "edit":
            try:
                first = int(request.POST.get("first_slot", ""))
                values = [float(v) for v in request.POST.get("values", "").replace(",", " ").split()]
            except ValueError:
                raise services.WorklistError("Give the first interval number and the values as numbers.")
            item = services.worklist_item_edit(item_id=pk, first_slot=first, values=values, reason=reason,
                                               user=request.user, now=now)
            edited = f"Edited {len(values)} interval{'s' if len(values) != 1 else ''}"
            left = worklist_item_unsettled_slots(item) if item.status == item.Status.OPEN else []
            if left:
                messages.warning(request, f"{edited}; the item stays open: flagged interval{'s' if len(left) != 1 else ''} "
                                          f"{', '.join(map(str, left))} still hold{'s' if len(left) == 1 else ''} "
                                          "what VEE left. Edit or accept them.")
            else:
                messages.success(request, f"{edited}.")
        elif action == "rerun":
            run = services.worklist_item_rerun(item_id=pk, user=request.user, now=now)
            messages.success(request, f"VEE run {run.pk}: {run.findings_count} findings, {run.worklist_items} new items.")
        else:
            messages.error(request, "Unknown action.")
    except services.WorklistError as exc:
        messages.error(request, str(exc))
    except ObjectDoesNotExist:
        messages.error(request, "No such worklist item.")
    return _worklist_back(request)


@role_required(*READERS)
def vee_run_list(request):
    from mdm.models import VeeRun

    return render(request, "mdm/vee_runs.html", {
        "runs": VeeRun.objects.order_by("-created_at", "-id")[:50],
        "can_start": has_role(request.user, Role.ADMIN, Role.METERING),
    })


@require_POST
@role_required(Role.METERING)
def vee_run_start(request):
    try:
        start = dt.date.fromisoformat(request.POST.get("start", ""))
        end = dt.date.fromisoformat(request.POST.get("end", ""))
    except ValueError:
        messages.error(request, "Dates must look like 2026-03-15.")
        return redirect("mdm:vee-runs")
    try:
        with transaction.atomic():
            run = services.vee_run_submit(
                channel_ids=services.channels_with_data(start_date=start, end_date=end), start_date=start, end_date=end,
                scope="all channels", now=timezone.now(), user=request.user,
            )
    except services.VeeRunError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"VEE run {run.pk} queued.")
    return redirect("mdm:vee-runs")


@role_required(*READERS)
def vee_run_progress(request, pk: int):
    """The run's core.runs progress JSON (polled by static/js/run-progress.js) and its counts."""
    from mdm.models import VeeRun

    run = get_object_or_404(VeeRun, pk=pk)
    return progress_response(
        run, validated=run.channel_days_validated, changed=run.channel_days_changed,
        estimated=run.intervals_estimated, findings=run.findings_count, worklist=run.worklist_items,
    )


@role_required(*READERS)
def channel_day_history(request, channel_id: int, day: str):
    """Every version of one channel-day side by side: who/when/why, and each slot's value and flag."""
    from django.contrib.auth import get_user_model
    from django.http import Http404

    from mdm.models import Channel

    channel = get_object_or_404(Channel.objects.select_related("meter"), pk=channel_id)
    try:
        local_date = dt.date.fromisoformat(day)
    except ValueError:
        raise Http404("Not a date")
    versions = selectors.channel_day_history(channel_id=channel.pk, local_date=local_date)
    users = dict(get_user_model().objects.filter(
        pk__in={v["changed_by_id"] for v in versions if v["changed_by_id"]}).values_list("pk", "username"))
    tz = utility_zone()
    minutes = channel.interval_minutes or 60
    for v in versions:
        v["who"] = users.get(v["changed_by_id"]) or ("VEE" if v["vee_run_id"] else ("import" if v["import_run_id"] else "system"))
        v["rows"] = _rows_of(v["values"], v["flags"], tz, local_date, minutes)
    slots = []
    if versions:
        for i in range(len(versions[-1]["rows"])):
            slots.append({"start": versions[-1]["rows"][i]["start"],
                          "cells": [v["rows"][i] if i < len(v["rows"]) else None for v in versions]})
    return render(request, "mdm/channel_day.html", {
        "channel": channel, "meter": channel.meter, "local_date": local_date, "versions": versions, "slots": slots,
    })
