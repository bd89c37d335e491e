"""The one rule every portal page keeps: a customer sees only the accounts linked to their login.

Every view that shows account data takes the account number from its URL through
`linked_account` (a 404 for any account the login is not linked to, whether or not it exists)
and reaches bills, usage and files only through that account. `portal_view` is the decorator
every signed-in portal page wears: a customer login, a sliding session."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from core.roles import Role, has_role
from portal.models import AccountLink

# A portal session ends after this long without a request (the staff hubs keep Django's default).
SESSION_IDLE_SECONDS = 30 * 60


def linked_account_ids(user) -> list[int]:
    """The ids of the accounts this login may see, oldest link first."""
    if not user.is_authenticated:
        return []
    return list(AccountLink.objects.filter(user=user).order_by("linked_at", "id").values_list("account_id", flat=True))


def linked_account(user, account_number: str):
    """The linked account with this number. Raises Http404 for any other (another customer's
    account looks exactly like one that does not exist)."""
    link = (AccountLink.objects.filter(user=user, account__account_number=account_number)
            .select_related("account__customer").first())
    if link is None:
        raise Http404("No such account on this login.")
    return link.account


def portal_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A signed-in customer page: others go to the portal sign-in (staff included: the portal
    is for customer logins). Each request pushes the session's idle expiry forward."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), "portal:login")
        if not has_role(request.user, Role.CUSTOMER):
            raise Http404("The portal is for customer logins.")
        request.session.set_expiry(SESSION_IDLE_SECONDS)
        try:
            return view(request, *args, **kwargs)
        except Http404:
            # The portal's own page (in the customer's language), saying no more than the
            # site's 404 would: another customer's account looks like one that does not exist.
            return render(request, "portal/not_found.html", status=404)

    return wrapped


def link_access(user, account) -> str:
    """The login's access to a linked account: "full" (the holder), "pay" or "view" (invited).
    Raises Http404 for an account not linked to the login."""
    access = AccountLink.objects.filter(user=user, account=account).values_list("access", flat=True).first()
    if access is None:
        raise Http404("No such account on this login.")
    return access


def may_pay(user, account) -> bool:
    """Whether the login may pay for the account (the holder, or invited with pay access): what
    payment pages ask before taking a payment."""
    return link_access(user, account) in (AccountLink.Access.FULL, AccountLink.Access.PAY)
