"""Who may call the portal API: a customer's personal token (portal.tokens), read-only.

Staff API tokens (knox) and sessions are not accepted here: this API answers only for the
linked accounts of the token's own login, and only to GET."""
from __future__ import annotations

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import SAFE_METHODS, BasePermission

from core.roles import Role, has_role
from portal.models import PersonalToken
from portal.tokens import personal_token_user

KEYWORD = "Bearer"


class PersonalTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].decode(errors="replace") != KEYWORD:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Send one token: Authorization: Bearer <token>.")
        row = personal_token_user(token=parts[1].decode(errors="replace"), now=timezone.now())
        if row is None:
            raise exceptions.AuthenticationFailed("This token is unknown, revoked or expired.")
        return row.user, row

    def authenticate_header(self, request) -> str:
        return f'{KEYWORD} realm="portal"'


class PersonalTokenReadOnly(BasePermission):
    message = "A personal token reads only: its own accounts, with GET."

    def has_permission(self, request, view) -> bool:
        return (isinstance(request.auth, PersonalToken) and request.method in SAFE_METHODS
                and has_role(request.user, Role.CUSTOMER))


class PersonalTokenScheme(OpenApiAuthenticationExtension):
    target_class = "portal.api.auth.PersonalTokenAuthentication"
    name = "personalToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer",
                "description": "A customer's personal token (made in the portal, /portal/tokens/): read-only, "
                               "the login's own linked accounts only."}
