"""The pre-bill exceptions worklist: held bills, filtered by rule and status, and the three
ways staff work one (release, re-rate, send for a meter check)."""
from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from billing import selectors
from billing.services import prebill
from billing.hub.common import STAFF, local_today, request_now
from billing.hub.forms import ExceptionFilterForm
from billing.models import BillException, PreBillRule
from cis.selectors import account_numbers
from core.permissions import role_required

RULE_LABELS = dict(PreBillRule.Kind.choices)


@role_required(*STAFF)
def worklist(request):
    form = ExceptionFilterForm(request.GET or {"status": "open"})
    form.is_valid()
    rule = form.cleaned_data.get("rule", "")
    status = form.cleaned_data.get("status", "open") if request.GET else "open"
    qs = selectors.exceptions_for_worklist(rule=rule, status=status)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    numbers = account_numbers(account_ids={e.bill.account_id for e in page})
    rows = [{"exception": e, "account_number": numbers.get(e.bill.account_id, e.bill.account_id),
             "rule_label": RULE_LABELS.get(e.rule, e.rule)} for e in page]
    counts = selectors.exceptions_open_by_rule()
    return render(request, "billing/hub/exceptions.html", {
        "form": form, "rows": rows, "page": page, "rule_counts": [
            {"rule": r, "label": RULE_LABELS.get(r, r), "count": n} for r, n in sorted(counts.items())],
        "query": request.GET.urlencode(), "tab": "exceptions",
    })


def _back(request):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("billing:exceptions")


@require_POST
@role_required(*STAFF)
def exception_action(request, exception_id: int, action: str):
    try:
        exception = selectors.exception_get(exception_id=exception_id)
    except BillException.DoesNotExist:
        raise Http404(f"No pre-bill exception {exception_id}.") from None
    now = request_now()
    try:
        if action == "release":
            bill = prebill.bill_exception_release(exception=exception, user=request.user, now=now)
            messages.success(request, f"Released: bill {bill} is {bill.get_status_display().lower()}.")
        elif action == "rerate":
            bill = prebill.bill_exception_rerate(exception=exception, user=request.user, now=now,
                                                 as_of=local_today(now))
            messages.success(request, f"Re-rated: new draft {bill} is {bill.get_status_display().lower()}.")
        elif action == "meter-check":
            order = prebill.bill_exception_meter_check(exception=exception, user=request.user, now=now,
                                                       today=local_today(now))
            which = f" (order {getattr(order, 'order_number', getattr(order, 'pk', ''))})" if order else ""
            messages.success(request, f"Sent for a meter check{which}; the bill stays held.")
        else:
            messages.error(request, f"Unknown action {action!r}.")
    except prebill.PreBillError as exc:
        messages.error(request, f"Not done: {exc}")
    return _back(request)
