"""The portal's self-service pages: alerts, move requests, contacting the utility, and personal
API tokens. Like every portal page they wear `portal_view` and reach an account only through
`linked_account`; a move request, contact or token of anyone else is a 404."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from cis import selectors as cis_selectors
from cis import services as cis_services
from core import two_factor as core_two_factor
from core.clock import utility_today
from core.roles import Role, has_role
from portal import alerts as portal_alerts
from portal import invites as portal_invites
from portal import presenting as portal_presenting
from portal import tokens as portal_tokens
from portal.forms import AlertsForm, ContactUsForm, InviteAcceptForm, InviteForm, MoveRequestForm, TokenForm
from portal.models import AccountLink, AlertKind
from portal.scoping import SESSION_IDLE_SECONDS, link_access, linked_account, portal_view


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
    return [(n, f"{sp.premise.address_text()} ({portal_presenting.choice_label(sp.commodity)})") for n, sp in points.items()], points


@portal_view
def moves(request, account_number: str):
    acct = linked_account(request.user, account_number)
    choices, points = _stop_choices(acct)
    form = MoveRequestForm(request.POST or None, service_points=choices)
    holder = link_access(request.user, acct) == AccountLink.Access.FULL
    status = 200
    if request.method == "POST":
        if not holder:
            raise PermissionDenied(_("Only the account holder can ask to move service."))
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
        "account": acct, "form": form, "tab": "moves", "holder": holder,
        "requests": cis_selectors.move_requests_for_account(account_id=acct.pk)}, status=status)


@portal_view
def move_withdraw(request, account_number: str, move_request_id: int):
    acct = linked_account(request.user, account_number)
    try:
        move_request = cis_selectors.move_request_get(move_request_id=move_request_id, account_id=acct.pk)
    except ObjectDoesNotExist:
        raise Http404("No such request.") from None
    if request.method == "POST":
        if link_access(request.user, acct) != AccountLink.Access.FULL:
            raise PermissionDenied(_("Only the account holder can withdraw a move request."))
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


# ---- other people on the account -----------------------------------------------------------

@portal_view
def people(request, account_number: str):
    acct = linked_account(request.user, account_number)
    holder = _link(request.user, acct)
    form = InviteForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if holder.access != AccountLink.Access.FULL:
            raise PermissionDenied(_("Only the account holder can invite someone."))
        if form.is_valid():
            url = request.build_absolute_uri(reverse("portal:invite-accept", kwargs={"token": "TOKEN"}))
            try:
                portal_invites.invite_create(link=holder, email=form.cleaned_data["email"],
                                             access=form.cleaned_data["access"], now=timezone.now(),
                                             accept_url=url.replace("TOKEN", "{token}"))
            except portal_invites.InviteError as exc:
                form.add_error("email", str(exc))
            else:
                messages.success(request, _("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"]})
                return redirect("portal:people", account_number=acct.account_number)
        status = 400
    return render(request, "portal/people.html", {
        "account": acct, "form": form, "holder": holder, "tab": "people",
        "people": portal_invites.account_people(account=acct),
        "invites": portal_invites.invites_open(account=acct, now=timezone.now())}, status=status)


@portal_view
def person_remove(request, account_number: str, link_id: int):
    acct = linked_account(request.user, account_number)
    holder = _link(request.user, acct)
    target = next((p for p in portal_invites.account_people(account=acct)
                   if p.pk == link_id and p.proof == "invite"), None)
    if target is None:
        raise Http404("No such person on this account.")
    if holder.access != AccountLink.Access.FULL:
        raise PermissionDenied(_("Only the account holder can change who sees this account."))
    if request.method == "POST":
        portal_invites.person_remove(holder=holder, link_id=target.pk)
        messages.success(request, _("%(email)s no longer sees this account.") % {"email": target.user.email})
        return redirect("portal:people", account_number=acct.account_number)
    return render(request, "portal/person_remove.html", {"account": acct, "person": target, "tab": "people"})


def invite_accept(request, token: str):
    """GET shows the invitation (mail scanners follow links; only a person's POST accepts it).
    Signed in as a customer: the invitation is added to that login. Signed out: a new login
    with the invited email and a password, or (if that email has a login) sign in first."""
    now = timezone.now()
    try:
        invite = portal_invites.invite_get(token=token, now=now)
    except portal_invites.InviteError as exc:
        return render(request, "portal/link_invalid.html", {"message": str(exc)}, status=404)
    signed_in = request.user.is_authenticated and has_role(request.user, Role.CUSTOMER)
    has_login = get_user_model().objects.filter(username__iexact=invite.email).exists()
    form = InviteAcceptForm(request.POST or None, email=invite.email)
    if request.method == "POST" and (signed_in or (not has_login and form.is_valid())):
        try:
            user, link = portal_invites.invite_accept(
                token=token, now=now, user=request.user if signed_in else None,
                password_hash="" if signed_in else make_password(form.cleaned_data["password1"]))
        except portal_invites.InviteError as exc:
            return render(request, "portal/link_invalid.html", {"message": str(exc)}, status=404)
        if not signed_in:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            request.session.set_expiry(SESSION_IDLE_SECONDS)
        messages.success(request, _("You can now see account %(number)s.") % {"number": link.account.account_number})
        return redirect("portal:account", account_number=link.account.account_number)
    return render(request, "portal/invite_accept.html", {
        "invite": invite, "form": form, "signed_in": signed_in, "has_login": has_login,
        "login_url": f"{reverse('portal:login')}?next={request.path}"},
        status=400 if request.method == "POST" else 200)


# ---- two-step sign-in (TOTP, django-otp: core.two_factor's views on the portal's pages) -----

@portal_view
def two_factor_setup(request):
    return core_two_factor.setup(request, template_name="portal/two_factor_setup.html",
                                 verify_url_name="portal:two-factor-verify")


@portal_view
def two_factor_verify(request):
    return core_two_factor.verify(request, template_name="portal/two_factor_verify.html")
