"""Signing in, in a real browser: the lockout page after too many wrong passwords, enrolling
a TOTP device from the QR page's secret and signing in with a code, and no page breaking the
Content-Security-Policy (Chromium reports every violation on the console)."""
from __future__ import annotations

import base64
import re

import pytest
from django.conf import settings
from django_otp.oath import totp
from playwright.sync_api import expect

from conftest import PASSWORD
from core.roles import Role

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, available_apps=list(settings.INSTALLED_APPS)),
]


def sign_in(page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def csp_violations(page) -> list[str]:
    found: list[str] = []
    page.on("console", lambda msg: found.append(msg.text) if "Content Security Policy" in msg.text else None)
    return found


def test_too_many_wrong_passwords_show_the_lockout_page(browser_page, make_user, settings):
    settings.AXES_FAILURE_LIMIT = 3
    make_user("lockme", Role.CSR)
    page = browser_page()
    for _ in range(2):
        sign_in(page, "lockme", "not-the-password")
        expect(page.get_by_role("alert")).to_contain_text("correct username and password")
    sign_in(page, "lockme", "not-the-password")
    expect(page.get_by_role("heading", name="Sign-in locked")).to_be_visible()
    sign_in(page, "lockme", PASSWORD)
    expect(page.get_by_role("alert")).to_contain_text("Too many failed sign-in attempts (3)")
    expect(page.get_by_role("alert")).to_contain_text("try again after")


def test_enrol_a_device_then_sign_in_with_a_code(browser_page, make_user, settings):
    settings.UTILIS_REQUIRE_2FA_ROLES = ["billing"]
    make_user("twofa", Role.BILLING, Role.CSR)
    page = browser_page()
    violations = csp_violations(page)
    sign_in(page, "twofa", PASSWORD)
    # The role requires a second factor: the enrolment page comes before any hub page.
    expect(page).to_have_url(re.compile(r"/accounts/2fa/setup/"))
    expect(page.get_by_alt_text("QR code for your authenticator app")).to_be_visible()
    assert page.locator("[data-totp-qr]").evaluate("img => img.naturalWidth") > 0  # data: URI allowed
    secret = page.locator("[data-totp-secret]").inner_text().strip()
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    page.get_by_label("Code").fill(f"{totp(key):06d}")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text("Two-factor sign-in is on")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    sign_in(page, "twofa", PASSWORD)
    expect(page).to_have_url(re.compile(r"/accounts/2fa/verify/"))
    # A fresh code (the last one may not be used twice): the next time step's code.
    page.get_by_label("Code").fill(f"{totp(key, drift=1):06d}")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("link", name="Billing")).to_be_visible()
    page.goto("/billing/")
    expect(page.locator("main")).to_be_visible()
    assert violations == []


def test_hub_pages_load_their_css_and_js_under_the_csp(browser_page, make_user):
    make_user("csp-csr", Role.CSR, Role.METERING, Role.BILLING)
    page = browser_page()
    violations = csp_violations(page)
    sign_in(page, "csp-csr", PASSWORD)
    for url in ("/hub/", "/hub/pending-moves/", "/meters/", "/meters/worklist/", "/billing/"):
        page.goto(url)
        # hub.css applied (the top bar is laid out by it), hub.js loaded.
        assert page.locator(".topbar").evaluate("el => getComputedStyle(el).display") != "inline"
    assert page.evaluate("() => !!document.querySelector('script[src*=\"hub.js\"]')")
    assert violations == []
