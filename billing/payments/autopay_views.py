"""The account page's autopay forms (enrol, cancel) and the Billing Hub's autopay pieces: the
bank's returns file upload and the review of held debits (send anyway / skip). Each post is one
billing.payments.autopay (or autopay_review) call; a refusal goes back with its errors."""
from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect
from django.urls import path
from django.views.decorators.http import require_POST

from billing.hub.common import STAFF, form_errors, local_today, request_now
from billing.payments import autopay, autopay_review
from billing.payments.autopay_models import AutopayDebit
from billing.payments.autopay_panels import CancelForm, EnrolForm, keep_refused
from cis.selectors import account_get
from core.actors import Actor
from core.permissions import role_required
from core.roles import Role


def _account(account_number: str):
    try:
        return account_get(account_number=account_number)
    except Exception as exc:  # noqa: BLE001 - cis's DoesNotExist
        raise Http404("No such account") from exc


def _back(account):
    return redirect(f"/hub/accounts/{account.account_number}/#panel-billing.autopay")


@require_POST
@role_required(Role.CSR, Role.BILLING)
def autopay_enrol(request, account_number: str):
    account = _account(account_number)
    form = EnrolForm(request.POST)
    if not form.is_valid():
        keep_refused(request, account.account_number, request.POST, {k: [str(m) for m in v] for k, v in form.errors.items()})
        messages.error(request, "Autopay not set up: correct the fields marked below.")
        return _back(account)
    data = form.cleaned_data
    try:
        enrolment = autopay.autopay_enrol(
            account_id=account.pk, routing_number=data["routing_number"], account_number=data["account_number"],
            account_type=data["account_type"], holder_name=data["holder_name"], start_date=data["start_date"],
            max_amount=data["max_amount"], reason=data["reason"], actor=Actor.of(request.user))
    except ValidationError as exc:
        keep_refused(request, account.account_number, request.POST, exc.message_dict)
        messages.error(request, "Autopay not set up: correct the fields marked below.")
        return _back(account)
    except autopay.AutopayError as exc:
        messages.error(request, f"Autopay not set up: {exc}")
        return _back(account)
    messages.success(request, f"Autopay set up for {account.account_number}: bills due from {enrolment.start_date} "
                              f"are debited from account {autopay.masked_account(enrolment)}.")
    return _back(account)


@require_POST
@role_required(Role.CSR, Role.BILLING)
def autopay_cancel(request, account_number: str):
    account = _account(account_number)
    enrolment = autopay.active_enrolment(account_id=account.pk)
    form = CancelForm(request.POST)
    if enrolment is None:
        messages.error(request, f"{account.account_number} has no active autopay enrolment.")
        return _back(account)
    if not form.is_valid():
        messages.error(request, "Autopay not cancelled: say why.")
        return _back(account)
    try:
        autopay.autopay_cancel(enrolment=enrolment, reason=form.cleaned_data["reason"], actor=Actor.of(request.user))
    except (ValidationError, autopay.AutopayError) as exc:
        messages.error(request, f"Autopay not cancelled: {'; '.join(getattr(exc, 'messages', [str(exc)]))}")
        return _back(account)
    messages.success(request, f"Autopay cancelled for {account.account_number}.")
    return _back(account)


MAX_RETURNS_BYTES = 5 * 1024 * 1024


class ReturnsUploadForm(forms.Form):
    file = forms.FileField(label="Returns file (NACHA)")
    return_date = forms.DateField(required=False, help_text="Blank: the file's creation date.")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_RETURNS_BYTES:
            raise ValidationError(f"The file is larger than {MAX_RETURNS_BYTES // (1024 * 1024)} MB.")
        return upload


class HeldReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=[(autopay_review.SEND, "Send anyway"), (autopay_review.SKIP, "Skip")])
    reason = forms.CharField(max_length=200)


@require_POST
@role_required(*STAFF)
def autopay_returns_upload(request):
    form = ReturnsUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "Returns file not imported: " + form_errors(form))
        return redirect("billing:payments")
    upload = form.cleaned_data["file"]
    result = autopay.autopay_returns_import(content=upload.read(), actor=Actor.of(request.user, f"Returns file {upload.name}"),
                                            return_date=form.cleaned_data["return_date"])
    summary = (f"{upload.name}: {len(result.returned)} returned (payment reversed, fee charged), "
               f"{len(result.already)} already returned, {len(result.cancelled)} enrolments cancelled")
    if result.errors:
        messages.error(request, summary + f"; {len(result.errors)} lines not read: " + "; ".join(
            f"line {e.line_number} {e.field}: {e.message}" for e in result.errors[:20]))
    else:
        messages.success(request, summary + ".")
    return redirect("billing:payments")


@require_POST
@role_required(*STAFF)
def autopay_held_review(request, debit_id: int):
    debit = AutopayDebit.objects.filter(pk=debit_id).first()
    if debit is None:
        messages.error(request, f"There is no autopay debit {debit_id}.")
        return redirect("billing:payments")
    form = HeldReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Debit of bill {debit.bill_id} not reviewed: " + form_errors(form))
        return redirect("billing:payments")
    now = request_now()
    try:
        reviewed = autopay_review.autopay_held_review(debit=debit, decision=form.cleaned_data["decision"],
                                                      reason=form.cleaned_data["reason"], actor=Actor.of(request.user),
                                                      now=now)
    except ValidationError as exc:
        messages.error(request, f"Debit of bill {debit.bill_id} not reviewed: " + "; ".join(exc.messages))
        return redirect("billing:payments")
    except autopay.AutopayError as exc:
        messages.error(request, f"Debit of bill {debit.bill_id} not reviewed: {exc}")
        return redirect("billing:payments")
    if reviewed.status == AutopayDebit.Status.SENT and reviewed.file is not None:
        debit_file = reviewed.file
        transaction.on_commit(lambda: autopay_review.debit_file_to_outbox(debit_file))
        messages.success(request, f"Debit of {reviewed.amount} sent anyway in file {reviewed.due_date} "
                                  f"{debit_file.file_id_modifier} (effective {max(reviewed.due_date, local_today(now))}).")
    else:
        messages.success(request, f"Debit of bill {reviewed.bill_id} skipped: the bill is not debited.")
    return redirect("billing:payments")


# Spread into billing/urls.py (the billing namespace).
urlpatterns = [
    path("payments/autopay/returns/", autopay_returns_upload, name="autopay-returns-upload"),
    path("payments/autopay/held/<int:debit_id>/review/", autopay_held_review, name="autopay-held-review"),
    path("accounts/<str:account_number>/autopay/", autopay_enrol, name="autopay-enrol"),
    path("accounts/<str:account_number>/autopay/cancel/", autopay_cancel, name="autopay-cancel"),
]
