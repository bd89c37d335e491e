"""Adjustments awaiting approval: credits above UTILIS_ADJUSTMENT_APPROVAL_LIMIT that a CSR (or
anyone) asked for, for a second person with the billing or administrator role to approve (the
ledger entry posts) or reject with a reason, each after a confirm step."""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from billing.hub.common import STAFF, form_errors, request_now
from billing.hub.forms import ReasonForm
from billing.models import AdjustmentRequest
from billing.services import adjustments
from core.actors import Actor
from core.permissions import role_required


@role_required(*STAFF)
def adjustment_list(request):
    return render(request, "billing/hub/adjustments.html", {
        "pending": adjustments.adjustment_requests_pending(),
        "totals": adjustments.adjustment_pending_totals(),
        "decided": adjustments.adjustment_requests_decided(),
        "limit": adjustments.adjustment_approval_limit(),
        "tab": "adjustments",
    })


def _pending_or_none(request, request_id: int) -> AdjustmentRequest | None:
    found = AdjustmentRequest.objects.select_related("account", "requested_by", "decided_by").filter(
        pk=request_id).first()
    if found is None:
        messages.error(request, f"There is no adjustment request {request_id}.")
        return None
    if found.status != AdjustmentRequest.Status.PENDING:
        messages.error(request, f"Adjustment request {request_id} was already {found.get_status_display().lower()}"
                                f" by {found.decided_by}.")
        return None
    if found.requested_by_id == request.user.pk:
        messages.error(request, f"You asked for adjustment request {request_id}: another person must approve or "
                                "reject it.")
        return None
    return found


@require_http_methods(["GET", "POST"])
@role_required(*STAFF)
def adjustment_approve(request, request_id: int):
    found = _pending_or_none(request, request_id)
    if found is None:
        return redirect("billing:adjustments")
    if request.method == "GET":
        return render(request, "billing/hub/adjustment_confirm.html",
                      {"item": found, "action": "approve", "tab": "adjustments"})
    try:
        done = adjustments.adjustment_approve(request_id=request_id, actor=Actor.of(request.user), now=request_now())
    except (adjustments.AdjustmentError, ValidationError) as exc:
        messages.error(request, f"Not approved: {'; '.join(exc.messages) if isinstance(exc, ValidationError) else exc}")
        return redirect("billing:adjustments")
    messages.success(request, f"Adjustment request {done.pk} approved: ${done.amount} posted to "
                              f"{done.account.account_number}.")
    return redirect("billing:adjustments")


@require_http_methods(["GET", "POST"])
@role_required(*STAFF)
def adjustment_reject(request, request_id: int):
    found = _pending_or_none(request, request_id)
    if found is None:
        return redirect("billing:adjustments")
    form = ReasonForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if not form.is_valid():
            messages.error(request, "Not rejected: " + form_errors(form))
        else:
            try:
                adjustments.adjustment_reject(request_id=request_id, reason=form.cleaned_data["reason"],
                                              actor=Actor.of(request.user), now=request_now())
            except adjustments.AdjustmentError as exc:
                messages.error(request, f"Not rejected: {exc}")
                return redirect("billing:adjustments")
            messages.success(request, f"Adjustment request {request_id} rejected: nothing posted.")
            return redirect("billing:adjustments")
    return render(request, "billing/hub/adjustment_confirm.html",
                  {"item": found, "action": "reject", "form": form, "tab": "adjustments"})
