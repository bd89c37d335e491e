"""The portal's writes: proving a login may see an account, and the emailed link that makes it so.

Registration and adding an account are one path:
1. `link_proof_check`: account number, the customer's last (or business) name and one identity
   question only the bill payer can answer (the service postal code, or the amount of one of
   the last two bills). Raises LinkProofError (no match: one message, whichever part was
   wrong) or LinkLockedError (too many failures for this account number and email).
2. `link_request_create`: a one-time token, kept hashed, mailed to the email given (after the
   transaction commits). Nothing of the account is shown before the link is followed.
3. `link_confirm`: the link's token makes the AccountLink (and, for a new login, the user with
   the customer role). Raises LinkTokenError for an unknown, used or expired token.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import unicodedata
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ObjectDoesNotExist
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from billing.selectors import bills_list
from cis.selectors import account_get, account_premises
from core.roles import Role
from portal.models import AccountLink, LinkAttempt, LinkRequest

FAILURE_LIMIT = 5
LOCK_FOR = dt.timedelta(minutes=30)
LINK_VALID_FOR = dt.timedelta(hours=24)
PROOFS = ("postal_code", "bill_amount")


class LinkProofError(Exception):
    """The account number, name and answer do not match one account."""

    def __init__(self, message: str, tries_left: int) -> None:
        super().__init__(message)
        self.tries_left = tries_left


class LinkLockedError(Exception):
    def __init__(self, until: dt.datetime) -> None:
        super().__init__(f"Too many tries: linking this account is locked until {until:%Y-%m-%d %H:%M} UTC.")
        self.until = until


class LinkTokenError(Exception):
    pass


def _words(text: str) -> str:
    """Case, accents and punctuation do not matter: "Bélanger-Côté" is "belanger cote"."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w]+", " ", plain).split())


def _postal(text: str) -> str:
    return re.sub(r"[\s-]+", "", text).upper()


def _amount(text: str) -> Decimal | None:
    cleaned = text.strip().replace("$", "").replace(",", "").strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def normalise_account_number(text: str) -> str:
    return re.sub(r"[\s-]+", "", text)


def _name_matches(customer, name: str) -> bool:
    given = _words(name)
    if not given:
        return False
    names = {_words(customer.last_name), _words(customer.organisation_name)} - {""}
    return given in names


def _answer_matches(account, proof: str, answer: str) -> bool:
    if proof == "postal_code":
        given = _postal(answer)
        return bool(given) and any(_postal(p.postal_code) == given for p in account_premises(account=account))
    if proof == "bill_amount":
        amount = _amount(answer)
        if amount is None:
            return False
        bills = bills_list(include_drafts=False, account_id=account.pk, status="issued")[:2]
        return any(amount in (b.amount_due, b.total) for b in bills)
    return False


def link_attempt_locked_until(*, account_number: str, email: str, now: dt.datetime) -> dt.datetime | None:
    row = LinkAttempt.objects.filter(account_number=normalise_account_number(account_number),
                                     email=email.strip().lower()).first()
    if row is not None and row.locked_until is not None and row.locked_until > now:
        return row.locked_until
    return None


def _record_failure(account_number: str, email: str, now: dt.datetime) -> int:
    """Count one failed proof; returns the tries left before the lock (0: now locked)."""
    with transaction.atomic():
        row, _ = LinkAttempt.objects.select_for_update().get_or_create(
            account_number=account_number, email=email, defaults={"last_failed_at": now})
        if row.locked_until is not None and row.locked_until <= now:
            row.failures, row.locked_until = 0, None  # a lock that ran out starts a fresh count
        row.failures += 1
        row.last_failed_at = now
        if row.failures >= FAILURE_LIMIT:
            row.locked_until = now + LOCK_FOR
        row.save(update_fields=["failures", "last_failed_at", "locked_until"])
        return max(FAILURE_LIMIT - row.failures, 0)


