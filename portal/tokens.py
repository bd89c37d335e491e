"""Personal API tokens: a customer's own read-only key to their linked accounts' data.

`personal_token_create` returns the token once (only its SHA-256 is kept); `personal_token_revoke`
ends it for good. `personal_token_user` is what the API's authentication asks: the token's live
row and its login, or None. What a token may read is decided in portal.api (the login's linked
accounts, GET only), never by the token itself."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.db import transaction

from portal.models import PersonalToken

TOKEN_PREFIX = "utp_"
TOKEN_VALID_FOR = dt.timedelta(days=365)
MAX_LIVE_TOKENS = 10


class PersonalTokenError(ValueError):
    pass


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def personal_token_create(*, user, name: str, now: dt.datetime) -> tuple[PersonalToken, str]:
    """(row, the token in clear: show it once). Raises PersonalTokenError for an empty name or
    more than MAX_LIVE_TOKENS live tokens."""
    name = name.strip()
    if not name:
        raise PersonalTokenError("Give the token a name, so you know later what uses it.")
    with transaction.atomic():
        live = PersonalToken.objects.select_for_update().filter(user=user, revoked_at__isnull=True, expires_at__gt=now)
        if len(live) >= MAX_LIVE_TOKENS:
            raise PersonalTokenError(f"You have {MAX_LIVE_TOKENS} tokens already: revoke one you no longer use first.")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = PersonalToken.objects.create(user=user, name=name[:100], prefix=token[:12], token_hash=_hash(token),
                                           created_at=now, expires_at=now + TOKEN_VALID_FOR)
    return row, token


def personal_tokens(*, user) -> list[PersonalToken]:
    return list(PersonalToken.objects.filter(user=user).order_by("-created_at", "-id"))


def personal_token_revoke(*, user, token_id: int, now: dt.datetime) -> PersonalToken:
    """Raises PersonalToken.DoesNotExist for a token that is not this login's."""
    row = PersonalToken.objects.get(pk=token_id, user=user)
    if row.revoked_at is None:
        PersonalToken.objects.filter(pk=row.pk, revoked_at__isnull=True).update(revoked_at=now)
        row.refresh_from_db()
    return row


def personal_token_user(*, token: str, now: dt.datetime) -> PersonalToken | None:
    """The live token row (with its user) of this token, or None (unknown, revoked, expired).
    Marks it used (at most once a minute, so reads do not each write)."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = PersonalToken.objects.select_related("user").filter(token_hash=_hash(token)).first()
    if row is None or row.revoked_at is not None or row.expires_at <= now or not row.user.is_active:
        return None
    if row.last_used_at is None or row.last_used_at < now - dt.timedelta(minutes=1):
        PersonalToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return row
