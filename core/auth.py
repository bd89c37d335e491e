"""Signing in: login throttling (django-axes) and the API's expiring, named tokens (knox).

- `AxesBackend` is the first authentication backend: a username that failed
  AXES_FAILURE_LIMIT times from one address is refused, right password or not, for
  AXES_COOLOFF_TIME. Administrators unlock in the admin (Axes -> Access attempts: delete).
- `lockout_response` is what a locked-out person gets: the lockout page (429) or, for the API
  and scripts, a 429 JSON body saying what happened and when to retry.
- `TokenView` (`POST /api/auth/token/`) hands out a new knox token per call, with a name;
  `LogoutView` (`POST /api/auth/logout/`) revokes the token that made the call.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from django.contrib.auth import authenticate, user_logged_in
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django_otp import match_token, user_has_device
from drf_spectacular.utils import extend_schema, inline_serializer
from knox.models import get_token_model
from knox.settings import knox_settings
from knox.views import LogoutAllView as KnoxLogoutAllView
from knox.views import LogoutView as KnoxLogoutView
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class AxesBackend(AxesStandaloneBackend):
    """axes' lockout check for every sign-in that comes with a request (hub, admin, API token,
    DRF basic auth). Calls without a request (the test client's `login()`, a shell) are not
    sign-ins over the network: they are left to the next backend instead of failing."""

    def authenticate(self, request: HttpRequest | None, username: str | None = None,
                     password: str | None = None, **kwargs: Any) -> None:
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def _retry_at(request: HttpRequest) -> dt.datetime | None:
    cool_off = get_cool_off(request)
    return None if cool_off is None else timezone.now() + cool_off


def lockout_message(request: HttpRequest, credentials: dict | None = None) -> tuple[str, dt.datetime | None]:
    limit = get_failure_limit(request, credentials)
    retry_at = _retry_at(request)
    text = f"Too many failed sign-in attempts ({limit}) for this account from this address. It is locked"
    if retry_at is None:
        text += " until an administrator unlocks it."
    else:
        local = timezone.localtime(retry_at)
        text += (f"; try again after {local:%H:%M} ({local:%Z}), or ask an administrator to unlock it. "
                 "Each further attempt before then restarts the wait.")
    return text, retry_at


def _wants_json(request: HttpRequest) -> bool:
    return (
        request.path.startswith("/api/")
        or request.headers.get("X-Requested-With") in {"XMLHttpRequest", "fetch"}
        or "application/json" in request.headers.get("Accept", "")
    )


def lockout_response(request: HttpRequest, original_response: HttpResponse | None = None,
                     credentials: dict | None = None) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: 429 with what happened and when to retry (never a 500)."""
    text, retry_at = lockout_message(request, credentials)
    retry_seconds = None if retry_at is None else max(0, int((retry_at - timezone.now()).total_seconds()))
    response: HttpResponse
    if _wants_json(request):
        response = JsonResponse(
            {
                "detail": text,
                "code": "locked_out",
                "retry_after": None if retry_at is None else retry_at.isoformat(),
                "retry_after_seconds": retry_seconds,
            },
            status=429,
        )
    else:
        response = render(
            request,
            "registration/locked_out.html",
            {"message": text, "retry_at": retry_at, "username": get_client_username(request, credentials) or ""},
            status=429,
        )
    if retry_seconds is not None:
        response["Retry-After"] = str(retry_seconds)
    return response


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)
    name = serializers.CharField(required=False, allow_blank=True, max_length=100,
                                 help_text="What this token is for; one client may hold several.")
    description = serializers.CharField(required=False, allow_blank=True)
    otp_token = serializers.CharField(required=False, allow_blank=True,
                                      help_text="The current TOTP code, for users who enrolled a device.")


TokenResponseSerializer = inline_serializer(
    name="ApiTokenIssued",
    fields={
        "token": serializers.CharField(),
        "expiry": serializers.DateTimeField(allow_null=True),
        "name": serializers.CharField(),
    },
)


class TokenView(APIView):
    """Username + password (+ TOTP code when the user has a device) -> a new token.
    Every failure counts toward the login lockout, as on the sign-in page."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    serializer_class = TokenRequestSerializer

    @extend_schema(
        request=TokenRequestSerializer,
        responses={200: TokenResponseSerializer, 400: None, 429: None},
        summary="Get an API token",
        tags=["auth"],
    )
    def post(self, request: Request) -> Response | HttpResponse:
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        django_request: HttpRequest = request._request
        user = authenticate(django_request, username=data["username"], password=data["password"])
        if getattr(django_request, "axes_locked_out", False):
            return lockout_response(django_request, credentials={"username": data["username"]})
        if user is None:
            return Response({"detail": "Unable to sign in with the given username and password."},
                            status=status.HTTP_400_BAD_REQUEST)
        if user_has_device(user):
            code = data.get("otp_token") or ""
            if not code or match_token(user, code) is None:
                user_login_failed.send(sender=__name__, credentials={"username": data["username"]},
                                       request=django_request)
                if getattr(django_request, "axes_locked_out", False):
                    return lockout_response(django_request, credentials={"username": data["username"]})
                return Response({"detail": "This account uses two-factor sign-in: send the current code as otp_token."},
                                status=status.HTTP_400_BAD_REQUEST)
        instance, token = get_token_model().objects.create(
            user=user, expiry=knox_settings.TOKEN_TTL,
            name=data.get("name") or "", description=data.get("description") or "",
        )
        user_logged_in.send(sender=user.__class__, request=django_request, user=user)
        return Response({
            "token": token,
            "expiry": None if instance.expiry is None else serializers.DateTimeField().to_representation(instance.expiry),
            "name": instance.name,
        })


class LogoutView(KnoxLogoutView):
    """Revoke the token this request carries."""

    @extend_schema(request=None, responses={204: None}, summary="Revoke this token", tags=["auth"])
    def post(self, request, format=None):
        return super().post(request, format)


class LogoutAllView(KnoxLogoutAllView):
    """Revoke every token of the calling user."""

    @extend_schema(request=None, responses={204: None}, summary="Revoke all of this user's tokens", tags=["auth"])
    def post(self, request, format=None):
        return super().post(request, format)