def link_proof_check(*, account_number: str, name: str, email: str, proof: str, answer: str, now: dt.datetime):
    """The account the proof names. Raises LinkLockedError while the account number and email
    are locked (right answer or not), LinkProofError for any mismatch (counted; the last
    allowed failure locks the pair for LOCK_FOR)."""
    number = normalise_account_number(account_number)
    mail = email.strip().lower()
    locked = link_attempt_locked_until(account_number=number, email=mail, now=now)
    if locked is not None:
        raise LinkLockedError(locked)
    try:
        account = account_get(account_number=number)
    except ObjectDoesNotExist:
        account = None
    if account is None or proof not in PROOFS or not _name_matches(account.customer, name) \
            or not _answer_matches(account, proof, answer):
        left = _record_failure(number, mail, now)
        if left == 0:
            raise LinkLockedError(now + LOCK_FOR)
        raise LinkProofError(ngettext(
            "These details do not match our records. Check the account number and name as they appear on "
            "your bill, and your answer. %(left)d try left.",
            "These details do not match our records. Check the account number and name as they appear on "
            "your bill, and your answer. %(left)d tries left.", left) % {"left": left}, left)
    LinkAttempt.objects.filter(account_number=number, email=mail).delete()
    return account


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_request_create(*, account, email: str, user=None, password_hash: str = "", proof: str,
                        now: dt.datetime, confirm_url: str) -> LinkRequest:
    """A pending link, mailed to `email` after commit. `confirm_url` is the absolute link with
    "{token}" where the token goes. Pass `user` to add an account to an existing login, or a
    `password_hash` for a new login."""
    token = secrets.token_urlsafe(32)
    request = LinkRequest.objects.create(
        account=account, email=email.strip().lower(), user=user, password_hash=password_hash, proof=proof,
        token_hash=_token_hash(token), created_at=now, expires_at=now + LINK_VALID_FOR,
    )
    body = render_to_string("portal/email/link.txt", {
        "url": confirm_url.replace("{token}", token), "utility_name": settings.UTILIS_UTILITY_NAME,
        "new_login": user is None, "hours": int(LINK_VALID_FOR.total_seconds() // 3600),
    })
    subject = _("%(utility)s: confirm your online account") % {"utility": settings.UTILIS_UTILITY_NAME}
    recipient = request.email
    transaction.on_commit(lambda: send_mail(subject, body, None, [recipient]))
    return request


def link_request_get(*, token: str, now: dt.datetime) -> LinkRequest:
    """The pending request of a token. Raises LinkTokenError (unknown, used or expired)."""
    request = LinkRequest.objects.filter(token_hash=_token_hash(token)).first()
    if request is None or request.used_at is not None or request.expires_at <= now:
        raise LinkTokenError(_("This link is not valid any more: it was used already or has expired. Start again."))
    return request


@transaction.atomic
def link_confirm(*, token: str, now: dt.datetime):
    """Follow the emailed link: (user, account). Creates the login (customer role, the email as
    its username) when the request was for a new one. Raises LinkTokenError."""
    request = link_request_get(token=token, now=now)
    if LinkRequest.objects.filter(pk=request.pk, used_at__isnull=True).update(used_at=now) != 1:
        raise LinkTokenError(_("This link was used already."))
    user = request.user
    if user is None:
        User = get_user_model()
        if User.objects.filter(username__iexact=request.email).exists():
            raise LinkTokenError(_("A login with this email exists already: sign in and add the account from there."))
        try:
            with transaction.atomic():
                user = User.objects.create(username=request.email, email=request.email, password=request.password_hash)
        except IntegrityError:
            raise LinkTokenError(_("A login with this email exists already: sign in and add the account from there.")) from None
    user.groups.add(Group.objects.get_or_create(name=Role.CUSTOMER)[0])
    AccountLink.objects.get_or_create(user=user, account=request.account,
                                      defaults={"linked_at": now, "proof": request.proof})
    return user, request.account


@transaction.atomic
def portal_login_create(*, email: str, password: str, account_numbers: list[str], now: dt.datetime,
                        proof: str = "setup"):
    """A customer login linked to these accounts without the emailed proof: for set-up by the
    utility (the demo, a conversion from an old portal), never from a web request. Idempotent:
    an existing login keeps its links and gets the missing ones (and the password given).
    Raises ValueError for an account number that does not exist."""
    User = get_user_model()
    accounts = []
    for number in account_numbers:
        try:
            accounts.append(account_get(account_number=normalise_account_number(number)))
        except ObjectDoesNotExist:
            raise ValueError(f"No account {number!r}: a portal login links only existing accounts.") from None
    mail = email.strip().lower()
    user, _ = User.objects.get_or_create(username=mail, defaults={"email": mail})
    user.set_password(password)
    user.save(update_fields=["password"])
    user.groups.add(Group.objects.get_or_create(name=Role.CUSTOMER)[0])
    for account in accounts:
        AccountLink.objects.get_or_create(user=user, account=account, defaults={"linked_at": now, "proof": proof})
    return user
