"""The portal's payment options: autopay from a bank account, the equal payment plan with its
calculator, a payment arrangement and paperless bills; and what the home pages say about
them (`plans_status`).

Like every portal page these take the account from the URL through `linked_account` (another
customer's account is a 404). Only a login that may pay for the account (the holder, or a
person invited with pay access: `portal.scoping.may_pay`) may change anything; a view-only
person sees the status and no form, and a POST from them is a 403. Every change is one call
to billing's or cis's service with the login as the actor and the reason saying it was the
customer, in the portal (the services audit it); bad input is a form error (400) and nothing
is saved."""
from __future__ import annotations

import datetime as dt
import logging

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters

from billing.selectors import (
    account_overdue,
    arrangement_active,
    arrangement_schedule,
    arrangements_broken_since,
    autopay_active,
    budget_plan_active,
    budget_plan_types_offered,
)
from billing.services import (
    AutopayError,
    BudgetError,
    autopay_cancel,
    autopay_enrol,
    budget_eligibility,
    budget_enrol,
    budget_leave,
    budget_quote,
    payment_arrangement_create,
)
from cis import services as cis_services
from core.actors import Actor
from core.clock import utility_today
from core.money import format_money
from portal import plans_forms
from portal.plans_forms import (
    ArrangementForm,
    AutopayForm,
    BudgetEnrolForm,
    BudgetLeaveForm,
    PaperlessForm,
    ReasonForm,
    say_budget_reason,
)
from portal.scoping import linked_account, may_pay, portal_view

log = logging.getLogger(__name__)


def plans_status(account) -> dict:
    """What the home pages show of an account's payment options (reads only)."""
    return {"autopay": autopay_active(account_id=account.pk), "budget": budget_plan_active(account_id=account.pk),
            "arrangement": arrangement_active(account_id=account.pk),
            "paperless": account.bill_delivery == "email"}


def _changer(request, acct) -> bool:
    """May this login change the account's payment options? A POST from one that may not is a 403."""
    allowed = may_pay(request.user, acct)
    if request.method == "POST" and not allowed:
        raise PermissionDenied(_("You may see this account but not change how it is paid: ask the account holder "
                                 "for pay access."))
    return allowed


def _actor(request, what: str, said: str = "") -> Actor:
    """The login, with why: what the customer did in the portal, and their own words if any."""
    reason = f"{what} in the customer portal by {request.user.get_username()}"
    return Actor.of(request.user, reason + (f": {said.strip()}" if said.strip() else ""))


def _render(request, template: str, acct, context: dict, status: int = 200):
    return render(request, template, {"account": acct, "tab": "pay", **context}, status=status)


# ---- autopay -------------------------------------------------------------------------------

@sensitive_post_parameters("routing_number", "account_number")
@portal_view
def autopay(request, account_number: str):
    acct = linked_account(request.user, account_number)
    can_change = _changer(request, acct)
    current = autopay_active(account_id=acct.pk)
    form = AutopayForm(request.POST or None) if current is None else None
    status = 200
    if request.method == "POST" and form is not None:
        if form.is_valid():
            data = form.cleaned_data
            try:
                enrolment = autopay_enrol(
                    account_id=acct.pk, routing_number=data["routing_number"], account_number=data["account_number"],
                    account_type=data["account_type"], holder_name=data["holder_name"], start_date=utility_today(),
                    max_amount=data["max_amount"], actor=Actor.of(request.user),
                    reason=_actor(request, "Autopay authorised (debit agreement accepted)").reason)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            except AutopayError:
                form.add_error(None, _("This account already has autopay: cancel it first to use another bank account."))
            else:
                view = autopay_active(account_id=acct.pk)
                messages.success(request, _("Autopay is set up: each bill due from %(day)s on is taken from account "
                                            "%(masked)s on its due date.") % {
                    "day": enrolment.start_date.isoformat(), "masked": view.masked_account if view else ""})
                return redirect("portal:autopay", account_number=acct.account_number)
        status = 400
        # The bank numbers are never shown back.
        shown = request.POST.copy()
        for name in ("routing_number", "account_number"):
            shown.pop(name, None)
        form.data = shown
    elif request.method == "POST":
        form = None
        messages.error(request, _("This account already has autopay: cancel it first to use another bank account."))
        return redirect("portal:autopay", account_number=acct.account_number)
    return _render(request, "portal/plans/autopay.html", acct, {"current": current, "form": form,
                                                               "can_change": can_change}, status)


