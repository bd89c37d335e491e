"""Bills: find, look at (segments, explained lines, ledger), e-bill and PDF, cancel, rebill,
issue a single (off-cycle or final) bill, and the final bill of an account after move-out."""
from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from billing import pdf, selectors
from billing.services import rebill
from billing.services import runs as bill_runs
from billing.hub.common import STAFF, VIEWERS, form_errors, local_today, request_now
from billing.hub.forms import BillSearchForm, FinalBillForm, ReasonForm
from billing.models import Bill, BillException
from cis.selectors import account_numbers
from cis.selectors import account_get, agreements_by_ids
from core.actors import Actor
from core.permissions import role_required
from core.roles import Role, has_role


def _account_id(account_number: str) -> int | None:
    try:
        return account_get(account_number=account_number.strip()).pk
    except Exception:  # noqa: BLE001 - cis's DoesNotExist
        return None


def _bill(bill_id: int) -> Bill:
    try:
        return selectors.bill_get(bill_id=bill_id)
    except Bill.DoesNotExist:
        raise Http404(f"No bill {bill_id}.") from None


@role_required(*VIEWERS)
def bill_list(request):
    form = BillSearchForm(request.GET)
    form.is_valid()
    q = (form.cleaned_data.get("q") or "").strip()
    bills = selectors.bills_find(q=q, account_id=_account_id(q) if q else None)
    numbers = account_numbers(account_ids={b.account_id for b in bills})
    return render(request, "billing/hub/bills.html", {
        "form": form, "rows": [(b, numbers.get(b.account_id, b.account_id)) for b in bills], "q": q, "tab": "bills",
    })


@role_required(*VIEWERS)
def bill_detail(request, bill_id: int):
    try:
        detail = selectors.bill_detail(bill_id=bill_id)
    except Bill.DoesNotExist:
        raise Http404(f"No bill {bill_id}.") from None
    bill = detail.bill
    document = pdf.bill_document(bill=bill)
    return render(request, "billing/hub/bill.html", {
        "bill": bill, "doc": document, "pdf_document": pdf.bill_document_of(bill),
        "exceptions": detail.exceptions,
        "ledger": detail.ledger_entries,
        "replaced_by": detail.replaced_by,
        "history": selectors.bill_history(bill_id=bill.pk),
        "agreement_numbers": {a.id: a.agreement_number for a in agreements_by_ids(
            agreement_ids={s.segment.agreement_id for s in document.segments})},
        "can_act": has_role(request.user, Role.ADMIN, *STAFF),
        "reason_form": ReasonForm(),
        "tab": "bills",
    })


@role_required(*VIEWERS)
def bill_ebill(request, bill_id: int):
    return pdf.bill_html_response(request, _bill(bill_id))


@role_required(*VIEWERS)
def bill_pdf(request, bill_id: int):
    """GET: the stored PDF, or a "being prepared" page (202) while it renders in the background.
    POST (staff): regenerate it in the background."""
    bill = _bill(bill_id)
    if request.method == "POST":
        return _bill_pdf_regenerate(request, bill)
    return pdf.bill_pdf_response(request, bill, download=request.GET.get("download") == "1")


@role_required(*STAFF)
def _bill_pdf_regenerate(request, bill: Bill):
    pdf.bill_document_regenerate(bill=bill, now=request_now())
    messages.success(request, f"The PDF of bill {bill} is being prepared again; the link serves it when it is ready.")
    return redirect("billing:bill", bill_id=bill.pk)


@require_POST
@role_required(*STAFF)
def bill_cancel(request, bill_id: int):
    bill = _bill(bill_id)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Not cancelled: " + form_errors(form))
        return redirect("billing:bill", bill_id=bill.pk)
    now = request_now()
    try:
        rebill.bill_cancel(bill=bill, reason=form.cleaned_data["reason"], effective_date=local_today(now), now=now,
                           actor=Actor.of(request.user))
    except rebill.RebillError as exc:
        messages.error(request, f"Not cancelled: {exc}")
    else:
        messages.success(request, f"Bill {bill} cancelled; its ledger entries are reversed.")
    return redirect("billing:bill", bill_id=bill.pk)


@require_POST
@role_required(*STAFF)
def bill_rebill(request, bill_id: int):
    bill = _bill(bill_id)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Not rebilled: " + form_errors(form))
        return redirect("billing:bill", bill_id=bill.pk)
    now = request_now()
    today = local_today(now)
    try:
        new = rebill.bill_rebill(bill=bill, reason=form.cleaned_data["reason"], bill_date=today, as_of=today, now=now,
                                 actor=Actor.of(request.user))
    except rebill.RebillError as exc:
        messages.error(request, f"Not rebilled: {exc}")
        return redirect("billing:bill", bill_id=bill.pk)
    messages.success(request, f"Bill {bill} cancelled and rebilled as {new}.")
    return redirect("billing:bill", bill_id=new.pk)


@require_POST
@role_required(*STAFF)
def bill_issue(request, bill_id: int):
    bill = _bill(bill_id)
    try:
        bill = bill_runs.bill_issue(bill=bill, now=request_now(), actor=Actor.of(request.user))
    except bill_runs.BillRunError as exc:
        messages.error(request, f"Not issued: {exc}")
    else:
        messages.success(request, f"Bill {bill} issued.")
    return redirect("billing:bill", bill_id=bill.pk)


@require_POST
@role_required(*STAFF)
def final_bill(request):
    form = FinalBillForm(request.POST)
    if not form.is_valid():
        messages.error(request, "No final bill: " + form_errors(form))
        return redirect("billing:hub")
    account_id = _account_id(form.cleaned_data["account_number"])
    if account_id is None:
        messages.error(request, f"No final bill: no account {form.cleaned_data['account_number']}.")
        return redirect("billing:hub")
    now = request_now()
    try:
        bill = rebill.bill_final(account_id=account_id, bill_date=form.cleaned_data["bill_date"],
                                 as_of=local_today(now))
    except rebill.RebillError as exc:
        messages.error(request, f"No final bill: {exc}")
        return redirect("billing:hub")
    held = bill.exceptions.filter(status=BillException.Status.OPEN).exists()
    messages.success(request, f"Final bill drafted for {form.cleaned_data['account_number']}"
                              + (" and held for pre-bill exceptions." if held else "; check it and issue it."))
    return redirect("billing:bill", bill_id=bill.pk)

