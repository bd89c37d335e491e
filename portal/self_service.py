"""The portal's self-service pages: alerts, move requests, contacting the utility, and personal
API tokens. Like every portal page they wear `portal_view` and reach an account only through
`linked_account`; a move request, contact or token of anyone else is a 404."""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from cis import selectors as cis_selectors
from cis import services as cis_services
from core.clock import utility_today
from portal import alerts as portal_alerts
from portal import tokens as portal_tokens
from portal.forms import AlertsForm, ContactUsForm, MoveRequestForm, TokenForm
from portal.models import AccountLink, AlertKind
from portal.scoping import linked_account, portal_view


def _link(user, account) -> AccountLink:
    return AccountLink.objects.get(user=user, account=account)


def _field_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


# ---- alerts -------------------------------------------------------------------------------

@portal_view
def alerts(request, account_number: str):
    acct = linked_account(request.user, account_number)
    link = _link(request.user, acct)
    current = portal_alerts.alert_preferences(link=link)
    form = AlertsForm(request.POST or None, kinds=AlertKind.choices, current=current)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                portal_alerts.alert_preferences_set(link=link, chosen=form.chosen(), now=timezone.now())
            except portal_alerts.AlertPreferenceError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("Your alerts are saved. They go to %(email)s.") % {"email": request.user.email})
                return redirect("portal:alerts", account_number=acct.account_number)
        status = 400
    return render(request, "portal/alerts.html", {
        "account": acct, "form": form, "tab": "alerts", "email": request.user.email,
        "deliveries": portal_alerts.alert_deliveries_recent(link=link)}, status=status)


# ---- moving -------------------------------------------------------------------------------

def _stop_choices(acct) -> tuple[list[tuple[str, str]], dict]:
    today = utility_today()
    points = {}
    for agreement in cis_selectors.account_agreements(account=acct):
        if agreement.end_date is None or agreement.end_date > today:
            sp = agreement.service_point
            points[sp.sp_number] = sp
    return [(n, f"{sp.premise.address_text()} ({sp.get_commodity_display().lower()})") for n, sp in points.items()], points


@portal_view
def moves(request, account_number: str):
    acct = linked_account(request.user, account_number)
    choices, points = _stop_choices(acct)
    form = MoveRequestForm(request.POST or None, service_points=choices)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                cis_services.move_request_submit(
                    account=acct, kind=data["kind"], today=utility_today(), now=timezone.now(), user=request.user,
                    service_point=points.get(data["service_point"]), move_out_date=data["move_out_date"],
                    move_in_date=data["move_in_date"], new_address=data["new_address"],
                    forwarding_address=data["forwarding_address"], phone=data["phone"], message=data["message"])
            except ValidationError as exc:
                _field_errors(form, exc)
            else:
                messages.success(request, _("We have your request. A customer service representative will "
                                            "confirm it; you can follow it on this page."))
                return redirect("portal:moves", account_number=acct.account_number)
        status = 400
    return render(request, "portal/moves.html", {
        "account": acct, "form": form, "tab": "moves",
        "requests": cis_selectors.move_requests_for_account(account_id=acct.pk)}, status=status)


@portal_view
def move_withdraw(request, account_number: str, move_request_id: int):
    acct = linked_account(request.user, account_number)
    try:
        move_request = cis_selectors.move_request_get(move_request_id=move_request_id, account_id=acct.pk)
    except ObjectDoesNotExist:
        raise Http404("No such request.") from None
    if request.method == "POST":
        try:
            cis_services.move_request_withdraw(move_request=move_request, now=timezone.now(), user=request.user)
        except cis_services.MoveError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Your request is withdrawn."))
        return redirect("portal:moves", account_number=acct.account_number)
    return render(request, "portal/move_withdraw.html", {"account": acct, "move_request": move_request, "tab": "moves"})


# ---- contacting the utility ----------------------------------------------------------------

@portal_view
def contact(request, account_number: str):
    acct = linked_account(request.user, account_number)
    form = ContactUsForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                if data["kind"] == "complaint":
                    cis_services.complaint_open(account=acct, category=data["category"] or "other",
                                                description=f"{data['subject']}\n\n{data['details']}",
                                                user=request.user)
                else:
                    cis_services.contact_log(account=acct, subject=data["subject"], details=data["details"],
                                             channel="portal", status="open", user=request.user)
            except ValidationError as exc:
                _field_errors(form, exc)
            else:
                messages.success(request, _("Thank you: your message is with our customer service team."))
                return redirect("portal:contact", account_number=acct.account_number)
        status = 400
    return render(request, "portal/contact.html", {
        "account": acct, "form": form, "tab": "contact",
        "contacts": cis_selectors.contacts_made_by(account_id=acct.pk, user_id=request.user.pk),
        "complaints": cis_selectors.complaints_made_by(account_id=acct.pk, user_id=request.user.pk)}, status=status)


# ---- personal API tokens -------------------------------------------------------------------

@portal_view
def tokens(request):
    form = TokenForm(request.POST or None)
    new_token = ""
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                _row, new_token = portal_tokens.personal_token_create(
                    user=request.user, name=form.cleaned_data["name"], now=timezone.now())
            except portal_tokens.PersonalTokenError as exc:
                form.add_error("name", str(exc))
                status = 400
            else:
                form = TokenForm()
        else:
            status = 400
    response = render(request, "portal/tokens.html", {
        "form": form, "new_token": new_token, "tokens": portal_tokens.personal_tokens(user=request.user),
        "now": timezone.now()}, status=status)
    if new_token:
        response["Cache-Control"] = "no-store"  # the one page that shows the token must not be kept
    return response


@portal_view
def token_revoke(request, token_id: int):
    try:
        token = next(t for t in portal_tokens.personal_tokens(user=request.user) if t.pk == token_id)
    except StopIteration:
        raise Http404("No such token.") from None
    if request.method == "POST":
        portal_tokens.personal_token_revoke(user=request.user, token_id=token.pk, now=timezone.now())
        messages.success(request, _("Token “%(name)s” is revoked: it no longer works.") % {"name": token.name})
        return redirect("portal:tokens")
    return render(request, "portal/token_revoke.html", {"token": token})
