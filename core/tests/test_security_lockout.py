"""Login throttling (django-axes) on the hub sign-in, the admin sign-in and the API token
endpoint: N failures lock the username from that address, the right password is then refused
with a message saying when to retry, and an administrator's reset in the admin unlocks."""
from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.conf import settings

from conftest import PASSWORD
from core.roles import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(make_user):
    return make_user("locky", Role.CSR, is_staff=True)


def fail(client, url: str, username: str, times: int, **extra):
    return [client.post(url, {"username": username, "password": "wrong-password-x"}, **extra) for _ in range(times)]


def test_the_failure_limit_defaults_to_five_with_a_cool_off():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 30 * 60
    assert settings.AUTHENTICATION_BACKENDS[0] == "core.auth.AxesBackend"


def test_hub_login_locks_after_n_failures_and_refuses_the_right_password_with_a_message(client, staff):
    responses = fail(client, "/accounts/login/", staff.username, 5)
    assert [r.status_code for r in responses[:4]] == [200] * 4  # the form again, with its error
    assert responses[4].status_code == 429

    response = client.post("/accounts/login/", {"username": staff.username, "password": PASSWORD})
    assert response.status_code == 429
    body = response.content.decode()
    assert "Too many failed sign-in attempts (5)" in body and "try again after" in body
    assert int(response["Retry-After"]) > 25 * 60
    assert "_auth_user_id" not in client.session
    # Another username from the same address is not locked.
    assert client.get("/hub/").status_code == 302


def test_the_failure_limit_is_a_setting(client, staff, settings):
    settings.AXES_FAILURE_LIMIT = 2
    responses = fail(client, "/accounts/login/", staff.username, 2)
    assert [r.status_code for r in responses] == [200, 429]


def test_an_administrator_unlocks_in_the_admin(client, admin_client, staff):
    fail(client, "/accounts/login/", staff.username, 5)
    assert client.post("/accounts/login/", {"username": staff.username, "password": PASSWORD}).status_code == 429
    attempt = AccessAttempt.objects.get(username=staff.username)

    changelist = admin_client.get("/admin/axes/accessattempt/")
    assert changelist.status_code == 200 and staff.username in changelist.content.decode()
    response = admin_client.post(
        "/admin/axes/accessattempt/", {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(username=staff.username).exists()

    response = client.post("/accounts/login/", {"username": staff.username, "password": PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(staff.pk)


def test_admin_login_locks_too(client, staff):
    responses = fail(client, "/admin/login/", staff.username, 5)
    assert responses[-1].status_code == 429
    response = client.post("/admin/login/", {"username": staff.username, "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()


def test_token_endpoint_locks_with_a_json_body_saying_when_to_retry(client, staff):
    responses = [
        client.post("/api/auth/token/", {"username": staff.username, "password": "nope-nope-nope"},
                    content_type="application/json")
        for _ in range(5)
    ]
    assert [r.status_code for r in responses[:4]] == [400] * 4
    assert responses[4].status_code == 429

    response = client.post("/api/auth/token/", {"username": staff.username, "password": PASSWORD},
                           content_type="application/json")
    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "locked_out"
    assert "Too many failed sign-in attempts" in body["detail"]
    assert body["retry_after"] and body["retry_after_seconds"] > 25 * 60
    assert "token" not in body


def test_a_success_before_the_limit_clears_the_failures(client, staff):
    fail(client, "/accounts/login/", staff.username, 4)
    assert client.post("/accounts/login/", {"username": staff.username, "password": PASSWORD}).status_code == 302
    client.logout()
    responses = fail(client, "/accounts/login/", staff.username, 4)
    assert all(r.status_code == 200 for r in responses)