@portal_view
def autopay_stop(request, account_number: str):
    """GET asks, POST cancels the active enrolment."""
    acct = linked_account(request.user, account_number)
    can_change = _changer(request, acct)
    current = autopay_active(account_id=acct.pk)
    form = ReasonForm(request.POST or None)
    if request.method == "POST":
        if current is None:
            messages.error(request, _("This account has no autopay to cancel."))
            return redirect("portal:autopay", account_number=acct.account_number)
        if form.is_valid():
            said = form.cleaned_data["reason"]
            try:
                autopay_cancel(enrolment=current.enrolment, reason=_actor(request, "Autopay cancelled", said).reason,
                               actor=Actor.of(request.user))
            except (ValidationError, AutopayError):
                messages.error(request, _("This account has no autopay to cancel."))
            else:
                messages.success(request, _("Autopay is cancelled. Pay your next bills another way; a debit already "
                                            "sent to your bank still goes through."))
            return redirect("portal:autopay", account_number=acct.account_number)
        return _render(request, "portal/plans/autopay_stop.html", acct,
                       {"current": current, "form": form, "can_change": can_change}, 400)
    return _render(request, "portal/plans/autopay_stop.html", acct,
                   {"current": current, "form": form, "can_change": can_change})


# ---- the equal payment plan ---------------------------------------------------------------

def _plan_type(code: str):
    types = budget_plan_types_offered()
    return next((t for t in types if t.code == code), types[0] if types else None), types


@portal_view
def budget(request, account_number: str):
    """The calculator (the quote and every reason the account cannot join) and enrolment; or
    the plan the account is on."""
    acct = linked_account(request.user, account_number)
    can_change = _changer(request, acct)
    today = utility_today()
    current = budget_plan_active(account_id=acct.pk)
    context: dict = {"current": current, "can_change": can_change}
    if current is not None:
        if request.method == "POST":
            messages.error(request, _("The account is already on an equal payment plan."))
            return redirect("portal:budget", account_number=acct.account_number)
        return _render(request, "portal/plans/budget.html", acct, context)
    chosen, types = _plan_type(request.POST.get("plan_type") or request.GET.get("plan") or "")
    form = BudgetEnrolForm(request.POST or None, plan_types=types,
                           initial={"plan_type": chosen.code if chosen else ""})
    status = 200
    reasons: list[str] = []
    quote = None
    if chosen is not None:
        reasons = [say_budget_reason(r) for r in budget_eligibility(account_id=acct.pk, plan_type=chosen, as_of=today)]
        try:
            quote = budget_quote(account_id=acct.pk, plan_type=chosen, as_of=today)
        except BudgetError as exc:
            reasons += [say_budget_reason(r) for r in exc.reasons]
    if request.method == "POST":
        if chosen is None:
            form.add_error(None, _("No equal payment plan is offered at the moment."))
        elif form.is_valid() and not reasons:
            try:
                plan = budget_enrol(account_id=acct.pk, plan_type=chosen, as_of=today,
                                    actor=Actor.of(request.user),
                                    reason=_actor(request, "Equal payment plan enrolment").reason)
            except BudgetError as exc:
                for reason in exc.reasons:
                    form.add_error(None, say_budget_reason(reason))
            else:
                messages.success(request, _("You are on the equal payment plan: your bills from %(day)s on ask for "
                                            "%(amount)s a month.") % {"day": plan.start_date.isoformat(),
                                                                      "amount": format_money(plan.monthly_amount)})
                return redirect("portal:budget", account_number=acct.account_number)
        elif reasons:
            form.add_error(None, _("The account cannot join the plan now (the reasons are listed above)."))
        status = 400
    context.update({"form": form, "plan_type": chosen, "plan_types": types, "quote": quote, "reasons": reasons})
    return _render(request, "portal/plans/budget.html", acct, context, status)


@portal_view
def budget_stop(request, account_number: str):
    """GET states what leaving does (the deferred balance settled now), POST leaves."""
    acct = linked_account(request.user, account_number)
    can_change = _changer(request, acct)
    current = budget_plan_active(account_id=acct.pk)
    form = BudgetLeaveForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if current is None:
            messages.error(request, _("This account is not on an equal payment plan."))
            return redirect("portal:budget", account_number=acct.account_number)
        if form.is_valid():
            said = form.cleaned_data["reason"]
            try:
                settlement = budget_leave(plan=current.plan, on=utility_today(), actor=Actor.of(request.user),
                                          reason=_actor(request, "Left the equal payment plan", said).reason)
            except BudgetError:
                messages.error(request, _("This account is not on an equal payment plan."))
                return redirect("portal:budget", account_number=acct.account_number)
            if settlement.balance > 0:
                text = _("You have left the plan. %(amount)s, what your charges came to above the plan amounts, is "
                         "now on your balance.") % {"amount": format_money(settlement.balance)}
            elif settlement.balance < 0:
                text = _("You have left the plan. Your plan payments were %(amount)s more than your charges: it is "
                         "credited to your account.") % {"amount": format_money(-settlement.balance)}
                if settlement.refund_due > 0:
                    text += " " + _("We will refund %(amount)s to you.") % {"amount": format_money(settlement.refund_due)}
            else:
                text = _("You have left the plan. Your plan payments matched your charges: nothing changes on your balance.")
            messages.success(request, text)
            return redirect("portal:budget", account_number=acct.account_number)
        status = 400
    return _render(request, "portal/plans/budget_stop.html", acct,
                   {"current": current, "form": form, "can_change": can_change,
                    "credit": -current.deferred if current is not None else None}, status)


