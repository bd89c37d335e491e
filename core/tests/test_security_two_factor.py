"""Staff two-factor sign-in (TOTP): enrolment with a real code computed from the device key,
the code asked after the password when the user has a device, and UTILIS_REQUIRE_2FA_ROLES
forcing enrolment before any hub page."""
from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from conftest import PASSWORD
from core.roles import Role

pytestmark = pytest.mark.django_db


def code_for(device: TOTPDevice, drift: int = 0) -> str:
    value = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=drift)
    return f"{value:0{device.digits}d}"


@pytest.fixture
def enrolled(csr):
    TOTPDevice.objects.create(user=csr, name="phone", confirmed=True)
    return csr


def test_a_staff_member_enrols_a_device_with_a_code_from_it(client, csr):
    client.force_login(csr)
    page = client.get("/accounts/2fa/setup/")
    assert page.status_code == 200
    body = page.content.decode()
    assert 'src="data:image/svg+xml;base64,' in body
    device = TOTPDevice.objects.get(user=csr, confirmed=False)
    assert page.context["secret"] in body

    response = client.post("/accounts/2fa/setup/", {"otp_token": code_for(device), "next": "/hub/"})
    assert (response.status_code, response["Location"]) == (302, "/hub/")
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/hub/").status_code == 200


def test_a_wrong_enrolment_code_confirms_nothing_and_counts_as_a_failure(client, csr):
    client.force_login(csr)
    client.get("/accounts/2fa/setup/")
    device = TOTPDevice.objects.get(user=csr)
    wrong = f"{(int(code_for(device)) + 1) % 1_000_000:06d}"
    response = client.post("/accounts/2fa/setup/", {"otp_token": wrong})
    assert response.status_code == 200 and "not right" in response.content.decode()
    assert not TOTPDevice.objects.get(user=csr).confirmed
    assert AccessAttempt.objects.get(username=csr.username).failures_since_start == 1


def test_login_asks_for_the_code_when_the_user_has_a_device(client, enrolled):
    response = client.post("/accounts/login/", {"username": enrolled.username, "password": PASSWORD, "next": "/hub/"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/verify/?next=/hub/")
    # Password alone opens no page.
    blocked = client.get("/hub/")
    assert blocked.status_code == 302 and blocked["Location"].startswith("/accounts/2fa/verify/")
    assert client.get("/api/customers/").status_code == 403

    device = TOTPDevice.objects.get(user=enrolled)
    response = client.post("/accounts/2fa/verify/", {"otp_token": code_for(device), "next": "/hub/"})
    assert (response.status_code, response["Location"]) == (302, "/hub/")
    assert client.get("/hub/").status_code == 200


def test_the_code_page_never_redirects_off_site(client, enrolled):
    client.post("/accounts/login/", {"username": enrolled.username, "password": PASSWORD})
    device = TOTPDevice.objects.get(user=enrolled)
    response = client.post("/accounts/2fa/verify/", {"otp_token": code_for(device), "next": "https://evil.example/"})
    assert (response.status_code, response["Location"]) == (302, "/")


def test_admin_login_also_asks_for_the_code(client, make_user):
    admin = make_user("admin-2fa", Role.ADMIN, is_staff=True, is_superuser=True)
    TOTPDevice.objects.create(user=admin, name="phone", confirmed=True)
    response = client.post("/admin/login/?next=/admin/", {"username": admin.username, "password": PASSWORD, "next": "/admin/"})
    assert response.status_code == 302
    blocked = client.get("/admin/")
    assert blocked.status_code == 302 and blocked["Location"].startswith("/accounts/2fa/verify/")


def test_wrong_codes_lock_the_sign_in_like_wrong_passwords(client, enrolled, settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    client.post("/accounts/login/", {"username": enrolled.username, "password": PASSWORD})
    device = TOTPDevice.objects.get(user=enrolled)
    wrong = f"{(int(code_for(device)) + 7) % 1_000_000:06d}"
    statuses = [client.post("/accounts/2fa/verify/", {"otp_token": wrong}).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert "_auth_user_id" not in client.session


def test_required_roles_must_enrol_before_any_hub_page(client, billing_user, csr, settings):
    settings.UTILIS_REQUIRE_2FA_ROLES = ["administrator", "billing"]
    client.force_login(billing_user)
    response = client.get("/billing/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/2fa/setup/?next=/billing/")
    assert client.get("/accounts/2fa/setup/").status_code == 200
    # Roles not listed are not forced.
    client.force_login(csr)
    assert client.get("/hub/").status_code == 200


def test_nobody_is_forced_by_default(client, billing_user, settings):
    assert settings.UTILIS_REQUIRE_2FA_ROLES == []
    client.force_login(billing_user)
    assert client.get("/billing/").status_code == 200


def test_the_token_endpoint_wants_the_code_of_a_user_with_a_device(enrolled):
    api = APIClient()
    response = api.post("/api/auth/token/", {"username": enrolled.username, "password": PASSWORD}, format="json")
    assert response.status_code == 400 and "otp_token" in response.json()["detail"]
    device = TOTPDevice.objects.get(user=enrolled)
    response = api.post("/api/auth/token/", {"username": enrolled.username, "password": PASSWORD,
                                             "otp_token": code_for(device)}, format="json")
    assert response.status_code == 200 and response.json()["token"]
