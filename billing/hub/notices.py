"""Replacement reads: MDM's notices that data already billed changed, each with the issued bills
it touches. Billing staff rebill them (cancel + rebill, one notice, or all the listed ones) or
dismiss one with a reason; each after a confirm step that shows the counts and totals."""
from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from billing import selectors
from billing.services import rebill
from billing.hub.common import STAFF, form_errors, local_today, request_now
from billing.hub.forms import ReasonForm
from cis.selectors import service_point_labels
from core.actors import Actor
from core.templatetags.localtime import format_local_datetime
from core.permissions import role_required


def _ids(values) -> list[int] | None:
    """Posted ids, or None when one is not a number."""
    try:
        return [int(v) for v in values]
    except (TypeError, ValueError):
        return None


def _totals(works) -> dict:
    bills = [b for w in works for b in w.bills]
    unique = {b.pk: b for b in bills}
    return {"notices": len(works), "bills": len(unique),
            "amount_due": sum((b.amount_due for b in unique.values()), Decimal("0.00"))}


def _places(works) -> dict[int, str]:
    """{service point id: 'SP1000001 · its premise's address'}: what a clerk reads a notice by."""
    return service_point_labels(service_point_ids={w.notice.service_point_id for w in works})


@role_required(*STAFF)
def notice_list(request):
    works = selectors.notices_to_decide()
    return render(request, "billing/hub/notices.html", {
        "works": works, "places": _places(works), "totals": _totals(works), "decisions": selectors.notice_decisions_recent(),
        "tab": "notices",
    })


def _work_or_redirect(request, notice_id: int):
    decided = selectors.notices_decided(notice_ids=[notice_id]).get(notice_id)
    if decided is not None:
        messages.error(request, f"Notice {notice_id} was already {decided.get_action_display().lower()} by "
                                f"{decided.actor} on {format_local_datetime(decided.decided_at)}.")
        return None
    works = selectors.notices_to_decide(notice_ids=[notice_id])
    if not works:
        messages.error(request, f"There is no open replacement-read notice {notice_id} (unknown, or already picked up).")
        return None
    return works[0]


@require_http_methods(["GET", "POST"])
@role_required(*STAFF)
def notice_rebill(request, notice_id: int):
    work = _work_or_redirect(request, notice_id)
    if work is None:
        return redirect("billing:notices")
    if request.method == "GET":
        return render(request, "billing/hub/notice_confirm.html", {
            "works": [work], "places": _places([work]), "totals": _totals([work]), "action": "rebill", "tab": "notices",
        })
    expected = _ids(request.POST.getlist("bill"))
    if expected is None:
        messages.error(request, "Nothing rebilled: the form named a bill that is not a number.")
        return redirect("billing:notices")
    now = request_now()
    today = local_today(now)
    try:
        new = rebill.notice_rebill(notice_id=notice_id, bill_date=today, as_of=today, now=now,
                                   actor=Actor.of(request.user), expected_bill_ids=expected)
    except rebill.RebillError as exc:
        messages.error(request, str(exc))
        return redirect("billing:notices")
    messages.success(request, f"Notice {notice_id}: {len(new)} bill{'s' if len(new) != 1 else ''} cancelled and "
                              f"rebilled as {', '.join(str(b) for b in new)}.")
    return redirect("billing:bill", bill_id=new[0].pk) if len(new) == 1 else redirect("billing:notices")


@require_http_methods(["GET", "POST"])
@role_required(*STAFF)
def notice_dismiss(request, notice_id: int):
    work = _work_or_redirect(request, notice_id)
    if work is None:
        return redirect("billing:notices")
    form = ReasonForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if not form.is_valid():
            messages.error(request, "Not dismissed: " + form_errors(form))
        else:
            try:
                rebill.notice_dismiss(notice_id=notice_id, reason=form.cleaned_data["reason"], now=request_now(),
                                      actor=Actor.of(request.user))
            except rebill.RebillError as exc:
                messages.error(request, f"Not dismissed: {exc}")
                return redirect("billing:notices")
            messages.success(request, f"Notice {notice_id} dismissed: no rebill.")
            return redirect("billing:notices")
    return render(request, "billing/hub/notice_confirm.html", {
        "works": [work], "places": _places([work]), "totals": _totals([work]), "action": "dismiss", "form": form, "tab": "notices",
    })


@require_http_methods(["GET", "POST"])
@role_required(*STAFF)
def notice_rebill_all(request):
    if request.method == "GET":
        works = [w for w in selectors.notices_to_decide() if w.bills]
        if not works:
            messages.info(request, "No notice touches an issued bill: nothing to rebill.")
            return redirect("billing:notices")
        return render(request, "billing/hub/notice_confirm.html", {
            "works": works, "places": _places(works), "totals": _totals(works), "action": "rebill-all", "tab": "notices",
        })
    notice_ids = _ids(request.POST.getlist("notice"))
    if not notice_ids:
        messages.error(request, "Nothing rebilled: no notices were confirmed.")
        return redirect("billing:notices")
    now = request_now()
    today = local_today(now)
    actor = Actor.of(request.user)
    rebilled, failed = 0, []
    for notice_id in notice_ids:
        if notice_id in selectors.notices_decided(notice_ids=[notice_id]):
            continue  # covered by the rebill of an earlier notice of this batch
        try:
            rebilled += len(rebill.notice_rebill(notice_id=notice_id, bill_date=today, as_of=today, now=now,
                                                 actor=actor))
        except rebill.RebillError as exc:
            failed.append(str(exc))
    if rebilled:
        messages.success(request, f"{rebilled} bill{'s' if rebilled != 1 else ''} cancelled and rebilled.")
    for message in failed:
        messages.error(request, message)
    return redirect("billing:notices")