# ---- a payment arrangement ----------------------------------------------------------------

@portal_view
def arrangement(request, account_number: str):
    """What is overdue, the portal's rules, a schedule to preview and confirm; or the
    arrangement in force with its instalments."""
    acct = linked_account(request.user, account_number)
    can_change = _changer(request, acct)
    today = utility_today()
    current = arrangement_active(account_id=acct.pk)
    overdue = account_overdue(account_id=acct.pk, as_of=today)
    arrears = overdue.amount
    refusal = ""
    if current is None:
        if arrears <= 0:
            refusal = _("Nothing on the account is overdue, so there is nothing to arrange.")
        elif arrears > plans_forms.ARRANGEMENT_MAX_ARREARS:
            refusal = _("Arrears above %(max)s are arranged with us: please contact us.") % {
                "max": format_money(plans_forms.ARRANGEMENT_MAX_ARREARS)}
        elif arrangements_broken_since(account_id=acct.pk, since=today - plans_forms.ARRANGEMENT_BROKEN_LOOKBACK):
            refusal = _("An arrangement on this account was not kept in the last 12 months: please contact us to "
                        "make a new one.")
    form = ArrangementForm(request.POST or None, today=today, arrears=arrears,
                           initial={"instalments": 3, "first_due": today + dt.timedelta(days=14)})
    schedule = None
    status = 200
    if request.method == "POST":
        if current is not None:
            messages.error(request, _("This account already has a payment arrangement."))
            return redirect("portal:arrangement", account_number=acct.account_number)
        if refusal:
            form.add_error(None, refusal)
        elif form.is_valid():
            data = form.cleaned_data
            if request.POST.get("step") == "confirm":
                try:
                    payment_arrangement_create(
                        account_id=acct.pk, arrears=arrears, instalments=data["instalments"], first_due=data["first_due"],
                        on=today, every_days=plans_forms.ARRANGEMENT_EVERY_DAYS,
                        actor=_actor(request, "Payment arrangement made"),
                        note=f"Made by the customer in the portal ({request.user.get_username()})")
                except ValidationError as exc:
                    log.info("portal arrangement refused for %s: %s", acct.account_number, exc.messages)
                    form.add_error(None, _("This account already has a payment arrangement."))
                else:
                    messages.success(request, _("Your payment arrangement is made. Pay each instalment by its date, on "
                                                "top of your new bills."))
                    return redirect("portal:arrangement", account_number=acct.account_number)
            else:  # worked out and shown; nothing saved
                schedule = arrangement_schedule(arrears=arrears, instalments=data["instalments"],
                                                first_due=data["first_due"], every_days=plans_forms.ARRANGEMENT_EVERY_DAYS)
        status = 200 if schedule else 400
    return _render(request, "portal/plans/arrangement.html", acct, {
        "current": current, "form": form, "can_change": can_change, "overdue": overdue, "refusal": refusal,
        "schedule": schedule, "rules": _rules()}, status)


def _rules() -> dict:
    return {"low": plans_forms.ARRANGEMENT_MIN_INSTALMENTS, "high": plans_forms.ARRANGEMENT_MAX_INSTALMENTS,
            "days": plans_forms.ARRANGEMENT_EVERY_DAYS, "min": plans_forms.ARRANGEMENT_MIN_INSTALMENT,
            "max": plans_forms.ARRANGEMENT_MAX_ARREARS}


# ---- paperless bills ----------------------------------------------------------------------

@portal_view
def paperless(request, account_number: str):
    acct = linked_account(request.user, account_number)
    can_change = _changer(request, acct)
    form = PaperlessForm(request.POST or None, initial={"bill_delivery": acct.bill_delivery})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            chosen = form.cleaned_data["bill_delivery"]
            try:
                cis_services.account_bill_delivery_set(
                    account=acct, delivery=chosen, user=request.user,
                    reason=_actor(request, f"Bill delivery set to {chosen}").reason)
            except ValidationError as exc:
                form.add_error("bill_delivery", exc.messages)
            else:
                if chosen == "email":
                    messages.success(request, _("Paperless billing is on: we email %(email)s when each bill is ready, "
                                                "and mail no paper bill.") % {"email": request.user.email})
                else:
                    messages.success(request, _("Paper bills are back on: each bill is mailed to your billing "
                                                "address."))
                return redirect("portal:paperless", account_number=acct.account_number)
        status = 400
    return render(request, "portal/plans/paperless.html", {
        "account": acct, "tab": "bills", "form": form, "can_change": can_change,
        "paperless": acct.bill_delivery == "email", "email": request.user.email}, status=status)
