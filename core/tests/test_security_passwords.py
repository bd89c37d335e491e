"""Password rules for staff systems: at least 12 characters, not like the username, not common,
not all digits, enforced by the admin's password forms."""
from __future__ import annotations

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db


def add_user(admin_client, username: str, password: str):
    return admin_client.post("/admin/auth/user/add/", {
        "username": username, "password1": password, "password2": password, "usable_password": "true",
    })


def test_the_four_validators_are_on():
    names = [v["NAME"].rsplit(".", 1)[1] for v in settings.AUTH_PASSWORD_VALIDATORS]
    assert names == ["UserAttributeSimilarityValidator", "MinimumLengthValidator",
                     "CommonPasswordValidator", "NumericPasswordValidator"]
    assert settings.AUTH_PASSWORD_VALIDATORS[1]["OPTIONS"]["min_length"] == 12


@pytest.mark.parametrize(("password", "message"), [
    ("Sh0rt-pass", "at least 12 characters"),
    ("483920571638", "entirely numeric"),
    ("password1234", "too common"),
    ("jonathan.smithers", "too similar to the username"),
])
def test_admin_user_form_refuses_weak_passwords(admin_client, password, message):
    response = add_user(admin_client, "jonathan.smithers", password)
    assert response.status_code == 200
    assert message in response.content.decode()


def test_admin_user_form_accepts_a_good_password(admin_client, django_user_model):
    response = add_user(admin_client, "new.staffer", "correct horse battery staple")
    assert response.status_code == 302
    assert django_user_model.objects.get(username="new.staffer").check_password("correct horse battery staple")


def test_admin_password_change_form_refuses_a_short_password(admin_client, make_user):
    user = make_user("changeme-user")
    response = admin_client.post(f"/admin/auth/user/{user.pk}/password/", {
        "password1": "short1", "password2": "short1", "usable_password": "true",
    })
    assert response.status_code == 200
    assert "at least 12 characters" in response.content.decode()
