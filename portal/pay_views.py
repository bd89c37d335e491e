"""The portal's pay pages: the card form (`pay`) and where a payment stands (`pay_status`).
Both take the account from the URL through `linked_account` (another customer's account is a
404) and write only through billing.services.card_payment_take; the payment is posted by
billing when the gateway confirms it (its webhook, or the poll job when no webhook came)."""
from __future__ import annotations

import logging
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.debug import sensitive_post_parameters

from billing.selectors import (
    CardCharge,
    account_balance,
    account_charges_to_date,
    bills_list,
    card_charge_for_account,
    card_charges_for_account,
)
from billing.services import CardRejected, GatewayUnavailable, card_payment_take, card_rejection_text
from core.actors import Actor
from core.clock import utility_today
from portal.payments import PayForm, charge_state, new_attempt
from portal.scoping import linked_account, may_pay, portal_view

log = logging.getLogger(__name__)


def _money_facts(acct) -> dict:
    balance = account_balance(account_id=acct.pk)
    last_bill = bills_list(include_drafts=False, account_id=acct.pk, status="issued").first()
    return {"balance": balance, "last_bill": last_bill}


def _suggested(balance: Decimal) -> Decimal | None:
    """What to offer in the amount field: what is owed (the balance), else nothing."""
    return balance if balance > 0 else None


def account_money(acct) -> dict:
    """What the account's home adds about money: card payments waiting for the processor, and
    the charges to date with the projected bill (billing's rating, nothing saved)."""
    pending = [(c, charge_state(c)) for c in card_charges_for_account(account_id=acct.pk, limit=5)
               if c.status in (CardCharge.Status.STARTED, CardCharge.Status.PENDING)]
    return {"pending": pending, "to_date": account_charges_to_date(
        account_id=acct.pk, as_of=utility_today(), bill_cycle_code=acct.bill_cycle_code)}


@sensitive_post_parameters("card_number", "cvc")
@portal_view
def pay(request, account_number: str):
    acct = linked_account(request.user, account_number)
    facts = _money_facts(acct)
    status = 200
    can_pay = may_pay(request.user, acct)  # an invited view-only person sees the balance, pays nothing
    if request.method == "POST" and not can_pay:
        raise PermissionDenied(gettext("You may see this account but not pay for it: ask the account holder for pay access."))
    if request.method == "POST":
        form = PayForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                charge = card_payment_take(
                    account_id=acct.pk, amount=data["amount"], card_number=data["card_number"],
                    exp_month=data["exp_month"], exp_year=data["exp_year"], cvc=data["cvc"],
                    actor=Actor.of(request.user, reason="Card payment in the customer portal"),
                    idempotency_key=data["attempt"])
            except CardRejected as exc:
                form.add_error(exc.field if exc.field in form.fields else "card_number",
                               card_rejection_text(code=exc.code, message=str(exc)))
            except ValidationError as exc:
                form.add_error(None, "; ".join(exc.messages))
            except (GatewayUnavailable, ImproperlyConfigured) as exc:
                log.warning("card gateway unavailable for a portal payment: %s", exc)
                form.add_error(None, gettext("We could not reach the card processor, so nothing was charged. "
                                             "Please try again in a few minutes."))
                status = 503
            else:
                return redirect(f"{reverse('portal:pay-status', args=[acct.account_number])}"
                                f"?ref={charge.reference}")
        if status == 200:
            status = 400
        # The card number and the security code are never shown back; a new one-time id, as
        # a charge the gateway could not take is recorded under the old one.
        shown = request.POST.copy()
        for name in ("card_number", "cvc"):
            shown.pop(name, None)
        shown["attempt"] = new_attempt()
        form.data = shown
    else:
        suggested = _suggested(facts["balance"])
        form = PayForm(initial={"amount": suggested, "attempt": new_attempt()})
    recent = [(c, charge_state(c)) for c in card_charges_for_account(account_id=acct.pk, limit=5)]
    return render(request, "portal/pay.html", {"account": acct, "form": form, "recent": recent, "tab": "pay",
                                               "sandbox": settings.UTILIS_PAYMENT_GATEWAY == "sandbox", "can_pay": can_pay,
                                               **facts},
                  status=status)


@portal_view
def pay_status(request, account_number: str):
    """One payment (`?ref=`, a reference of this account's charges; any other is a 404) or
    the account's recent card payments."""
    acct = linked_account(request.user, account_number)
    reference = request.GET.get("ref", "")
    charge = None
    if reference:
        try:
            charge = card_charge_for_account(account_id=acct.pk, reference=reference)
        except ObjectDoesNotExist:
            raise Http404("No such payment on this account.") from None
    recent = [(c, charge_state(c)) for c in card_charges_for_account(account_id=acct.pk, limit=10)]
    return render(request, "portal/pay_status.html", {
        "account": acct, "charge": charge, "state": charge_state(charge) if charge else None, "recent": recent,
        "tab": "pay", **_money_facts(acct)})
