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
from billing.models import Bill, BillRun, BillRunChunk
from cis.selectors import account_numbers
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
    cycles = selectors.cycles_overview(today=today)
    for item in cycles:
        for w in item["windows"]:
            # Offered only once the window's reads are in; earlier needs the start form's override.
            w["open"] = bill_runs.window_is_open(w["window"], today=today)
            w["opens_on"] = bill_runs.window_opens(w["window"])
    return render(request, "billing/hub/home.html", {
        "cycles": cycles,
        "runs": selectors.bill_runs_recent(limit=10),
        "open_exceptions": selectors.exceptions_open_count(),
        "final_form": FinalBillForm(initial={"bill_date": today}),
        "today": today,
        "tab": "runs",
    })


@role_required(*STAFF)
def run_start(request):
    """GET (?cycle=&bill_date=) or a first POST: the confirm step (the cycle's accounts, the
    period, the override reason an open window needs); a POST with `confirmed` starts it."""
    form = RunStartForm(request.POST if request.method == "POST" else request.GET)
    if not form.is_valid():
        messages.error(request, "Run not started: " + form_errors(form))
        return redirect("billing:hub")
    data = form.cleaned_data
    now = request_now()
    try:
        preview = bill_runs.bill_run_start_preview(cycle=data["cycle"], bill_date=data["bill_date"], now=now)
    except bill_runs.BillRunError as exc:
        messages.error(request, f"Run not started: {exc}")
        return redirect("billing:hub")
    if preview["existing"] is not None:
        return redirect("billing:run", run_id=preview["existing"].pk)
    error = ""
    if request.method == "POST" and data["confirmed"]:
        try:
            run = bill_runs.bill_run_start(cycle=data["cycle"], bill_date=data["bill_date"], now=now,
                                           user=request.user, override_reason=data["override_reason"])
        except bill_runs.BillRunError as exc:
            error = str(exc)
        else:
            note = " (override: " + run.override_reason + ")" if run.override_reason else ""
            messages.success(request, f"Run {run.pk} for {run.cycle.code} on {run.bill_date} started{note}.")
            return redirect("billing:run", run_id=run.pk)
    return render(request, "billing/hub/run_confirm.html", {
        "action": "start", "preview": preview, "form": form, "error": error, "tab": "runs",
    }, status=400 if error else 200)


def chunk_errors(run_id: int) -> list[dict]:
    """The failed chunks of a run with their error and the account numbers they concern."""
    chunks = list(BillRunChunk.objects.filter(run_id=run_id, status=BillRunChunk.Status.FAILED).order_by("number"))
    numbers = account_numbers(account_ids={a for c in chunks for a in c.account_ids})
    return [{"number": c.number, "error": c.error, "finished_at": c.finished_at,
             "accounts": [numbers.get(a, str(a)) for a in c.account_ids]} for c in chunks]


def run_progress_data(run_id: int) -> dict:
    data = bill_runs.bill_run_progress(bill_run_id=run_id)
    data["held"] = selectors.bill_run_bill_counts(bill_run_id=run_id).get(Bill.Status.HELD, 0)
    return data


@role_required(*STAFF)
def run_detail(request, run_id: int):
    run = _run_or_404(run_id)
    bills = selectors.bills_of_run(bill_run_id=run.pk)
    shown = list(bills[:100])
    progress = run_progress_data(run.pk)
    errors = chunk_errors(run.pk)
    return render(request, "billing/hub/run.html", {
        "run": run,
        "progress": progress,
        "chunk_errors": errors,
        # A run with a failed chunk or an error is never shown as completed nor offered to approve.
        "has_errors": bool(errors or run.errors or run.error),
        "can_approve": bill_runs.bill_run_can_approve(run),
        # What the core.runs progress partial reads (the bill run keeps its own counters).
        "progress_run": {"pk": run.pk, "progress_done": progress["done"], "progress_total": progress["total"]},
        "bills": shown,
        "account_numbers": account_numbers(account_ids={b.account_id for b in shown}),
        "bill_count": bills.count(),
        "live": run.status in (BillRun.Status.QUEUED, BillRun.Status.RUNNING, BillRun.Status.APPROVING,
                               BillRun.Status.ISSUING),
        "tab": "runs",
    })


@role_required(*STAFF)
def run_progress(request, run_id: int):
    """Polled every 2 s by static/js/run-progress.js (core.runs) while the run is drafting."""
    _run_or_404(run_id)
    data = run_progress_data(run_id)
    return JsonResponse({k: data[k] for k in ("status", "status_label", "done", "total", "percent", "bills",
                                               "exceptions", "errors", "held", "chunks", "chunks_approved",
                                               "chunks_issued")})


INLINE_CHUNKS = 1  # a run of at most this many chunks is approved / issued inside the request


def _over_workers(run_id: int) -> bool:
    return BillRunChunk.objects.filter(run_id=run_id).count() > INLINE_CHUNKS


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


def _confirm(request, run_id: int, action: str):
    """The confirm step of approve / issue: the bills, held bills and the total amount."""
    run = _run_or_404(run_id)
    if request.POST.get("confirmed"):
        return None
    return render(request, "billing/hub/run_confirm.html", {
        "action": action, "run": run, "totals": bill_runs.bill_run_totals(bill_run_id=run.pk),
        "can_approve": bill_runs.bill_run_can_approve(run), "tab": "runs",
    })


@require_POST
@role_required(*STAFF)
def run_approve(request, run_id: int):
    page = _confirm(request, run_id, "approve")
    if page is not None:
        return page

    def call():
        # A run of one chunk is approved here (one chunk's work, as long as one task); more go
        # to the billing workers, chunk by chunk, while the page follows the run.
        queued = _over_workers(run_id)
        run = bill_runs.bill_run_approve(bill_run_id=run_id, actor=Actor.of(request.user), enqueue=queued)
        if run.status == BillRun.Status.APPROVING:
            return f"Run {run_id}: approving its bills on the billing workers ({run.chunks_total} chunks)."
        return f"Run {run_id} approved."
    return _run_action(request, run_id, "Not approved", call)


@require_POST
@role_required(*STAFF)
def run_issue(request, run_id: int):
    page = _confirm(request, run_id, "issue")
    if page is not None:
        return page

    def call():
        run = bill_runs.bill_run_issue(bill_run_id=run_id, now=request_now(), actor=Actor.of(request.user),
                                       enqueue=_over_workers(run_id))
        if run.status == BillRun.Status.ISSUING:
            return f"Run {run_id}: issuing its bills on the billing workers ({run.chunks_total} chunks)."
        issued = selectors.bill_run_bill_counts(bill_run_id=run_id).get(Bill.Status.ISSUED, 0)
        return f"Run {run_id} issued: {issued} bill(s)."
    return _run_action(request, run_id, "Not issued", call)
