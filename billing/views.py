from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from billing.payments.models import Payment
from billing.payments.services import payment_post
from billing.services import adjustments
from billing.forms import AdjustmentForm, PaymentForm
from cis.selectors import account_get
from core.actors import Actor
from core.permissions import role_required
from core.roles import Role


def _account_or_404(account_number: str):
    try:
        return account_get(account_number=account_number)
    except Exception as exc:  # noqa: BLE001 - DoesNotExist of cis's model
        raise Http404("No such account") from exc


def _errors_text(form: forms.Form) -> str:
    """A bound form's errors on one line: "field: message message; field: message"."""
    return "; ".join(f"{name}: {' '.join(str(message) for message in errors)}" for name, errors in form.errors.items())


def _back(account):
    return redirect(f"/hub/accounts/{account.account_number}/#panel-billing.balance")


@require_POST
@role_required(Role.CSR, Role.BILLING)
def post_payment(request, account_number: str):
    account = _account_or_404(account_number)
    form = PaymentForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Payment not posted: " + _errors_text(form))
        return _back(account)
    data = form.cleaned_data
    try:
        payment = payment_post(
            account_id=account.pk, amount=data["amount"], received_date=data["received_date"],
            channel=Payment.Channel.CASHIER, tender_type=data["tender_type"], reference=data["reference"],
            reason=data["reason"], actor=Actor.of(request.user),
        )
    except ValidationError as exc:
        messages.error(request, "Payment not posted: " + "; ".join(exc.messages))
        return _back(account)
    messages.success(request, f"Payment of ${payment.amount} ({payment.get_tender_type_display().lower()}) posted to "
                              f"{account.account_number}: receipt {payment.receipt_number}.")
    return _back(account)


@require_POST
@role_required(Role.CSR, Role.BILLING)
def post_adjustment(request, account_number: str):
    account = _account_or_404(account_number)
    form = AdjustmentForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Adjustment not posted: " + _errors_text(form))
        return _back(account)
    try:
        outcome = adjustments.adjustment_submit(
            account_id=account.pk, amount=form.cleaned_data["amount"],
            effective_date=form.cleaned_data["effective_date"], reason=form.cleaned_data["reason"],
            actor=Actor.of(request.user), now=timezone.now(),
        )
    except ValidationError as exc:
        messages.error(request, "Adjustment not posted: " + "; ".join(exc.messages))
        return _back(account)
    if outcome.entry is not None:
        messages.success(request, f"Adjustment of ${outcome.entry.amount} posted to {account.account_number}.")
    elif outcome.request is not None:
        messages.warning(
            request,
            f"Credit of ${-outcome.request.amount} is above the ${adjustments.adjustment_approval_limit()} limit: "
            f"not posted yet. Request {outcome.request.pk} waits for approval by billing staff.",
        )
    return _back(account)
