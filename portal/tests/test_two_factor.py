"""Two-step sign-in for customers (TOTP, django-otp, the portal's own pages): enrol with a
code from the app, then the portal sign-in asks for a code before any account page."""
from __future__ import annotations

import time

import pytest
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _code(device: TOTPDevice, *, offset: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + offset
    return f"{totp.token():0{device.digits}d}"


def test_a_customer_turns_on_two_step_sign_in_and_is_asked_for_a_code(client, alice, portal_user):
    user = portal_user(alice)
    number = alice.account.account_number
    client.force_login(user)
    setup = reverse("portal:two-factor-setup")
    page = client.get(setup)
    assert page.status_code == 200 and b"authenticator app" in page.content
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    wrong = client.post(setup, {"otp_token": f"{(int(_code(device)) + 1) % 10**6:06d}"})
    assert b"That code is not right" in wrong.content
    # django-otp throttles a device after a wrong code (1 s, doubling): even the right one waits.
    assert client.post(setup, {"otp_token": _code(device)}).status_code == 200
    time.sleep(1.2)
    assert client.post(setup, {"otp_token": _code(device), "next": reverse("portal:home")}).status_code == 302
    device.refresh_from_db()
    assert device.confirmed

    client.logout()
    signed_in = client.post(reverse("portal:login"), {"username": user.username, "password": PASSWORD})
    assert signed_in.status_code == 302 and signed_in["Location"].startswith(reverse("portal:two-factor-verify"))
    # Until the code is given every portal page sends the customer to the portal's code page.
    blocked = client.get(reverse("portal:bills", args=[number]))
    assert blocked.status_code == 302 and blocked["Location"].startswith(reverse("portal:two-factor-verify"))
    verify = reverse("portal:two-factor-verify")
    assert client.get(verify).status_code == 200
    done = client.post(verify, {"otp_token": _code(device, offset=30), "next": reverse("portal:bills", args=[number])})
    assert done.status_code == 302 and done["Location"] == reverse("portal:bills", args=[number])
    assert client.get(reverse("portal:bills", args=[number])).status_code == 200
