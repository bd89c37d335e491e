"""HTTP edge guards shared by every URL, and the error answers of the API's OpenAPI document.

`RejectNulBytesMiddleware` answers 400 for a request that carries a NUL character (``\\x00``,
``%00`` or the JSON escape ``\\u0000``) in its path, query string, form or JSON body, or in the
Authorization / Cookie headers. PostgreSQL cannot store NUL in text, so such a value would
otherwise reach a lookup and end as a 500; no legitimate client sends one. File uploads
(multipart bodies) are not inspected: a read file may carry bad bytes, and the import quarantines
them per line.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

NUL = "\x00"
MESSAGE = "The request contains a NUL character (\\u0000 or %00), which no field accepts."

_FORM = "application/x-www-form-urlencoded"


def _has_nul(value: Any) -> bool:
    """True when a parsed JSON value holds a NUL in any string or key."""
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _query_has_nul(raw: str) -> bool:
    if "%00" in raw or NUL in raw:
        return True
    # A %-escape can also hide a NUL as part of a broken multi-byte sequence; decode to bytes.
    return any(b"\x00" in unquote_to_bytes(part) for part in raw.split("&") if "%" in part)


def request_has_nul(request: HttpRequest) -> str | None:
    """Where the request carries a NUL ("path", "query", "body", "header"), or None."""
    if NUL in request.path_info or NUL in request.path:
        return "path"
    if _query_has_nul(request.META.get("QUERY_STRING", "")):
        return "query"
    for header in ("HTTP_AUTHORIZATION", "HTTP_COOKIE"):
        if NUL in request.META.get(header, "") or "%00" in request.META.get(header, ""):
            return "header"
    content_type = (request.content_type or "").lower()
    if request.method in ("GET", "HEAD", "OPTIONS") or not content_type:
        return None
    is_json = content_type == "application/json" or content_type.endswith("+json")
    if not (is_json or content_type == _FORM):
        return None
    try:
        body = request.body
    except RequestDataTooBig:
        return None  # the view refuses it with its own answer
    if b"\x00" in body:
        return "body"
    if content_type == _FORM:
        text = body.decode("latin-1")
        if "%00" in text or any(NUL in k or NUL in v for k, v in parse_qsl(text, keep_blank_values=True)):
            return "body"
        return None
    if b"\\u0000" not in body:
        return None
    try:
        parsed = json.loads(body)
    except ValueError:
        return None  # the parser answers 400 for malformed JSON
    return "body" if _has_nul(parsed) else None


class RejectNulBytesMiddleware:
    """The API's edge, for every URL: 400 for a NUL anywhere a lookup could see it (JSON
    `{"detail": ...}` under /api/, a plain 400 page elsewhere); and under /api/, a URL no route
    matches (`/api/mdm/imports/-1/`) answers 404 in JSON like every other API error, not with
    the HTML page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        api = request.path_info.startswith("/api/")
        where = request_has_nul(request)
        if where is not None:
            if api:
                return JsonResponse({"detail": MESSAGE, "where": where}, status=400)
            return HttpResponseBadRequest(MESSAGE, content_type="text/plain; charset=utf-8")
        response = self.get_response(request)
        if (api and response.status_code == 404
                and not response.get("Content-Type", "").startswith("application/json")):
            return JsonResponse({"detail": "Not found."}, status=404)
        return response


# --- the error answers every API operation may give, in its OpenAPI description ---------

class ErrorSerializer(serializers.Serializer):
    """An error body: `{"detail": message}` for the request as a whole, or `{field: [messages]}`
    for bad fields (any field name, so the schema leaves other properties open)."""

    detail = serializers.CharField(required=False, help_text="What is wrong with the request as a whole.")


ERROR_DESCRIPTIONS = {
    "400": "Bad input: `{field: [messages]}` for a field, `{\"detail\": message}` when the request as a whole "
           "cannot be done (also: a NUL character anywhere in the request).",
    "401": "No credentials, or a token that is unknown, expired or revoked.",
    "403": "The user's role may not do this.",
    "404": "No object with that key (or no such page of a list).",
}


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, with the 400/401/403 (and, for an operation on one object
    or a paginated list, 404) answers every Utilis API operation can give, so a client (and the
    schemathesis test) finds each status code documented with its body."""

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        codes = ["400", "401", "403"]
        if "{" in self.path or self._paginated():
            codes.append("404")
        for code in codes:
            error = OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[code])
            if code not in responses:
                responses[code] = self._get_response_for_code(error, code, direction=direction)
            elif "content" not in responses[code]:  # documented without a body: give it the error body
                described = responses[code].get("description") or ERROR_DESCRIPTIONS[code]
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description=described), code, direction=direction)
        return responses

    def _paginated(self) -> bool:
        try:
            return self.method == "GET" and self._is_list_view() and self._get_paginator() is not None
        except Exception:  # a view spectacular cannot introspect further: not a paginated list
            return False
