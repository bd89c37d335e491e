"""API tokens (django-rest-knox, core.ApiToken): they expire, they are revoked one by one
(POST /api/auth/logout/ or the admin), and one client holds several named tokens."""
from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from conftest import PASSWORD
from core.models import ApiToken
from core.roles import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def partner(make_user):
    return make_user("partner-tokens", Role.CSR)


def get_token(username: str, **extra) -> dict:
    response = APIClient().post("/api/auth/token/", {"username": username, "password": PASSWORD, **extra}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def with_token(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_token_endpoint_answers_token_and_expiry_and_the_token_works(partner, settings):
    body = get_token(partner.username)
    assert set(body) == {"token", "expiry", "name"}
    expiry = dt.datetime.fromisoformat(body["expiry"])
    assert dt.timedelta(days=29) < expiry - timezone.now() <= dt.timedelta(days=30)
    assert with_token(body["token"]).get("/api/customers/").status_code == 200
    # Stored hashed: the secret itself is not in the database.
    assert not ApiToken.objects.filter(digest=body["token"]).exists()


def test_wrong_password_gets_no_token(partner):
    response = APIClient().post("/api/auth/token/", {"username": partner.username, "password": "x"}, format="json")
    assert response.status_code == 400
    assert "token" not in response.json()


def test_two_named_tokens_both_work_and_are_named(partner):
    one = get_token(partner.username, name="head-end import")
    two = get_token(partner.username, name="GIS sync", description="nightly")
    assert one["token"] != two["token"]
    assert with_token(one["token"]).get("/api/customers/").status_code == 200
    assert with_token(two["token"]).get("/api/customers/").status_code == 200
    assert set(ApiToken.objects.filter(user=partner).values_list("name", flat=True)) == {"head-end import", "GIS sync"}


def test_an_expired_token_is_refused(partner):
    body = get_token(partner.username, name="old")
    ApiToken.objects.filter(user=partner).update(expiry=timezone.now() - dt.timedelta(seconds=1))
    response = with_token(body["token"]).get("/api/customers/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_logout_revokes_only_the_token_that_calls_it(partner):
    one = get_token(partner.username, name="a")
    two = get_token(partner.username, name="b")
    assert with_token(one["token"]).post("/api/auth/logout/").status_code == 204
    assert with_token(one["token"]).get("/api/customers/").status_code == 401
    assert with_token(two["token"]).get("/api/customers/").status_code == 200
    assert list(ApiToken.objects.filter(user=partner).values_list("name", flat=True)) == ["b"]


def test_logout_all_revokes_every_token_of_the_user(partner):
    one = get_token(partner.username, name="a")
    two = get_token(partner.username, name="b")
    assert with_token(one["token"]).post("/api/auth/logout-all/").status_code == 204
    assert with_token(two["token"]).get("/api/customers/").status_code == 401


def test_admin_lists_token_names_and_revokes(admin_client, partner):
    body = get_token(partner.username, name="billing export")
    page = admin_client.get("/admin/core/apitoken/")
    assert page.status_code == 200 and "billing export" in page.content.decode()
    token = ApiToken.objects.get(user=partner)
    response = admin_client.post("/admin/core/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    assert response.status_code == 302
    assert with_token(body["token"]).get("/api/customers/").status_code == 401


def test_admin_creates_a_named_token_and_shows_it_once(admin_client, partner):
    response = admin_client.post(
        "/admin/core/apitoken/add/", {"user": partner.pk, "name": "meter shop", "description": "", "expiry": ""},
        follow=True,
    )
    assert response.status_code == 200
    token = ApiToken.objects.get(user=partner, name="meter shop")
    assert token.expiry is not None and token.expiry > timezone.now() + dt.timedelta(days=29)
    shown = next(str(m) for m in response.context["messages"] if "shown only now" in str(m))
    secret = shown.split(": ")[1].split(" ")[0]
    assert with_token(secret).get("/api/customers/").status_code == 200
