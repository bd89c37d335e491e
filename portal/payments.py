"""Paying in the portal: the card form and what a customer is told about a card payment.

The card number is posted to Utilis' server, which hands it to the gateway's tokenise call
(billing.services.card_payment_take) and drops it: only the gateway's token, the brand and
the last 4 digits are stored (docs/payments.md "Card payments" says why this and not the
browser-side hosted fields a production gateway offers). The form never renders the number
or the CVC back, and the view keeps both out of error reports."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext, gettext_lazy as _

from billing.services import card_decline_reason
from core.clock import utility_today

# A portal payment larger than this is refused with a message (a mistyped 10000 for 100.00
# should not reach a customer's card); the CSR's card form has no such limit.
MAX_PORTAL_PAYMENT = Decimal("10000.00")


class PayForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount to pay ($)"), min_value=Decimal("0.01"), max_digits=9,
                                decimal_places=2, widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    card_number = forms.CharField(
        label=_("Card number"), max_length=23, strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "cc-number", "inputmode": "numeric"}))
    exp_month = forms.IntegerField(label=_("Expiry month (MM)"), min_value=1, max_value=12,
                                   widget=forms.TextInput(attrs={"autocomplete": "cc-exp-month",
                                                                 "inputmode": "numeric"}))
    exp_year = forms.IntegerField(label=_("Expiry year (YYYY)"), min_value=2000, max_value=2100,
                                  widget=forms.TextInput(attrs={"autocomplete": "cc-exp-year",
                                                                "inputmode": "numeric"}))
    cvc = forms.CharField(label=_("Security code (CVC)"), min_length=3, max_length=4,
                          widget=forms.PasswordInput(attrs={"autocomplete": "cc-csc", "inputmode": "numeric"}))
    # A one-time id of this form: submitting it twice (a double click, a reload) charges once.
    attempt = forms.CharField(widget=forms.HiddenInput, min_length=8, max_length=40)

    def clean_amount(self) -> Decimal:
        amount = self.cleaned_data["amount"]
        if amount > MAX_PORTAL_PAYMENT:
            raise ValidationError(gettext("At most $%(max)s in one payment here; call us for more.")
                                  % {"max": f"{MAX_PORTAL_PAYMENT:,.2f}"})
        return amount

    def clean_card_number(self) -> str:
        digits = "".join(ch for ch in self.cleaned_data["card_number"] if ch not in " -")
        if not digits.isdigit() or not 12 <= len(digits) <= 19:
            raise ValidationError(gettext("A card number is 12 to 19 digits."))
        return digits

    def clean_cvc(self) -> str:
        cvc = self.cleaned_data["cvc"]
        if not cvc.isdigit():
            raise ValidationError(gettext("The security code is 3 or 4 digits."))
        return cvc

    def clean_attempt(self) -> str:
        attempt = self.cleaned_data["attempt"]
        if not all(ch.isalnum() or ch == "-" for ch in attempt):
            raise ValidationError(gettext("Reload the page and try again."))
        return attempt

    def clean(self):
        data = super().clean()
        month, year = data.get("exp_month"), data.get("exp_year")
        today = utility_today()
        if month and year and (year, month) < (today.year, today.month):
            self.add_error("exp_year", gettext("The card has expired."))
        return data


def new_attempt() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class ChargeState:
    """What a customer reads about one card payment."""

    state: str  # "pending" | "paid" | "declined" | "returned"
    headline: str
    detail: str


def charge_state(charge) -> ChargeState:
    """The customer's words for a CardCharge (billing.selectors.CardCharge)."""
    card = gettext("%(brand)s ending %(last4)s") % {"brand": charge.brand or gettext("Card"), "last4": charge.last4}
    amount = f"${charge.amount:,.2f}"
    if charge.status == "succeeded" and charge.payment is not None:
        returned = getattr(charge.payment, "payment_return", None)
        refunded = sum((r.amount for r in charge.refunds.all()), Decimal("0.00"))
        if returned is not None:
            return ChargeState("returned", gettext("Payment of %(amount)s was taken back") % {"amount": amount},
                               gettext("Your card's bank reversed this payment (%(card)s); it is no longer on "
                                       "your account.") % {"card": card})
        detail = gettext("Paid with %(card)s. Receipt %(receipt)s.") % {"card": card,
                                                                         "receipt": charge.payment.receipt_number}
        if refunded:
            detail += " " + gettext("%(refunded)s was refunded to your card.") % {"refunded": f"${refunded:,.2f}"}
        return ChargeState("paid", gettext("Payment of %(amount)s received") % {"amount": amount}, detail)
    if charge.status in ("declined", "failed"):
        return ChargeState("declined", gettext("Payment of %(amount)s did not go through") % {"amount": amount},
                           gettext("%(card)s: %(why)s. Nothing was charged.")
                           % {"card": card, "why": card_decline_reason(code=charge.decline_code, message=charge.message)})
    return ChargeState("pending", gettext("Payment of %(amount)s is being confirmed") % {"amount": amount},
                       gettext("The card processor approved %(card)s and is confirming the payment. Your "
                               "balance changes when it does, usually within a minute.") % {"card": card})
