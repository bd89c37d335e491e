"""Hub home (cycles, their next windows, recent runs) and bill runs: start, live progress,
resume, approve, issue."""
from __future__ import annotations


from django.contrib import messages
from django.http import JsonResponse
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from billing.services import runs as bill_runs
from billing.hub.common import STAFF, form_errors, local_today, request_now
from billing.hub.forms import FinalBillForm, RunStartForm
from billing import selectors
from billing.models import Bill, BillRun
from core.actors import Actor
from core.permissions import role_required


def _run_or_404(run_id: int) -> BillRun:
    try:
        return selectors.bill_run_detail(bill_run_id=run_id)
    except BillRun.DoesNotExist:
        raise Http404(f"No bill run {run_id}.") from None


@role_required(*STAFF)
def home(request):
    today = local_today(request_now())
    return render(request, "billing/hub/home.html", {
        "cycles": selectors.cycles_overview(today=today),
        "runs": selectors.bill_runs_recent(limit=10),
        "open_exceptions": selectors.exceptions_open_count(),
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
    data["held"] = selectors.bill_run_bill_counts(bill_run_id=run_id).get(Bill.Status.HELD, 0)
    return data


@role_required(*STAFF)
def run_detail(request, run_id: int):
    run = _run_or_404(run_id)
    bills = selectors.bills_of_run(bill_run_id=run.pk)
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
    _run_or_404(run_id)
    data = run_progress_data(run_id)
    return JsonResponse({k: data[k] for k in ("status", "status_label", "done", "total", "percent", "bills",
                                               "exceptions", "errors", "held", "chunks")})


def _run_action(request, run_id: int, label: str, call):
    _run_or_404(run_id)
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
        issued = selectors.bill_run_bill_counts(bill_run_id=run_id).get(Bill.Status.ISSUED, 0)
        return f"Run {run_id} issued: {issued} bill(s)."
    return _run_action(request, run_id, "Not issued", call)
