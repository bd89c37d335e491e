"""The account page's autopay forms (enrol, cancel) and the Billing Hub's held-debit list. Each
post is one billing.payments.autopay call; a refusal goes back to the panel with its errors."""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.urls import path
from django.views.decorators.http import require_POST

from billing.payments import autopay
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


# Spread into billing/urls.py (the billing namespace).
urlpatterns = [
    path("accounts/<str:account_number>/autopay/", autopay_enrol, name="autopay-enrol"),
    path("accounts/<str:account_number>/autopay/cancel/", autopay_cancel, name="autopay-cancel"),
]
