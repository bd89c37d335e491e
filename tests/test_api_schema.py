"""schemathesis over the whole REST API: every operation of the OpenAPI document, a bounded
number of generated requests each (fixed seed), answered without a server error and as the
document says (status code, content type, body schema).

The document is the one the app serves (drf-spectacular, rendered in-process); requests go to
the Django WSGI app in this process, so every write lands inside the test's transaction and
is rolled back. The client is an administrator with an API token got from
`POST /api/auth/token/` (the header format docs/api.md gives: `Authorization: Token <key>`).
"""
from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from django.contrib.auth.models import Group
from django.core import signals
from django.db import close_old_connections
from django.test import Client
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.checks import not_a_server_error

from cis.tests.factories import AccountFactory
from config.wsgi import application
from core.roles import Role
from portal.models import AccountLink
from portal.tokens import personal_token_create

PASSWORD = "schema-test-pass-1234"
MAX_EXAMPLES = 15
# The token endpoints are the login itself (random credentials would only trip the lockout) and
# the logouts, which revoke the token every later request carries.
SKIPPED = {"POST /api/auth/token/", "POST /api/auth/logout/", "POST /api/auth/logout-all/"}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _raw_schema() -> dict[str, Any]:
    """The OpenAPI document exactly as GET /api/schema/ serves it (rendered to JSON)."""
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(generated, renderer_context={}))


SCHEMA = schemathesis.openapi.from_dict(_raw_schema())
SCHEMA.app = application
LABELS = sorted(
    label for label in (result.ok().label for result in SCHEMA.get_all_operations())  # type: ignore[union-attr]  # an invalid operation fails here, loudly
    if label not in SKIPPED
)


@pytest.fixture
def api_headers(auth_headers):
    """The token headers, with the WSGI app kept on the test's connection: Django closes the
    connection around each request (close_old_connections), which its own test client turns off
    while it runs (and turns on again after, hence after the token request here)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield auth_headers
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def auth_headers(db, django_user_model, settings) -> dict[str, str]:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # a fast login per test
    user = django_user_model.objects.create_user(username="schema-admin", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get_or_create(name=Role.ADMIN)[0])
    response = Client().post("/api/auth/token/", {"username": "schema-admin", "password": PASSWORD})
    assert response.status_code in (200, 201), response.content
    return {"Authorization": f"Token {response.json()['token']}"}


def test_every_operation_is_covered() -> None:
    # Nothing silently left out: the customer core, MDM and billing are all in the document.
    assert len(LABELS) >= 40
    assert {"GET /api/accounts/{account_number}/", "POST /api/agreements/", "POST /api/billing/calculator/",
            "GET /api/mdm/meters/{serial}/"} <= set(LABELS)


@pytest.fixture
def personal_token_headers(db, django_user_model) -> dict[str, str]:
    """The my-data API (/api/portal/) takes only a customer's personal token: a customer login
    with one linked account (generated account numbers are other customers': 404)."""
    now = timezone.now()
    user = django_user_model.objects.create_user(username="schema-customer@example.test", password=None)
    user.groups.add(Group.objects.get_or_create(name=Role.CUSTOMER)[0])
    AccountLink.objects.create(user=user, account=AccountFactory(), linked_at=now, proof="postal_code")
    _row, secret = personal_token_create(user=user, name="schema", now=now)
    return {"Authorization": f"Bearer {secret}"}


@pytest.mark.parametrize("label", LABELS)
def test_operation_answers_as_documented(label: str, api_headers: dict[str, str], request) -> None:
    operation = SCHEMA.find_operation_by_label(label)
    assert operation is not None
    if " /api/portal/" in label:
        api_headers = request.getfixturevalue("personal_token_headers")

    @given(case=operation.as_strategy(), data=st.data())
    @settings(
        max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: report the first failure as found
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any, data: Any) -> None:
        case.call_and_validate(headers=api_headers, checks=CHECKS)

    run()
