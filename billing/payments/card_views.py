"""The card channel's two doors: a CSR takes a card payment on the account page (the Payments
panel's "Take a card payment"), and the gateway's webhook confirms it.

The card number is posted to Utilis' server, which passes it to the gateway's tokenise call and
drops it (docs/payments.md says why this and not browser-side tokenisation): the form never
shows it again, and `sensitive_post_parameters` keeps it and the CVC out of error reports."""
from __future__ import annotations

import logging
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from billing.payments.card import (
    CardCharge,
    CardRejected,
    GatewayUnavailable,
    WebhookRejected,
    card_payment_take,
    card_webhook_receive,
)
from cis.selectors import account_get
from core.actors import Actor
from core.clock import utility_today
from core.permissions import role_required
from core.roles import Role

log = logging.getLogger(__name__)
MAX_WEBHOOK_BYTES = 64 * 1024


class CardPaymentForm(forms.Form):
    amount = forms.DecimalField(min_value=Decimal("0.01"), max_digits=9, decimal_places=2)
    card_number = forms.CharField(
        max_length=23, strip=True, widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
        help_text="Sent to the card gateway to be tokenised; Utilis keeps only the brand and last 4 digits.")
    exp_month = forms.IntegerField(min_value=1, max_value=12, label="Expiry month")
    exp_year = forms.IntegerField(min_value=2000, max_value=2100, label="Expiry year")
    cvc = forms.CharField(min_length=3, max_length=4, label="CVC",
                          widget=forms.PasswordInput(attrs={"autocomplete": "off", "inputmode": "numeric"}))

    def clean_card_number(self) -> str:
        digits = "".join(ch for ch in self.cleaned_data["card_number"] if ch not in " -")
        if not digits.isdigit() or not 12 <= len(digits) <= 19:
            raise ValidationError("A card number is 12 to 19 digits.")
        return digits

    def clean_cvc(self) -> str:
        cvc = self.cleaned_data["cvc"]
        if not cvc.isdigit():
            raise ValidationError("The CVC is 3 or 4 digits.")
        return cvc

    def clean(self):
        data = super().clean()
        month, year = data.get("exp_month"), data.get("exp_year")
        if month and year and (year, month) < (utility_today().year, utility_today().month):
            self.add_error("exp_year", "The card has expired.")
        return data


def _back(account_number: str):
    return redirect(f"/hub/accounts/{account_number}/#panel-billing.payments")


@sensitive_post_parameters("card_number", "cvc")
@require_POST
@role_required(Role.CSR, Role.BILLING)
def take_card_payment(request: HttpRequest, account_number: str):
    try:
        account = account_get(account_number=account_number)
    except Exception as exc:  # noqa: BLE001 - DoesNotExist of cis's model
        raise Http404("No such account") from exc
    form = CardPaymentForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(f"{name}: {' '.join(str(m) for m in errs)}" for name, errs in form.errors.items())
        messages.error(request, "Card not charged: " + errors)
        return _back(account.account_number)
    data = form.cleaned_data
    try:
        charge = card_payment_take(account_id=account.pk, amount=data["amount"], card_number=data["card_number"],
                                   exp_month=data["exp_month"], exp_year=data["exp_year"], cvc=data["cvc"],
                                   actor=Actor.of(request.user))
    except (CardRejected, ValidationError) as exc:
        messages.error(request, "Card not charged: " + ("; ".join(exc.messages) if isinstance(exc, ValidationError)
                                                         else str(exc)))
        return _back(account.account_number)
    except (GatewayUnavailable, ImproperlyConfigured) as exc:
        log.warning("card gateway unavailable: %s", exc)
        messages.error(request, f"The card gateway did not answer; nothing was charged ({exc}).")
        return _back(account.account_number)
    card = f"{charge.brand} ending {charge.last4}"
    if charge.status == CardCharge.Status.DECLINED or charge.status == CardCharge.Status.FAILED:
        messages.error(request, f"Card declined ({card}): {charge.message}. Nothing was posted.")
    elif charge.status == CardCharge.Status.SUCCEEDED and charge.payment is not None:
        messages.success(request, f"Card payment of ${charge.amount} ({card}) posted: receipt "
                                  f"{charge.payment.receipt_number}.")
    else:
        messages.success(request, f"Card payment of ${charge.amount} ({card}) approved as gateway transaction "
                                  f"{charge.transaction_id}; it is posted when the gateway confirms it.")
    return _back(account.account_number)


@csrf_exempt
@require_POST
def card_webhook(request: HttpRequest) -> HttpResponse:
    """The gateway's confirmations: 400 for a bad signature or a stale timestamp (the gateway
    will not be believed), 200 once applied (again for a repeat: nothing is posted twice)."""
    body = request.body
    if len(body) > MAX_WEBHOOK_BYTES:
        return JsonResponse({"detail": "Body too large."}, status=400)
    try:
        charge = card_webhook_receive(body=body, headers=request.headers)
    except WebhookRejected as exc:
        return JsonResponse({"detail": str(exc)}, status=400)
    except CardCharge.DoesNotExist:
        return JsonResponse({"detail": "No card charge of Utilis has this reference."}, status=404)
    except ValidationError as exc:
        return JsonResponse({"detail": "; ".join(exc.messages)}, status=422)
    if charge is None:
        return JsonResponse({"received": True, "applied": False})
    return JsonResponse({"received": True, "applied": True, "reference": charge.reference, "status": charge.status,
                         "receipt_number": charge.payment.receipt_number if charge.payment else None})


# Spread into billing/urls.py (the billing namespace); the webhook is routed in config/urls.py.
urlpatterns = [
    path("accounts/<str:account_number>/card-payment/", take_card_payment, name="card-payment"),
]
