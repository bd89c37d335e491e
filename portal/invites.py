"""Inviting another person to an account: the holder (a link with full access, made by the
identity proof) invites an email with pay or view-only access; the emailed one-time link
makes that person's AccountLink. The holder may take an invited person's access away again.

Access: `full` (the holder: everything, inviting and move requests included), `pay` (see and
pay), `view` (see only). `portal.scoping.link_access` / `may_pay` answer for one login and
account."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from core.roles import Role
from portal.models import AccountInvite, AccountLink

INVITE_VALID_FOR = dt.timedelta(days=7)
MAX_OPEN_INVITES = 10


class InviteError(Exception):
    pass


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite_create(*, link: AccountLink, email: str, access: str, now: dt.datetime, accept_url: str) -> AccountInvite:
    """Mail `email` a link to the account (after commit). `accept_url` has "{token}" where the
    token goes. Raises InviteError: not the holder, bad access, one's own email, someone
    already linked, or too many open invitations."""
    email = email.strip().lower()
    if link.access != AccountLink.Access.FULL:
        raise InviteError(_("Only the account holder can invite someone."))
    if access not in (AccountLink.Access.PAY, AccountLink.Access.VIEW):
        raise InviteError(_("Choose what they may do: see and pay, or see only."))
    if email == (link.user.email or "").lower():
        raise InviteError(_("That is your own email."))
    if AccountLink.objects.filter(account=link.account, user__username__iexact=email).exists():
        raise InviteError(_("That person can see this account already."))
    if AccountInvite.objects.filter(link__account=link.account, accepted_at__isnull=True, revoked_at__isnull=True,
                                    expires_at__gt=now).count() >= MAX_OPEN_INVITES:
        raise InviteError(_("There are %(n)s open invitations already: wait for one or cancel it.")
                          % {"n": MAX_OPEN_INVITES})
    token = secrets.token_urlsafe(32)
    invite = AccountInvite.objects.create(link=link, email=email, access=access, token_hash=_hash(token),
                                          created_at=now, expires_at=now + INVITE_VALID_FOR)
    name = settings.UTILIS_UTILITY_NAME
    what = _("see and pay") if access == AccountLink.Access.PAY else _("see")
    subject = _("%(utility)s: you are invited to an online account") % {"utility": name}
    body = "\n\n".join([
        _("Hello,"),
        _("%(who)s invites you to %(what)s account %(number)s at %(utility)s online.") % {
            "who": link.user.email, "what": what, "number": link.account.account_number, "utility": name},
        _("Follow this link to accept (it works once, for %(days)s days):") % {"days": INVITE_VALID_FOR.days},
        accept_url.replace("{token}", token),
        _("If you do not know this person, ignore this email."), name]) + "\n"
    transaction.on_commit(lambda: send_mail(subject, body, None, [email]))
    return invite


def invite_get(*, token: str, now: dt.datetime) -> AccountInvite:
    """The open invitation of a token. Raises InviteError (unknown, used, cancelled, expired)."""
    invite = AccountInvite.objects.select_related("link__account", "link__user").filter(token_hash=_hash(token)).first()
    if invite is None or invite.accepted_at is not None or invite.revoked_at is not None or invite.expires_at <= now:
        raise InviteError(_("This invitation is not valid any more: it was used, cancelled or has expired."))
    return invite


@transaction.atomic
def invite_accept(*, token: str, now: dt.datetime, user=None, password_hash: str = ""):
    """(user, link): the signed-in `user`, or a new login with the invitation's email and
    `password_hash`, gets the invited access. Raises InviteError."""
    invite = invite_get(token=token, now=now)
    if AccountInvite.objects.filter(pk=invite.pk, accepted_at__isnull=True).update(accepted_at=now) != 1:
        raise InviteError(_("This invitation was used already."))
    if user is None:
        User = get_user_model()
        if not password_hash:
            raise InviteError(_("Choose a password for your new login."))
        try:
            with transaction.atomic():
                user = User.objects.create(username=invite.email, email=invite.email, password=password_hash)
        except IntegrityError:
            raise InviteError(_("A login with this email exists already: sign in, then follow the link again.")) from None
        user.groups.add(Group.objects.get_or_create(name=Role.CUSTOMER)[0])
    if AccountLink.objects.filter(user=user, account=invite.link.account).exists():
        raise InviteError(_("Your login can see this account already."))
    AccountInvite.objects.filter(pk=invite.pk).update(accepted_by=user)
    link = AccountLink.objects.create(user=user, account=invite.link.account, linked_at=now, proof="invite",
                                      access=invite.access, invited_by=invite.link.user)
    return user, link


def account_people(*, account) -> list[AccountLink]:
    return list(AccountLink.objects.filter(account=account).select_related("user").order_by("linked_at", "id"))


def invites_open(*, account, now: dt.datetime) -> list[AccountInvite]:
    return list(AccountInvite.objects.filter(link__account=account, accepted_at__isnull=True, revoked_at__isnull=True,
                                             expires_at__gt=now).order_by("-created_at"))


def person_remove(*, holder: AccountLink, link_id: int) -> AccountLink:
    """The holder takes an invited person's access away. Raises AccountLink.DoesNotExist for a
    link that is not an invited one on the holder's account, InviteError when not the holder."""
    if holder.access != AccountLink.Access.FULL:
        raise InviteError(_("Only the account holder can change who sees this account."))
    target = AccountLink.objects.select_related("user").get(pk=link_id, account=holder.account, proof="invite")
    target.delete()
    return target
