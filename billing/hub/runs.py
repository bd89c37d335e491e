"""Hub home (cycles, their next windows, recent runs) and bill runs: start, live progress,
resume, approve, issue."""
from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from billing import runs as bill_runs
from billing.hub.common import STAFF, form_errors, local_today, request_now
from billing.hub.forms import FinalBillForm, RunStartForm
from billing.models import Bill, BillCycle, BillException, BillRun, BillWindow
from core.actors import Actor
from core.permissions import role_required

WINDOWS_SHOWN = 6


def cycles_overview(*, today: dt.date) -> list[dict]:
    """Each active cycle with its windows still to bill (no issued run yet) and the next ones,
    each window with its run if one was started."""
    runs = {(r.cycle_id, r.bill_date): r for r in BillRun.objects.filter(cycle__active=True)}
    out = []
    for cycle in BillCycle.objects.filter(active=True).order_by("code"):
        windows = []
        for window in BillWindow.objects.filter(cycle=cycle).order_by("bill_date"):
            run = runs.get((cycle.pk, window.bill_date))
            if run is not None and run.status == BillRun.Status.ISSUED and window.bill_date < today:
                continue
            windows.append({"window": window, "run": run, "due": window.bill_date <= today})
            if len(windows) == WINDOWS_SHOWN:
                break
        out.append({"cycle": cycle, "windows": windows})
    return out


@role_required(*STAFF)
def home(request):
    today = local_today(request_now())
    return render(request, "billing/hub/home.html", {
        "cycles": cycles_overview(today=today),
        "runs": BillRun.objects.select_related("cycle").order_by("-created_at")[:10],
        "open_exceptions": BillException.objects.filter(status=BillException.Status.OPEN).count(),
        "final_form": FinalBillForm(initial={"bill_date": today}),
        "today": today,
        "tab": "runs",
    })


@require_POST
@role_required(*STAFF)
def run_start(request):
    form = RunStartForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Run not started: " + form_errors(form))
        return redirect("billing:hub")
    try:
        run = bill_runs.bill_run_start(cycle=form.cleaned_data["cycle"], bill_date=form.cleaned_data["bill_date"],
                                       now=request_now(), user=request.user)
    except bill_runs.BillRunError as exc:
        messages.error(request, f"Run not started: {exc}")
        return redirect("billing:hub")
    messages.success(request, f"Run {run.pk} for {run.cycle.code} on {run.bill_date} started.")
    return redirect("billing:run", run_id=run.pk)


def run_progress_data(run_id: int) -> dict:
    data = bill_runs.bill_run_progress(bill_run_id=run_id)
    run = BillRun.objects.get(pk=run_id)
    data["status_label"] = run.get_status_display()
    data["held"] = Bill.objects.filter(run_id=run_id, status=Bill.Status.HELD).count()
    return data


@role_required(*STAFF)
def run_detail(request, run_id: int):
    run = get_object_or_404(BillRun.objects.select_related("cycle", "started_by"), pk=run_id)
    bills = Bill.objects.filter(run=run).order_by("id")
    progress = run_progress_data(run.pk)
    return render(request, "billing/hub/run.html", {
        "run": run,
        "progress": progress,
        # What the core.runs progress partial reads (the bill run keeps its own counters).
        "progress_run": {"pk": run.pk, "progress_done": progress["done"], "progress_total": progress["total"]},
        "bills": bills[:100],
        "bill_count": bills.count(),
        "live": run.status in (BillRun.Status.QUEUED, BillRun.Status.RUNNING),
        "tab": "runs",
    })


@role_required(*STAFF)
def run_progress(request, run_id: int):
    """Polled every 2 s by static/js/run-progress.js (core.runs) while the run is drafting."""
    get_object_or_404(BillRun, pk=run_id)
    data = run_progress_data(run_id)
    return JsonResponse({k: data[k] for k in ("status", "status_label", "done", "total", "percent", "bills",
                                               "exceptions", "errors", "held", "chunks")})


def _run_action(request, run_id: int, label: str, call):
    get_object_or_404(BillRun, pk=run_id)
    try:
        message = call()
    except bill_runs.BillRunError as exc:
        messages.error(request, f"{label}: {exc}")
    else:
        messages.success(request, message)
    return redirect("billing:run", run_id=run_id)


@require_POST
@role_required(*STAFF)
def run_resume(request, run_id: int):
    def call():
        numbers = bill_runs.bill_run_resume(bill_run_id=run_id)
        return f"Run {run_id} resumed: {len(numbers)} chunk(s) queued again." if numbers else \
            f"Run {run_id} has no chunk left to do."
    return _run_action(request, run_id, "Not resumed", call)


@require_POST
@role_required(*STAFF)
def run_approve(request, run_id: int):
    def call():
        bill_runs.bill_run_approve(bill_run_id=run_id, actor=Actor.of(request.user))
        return f"Run {run_id} approved."
    return _run_action(request, run_id, "Not approved", call)


@require_POST
@role_required(*STAFF)
def run_issue(request, run_id: int):
    def call():
        bill_runs.bill_run_issue(bill_run_id=run_id, now=request_now(), actor=Actor.of(request.user))
        issued = Bill.objects.filter(run_id=run_id, status=Bill.Status.ISSUED).count()
        return f"Run {run_id} issued: {issued} bill(s)."
    return _run_action(request, run_id, "Not issued", call)
