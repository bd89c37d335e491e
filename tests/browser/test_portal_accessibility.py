"""axe-core (the copy axe-playwright-python ships) on every portal page, signed out and signed
in, in English and in French, at phone and desktop width: no serious or critical violation.

Each page is reached the way a customer reaches it (forms filled, errors provoked, the emailed
link followed), so error states are checked too. A portal page this walk does not visit fails
the test."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.urls import get_resolver
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from billing.tests.sandbox_gateway import sandbox_running
from core.roles import Role
from portal.models import AccountLink
from portal.tests.conftest import NOW, make_customer, smtp_server

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, available_apps=list(settings.INSTALLED_APPS)),
]

PASSWORD = "axe-portal-pass-31"
FAILING = ("serious", "critical")
# Portal URLs that are not pages: files, and the POST-only sign-out and language switch.
NOT_PAGES = {"usage-csv", "greenbutton", "logout", "language"}
WORDS = {
    "en": {"create": "Create your online account", "continue": "Continue", "postal": "The postal code of the service address",
           "answer": "Answer", "check": "Check and email me the link", "sign in": "Sign in", "email": "Email",
           "password": "Password", "reset": "Email me a reset link"},
    "fr": {"create": "Créez votre compte en ligne", "continue": "Continuer", "postal": "Le code postal de l'adresse de service",
           "answer": "Réponse", "check": "Vérifier et m'envoyer le lien", "sign in": "Se connecter", "email": "Courriel",
           "password": "Mot de passe", "reset": "M'envoyer un lien de réinitialisation"},
}


def _serious(results: dict) -> list[str]:
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in results["violations"] if v.get("impact") in FAILING]


def _walk_apply(page, customer, language: str, check) -> None:
    """Applying for service as a new customer: the finder, errors, the application sent."""
    page.goto("/portal/apply/")
    check("apply", "empty")
    page.locator("#id_find_address").fill(customer.service_point.premise.address_line1)
    with page.expect_navigation():
        page.locator("#find-form button[type=submit]").click()
    check("apply", "found")
    with page.expect_navigation():
        page.locator("#apply-form button[type=submit]").click()
    check("apply", "errors")
    page.locator("input[name=premise]").first.check()
    page.locator("#id_move_in_date").fill(f"{dt.date.today() + dt.timedelta(days=9):%Y-%m-%d}")
    page.locator("#id_last_name").fill("Gagnon")
    page.locator("#id_email").fill(f"apply-{language}@example.test")
    page.locator("#id_phone").fill("514 555 0199")
    with page.expect_navigation():
        page.locator("#apply-form button[type=submit]").click()
    check("apply", "sent")


def _walk(page, axe, customer, user, language: str, inbox) -> tuple[set[str], list[str]]:
    """Every portal page in one language; returns (URL names visited, violations)."""
    words = WORDS[language]
    visited: set[str] = set()
    found: list[str] = []

    def check(name: str, what: str) -> None:
        visited.add(name)
        assert page.evaluate("document.documentElement.lang") == language, (name, what)
        # French runs longer than English: nothing may overflow the screen.
        width = page.viewport_size["width"]
        if page.evaluate("document.documentElement.scrollWidth") > width:
            found.append(f"[{language}] {name} ({what}): wider than the {width} px screen")
        found.extend(f"[{language}] {name} ({what}): {v}" for v in _serious(axe.run(page).response))

    page.context.clear_cookies()
    page.goto("/portal/login/")
    if language == "fr":
        with page.expect_navigation():
            page.get_by_role("button", name="Français").click()
    check("login", "empty")
    page.get_by_label(words["email"]).fill("nobody@example.test")
    page.get_by_label(words["password"], exact=True).fill("wrong-password")
    with page.expect_navigation():
        page.get_by_role("button", name=words["sign in"]).click()
    check("login", "wrong password")

    with page.expect_navigation():
        page.get_by_role("link", name=words["create"]).click()
    check("register", "empty")
    with page.expect_navigation():
        page.get_by_role("button", name=words["continue"]).click()
    check("register", "errors")
    page.locator("#id_account_number").fill(customer.account.account_number)
    page.locator("#id_name").fill("Tremblay")
    page.locator("#id_email").fill(f"axe-{language}@example.test")
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name=words["continue"]).click()
    check("register-proof", "question")
    page.get_by_label(words["postal"]).check()
    page.get_by_label(words["answer"]).fill("H0H 0H0")
    with page.expect_navigation():
        page.get_by_role("button", name=words["check"]).click()
    expect(page.get_by_role("alert")).to_be_visible()
    check("register-proof", "wrong answer")
    page.get_by_label(words["postal"]).check()
    page.get_by_label(words["answer"]).fill(customer.postal_code)
    with page.expect_navigation():
        page.get_by_role("button", name=words["check"]).click()
    expect(page.locator("main strong")).to_have_text(f"axe-{language}@example.test")
    check("register-proof", "link sent")
    page.wait_for_timeout(200)
    page.goto(inbox.last_link())
    check("link-confirm", "button")
    page.goto("/portal/link/no-such-token/")
    check("link-confirm", "not valid")

    page.goto("/portal/password-reset/")
    check("password-reset", "form")
    page.locator("#id_email").fill(user.email)
    with page.expect_navigation():
        page.get_by_role("button", name=words["reset"]).click()
    check("password-reset-done", "sent")
    page.goto("/portal/password-reset/MQ/no-such-token/")
    check("password-reset-confirm", "used link")
    user.refresh_from_db()  # the token is made from the password the last walk saved
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    page.goto(f"/portal/password-reset/{uid}/{default_token_generator.make_token(user)}/")
    check("password-reset-confirm", "new password form")
    page.locator("#id_new_password1").fill(PASSWORD)
    page.locator("#id_new_password2").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("main button[type=submit]").click()
    check("password-reset-complete", "done")
    _walk_apply(page, customer, language, check)

    page.goto("/portal/login/")
    page.get_by_label(words["email"]).fill(user.email)
    page.get_by_label(words["password"], exact=True).fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name=words["sign in"]).click()
    page.wait_for_url(re.compile(r"/portal/$"))
    check("home", "two accounts")
    number = customer.account.account_number
    for name, what, url in [
        ("account", "home", f"/portal/a/{number}/"),
        ("bills", "list", f"/portal/a/{number}/bills/"),
        ("bill", "lines", f"/portal/a/{number}/bills/{customer.bills[0].pk}/"),
        ("bill-pdf", "being prepared", f"/portal/a/{number}/bills/{customer.bills[0].pk}/pdf/"),
        ("account", "not linked", "/portal/a/0000999999/"),
        ("usage", "by day", f"/portal/a/{number}/usage/?start=2026-02-01&end=2026-02-28&by=day"),
        ("usage", "by hour", f"/portal/a/{number}/usage/?start=2026-02-01&end=2026-02-02&by=hour"),
        ("usage", "bad range", f"/portal/a/{number}/usage/?start=2026-02-28&end=2026-02-01&by=day"),
        ("usage-compare", "by month", f"/portal/a/{number}/usage/compare/?start=2026-01-01&end=2026-02-28&by=month"),
        ("usage-compare", "by day", f"/portal/a/{number}/usage/compare/?start=2026-02-01&end=2026-02-07&by=day"),
        ("usage-compare", "bad range", f"/portal/a/{number}/usage/compare/?start=2026-02-28&end=2026-02-01&by=day"),
        ("rate-compare", "rates", f"/portal/a/{number}/rates/"),
    ]:
        page.goto(url)
        check(name, what)
    _plans_walk(page, customer, check)
    invite_link = _self_service_walk(page, customer, user, language, inbox, check)
    with page.expect_navigation():
        page.locator(".portal-top__out button").click()
    page.goto(invite_link)  # signed out: a new login for the invited email
    check("invite-accept", "signed out")
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD + "x")
    with page.expect_navigation():
        page.locator("main button[type=submit]").click()
    check("invite-accept", "passwords differ")
    page.goto("/portal/invite/no-such-token/")
    check("invite-accept", "not valid")
    return visited, found


def _submit(page) -> None:
    with page.expect_navigation():
        page.locator("main form button[type=submit]").last.click()


def _plans_walk(page, customer, check) -> None:
    """Autopay, the equal payment plan, a payment arrangement, paperless bills: forms, errors,
    done; each ends as it began, for the next walk."""
    from billing.budget.models import BudgetPlanType
    from billing.collections.models import PaymentArrangement
    from core.clock import utility_today

    BudgetPlanType.objects.get_or_create(code="EPP", defaults={"name": "EPP", "min_history_months": 1,
                                                                "require_no_arrears": False})
    number = customer.account.account_number
    page.goto(f"/portal/a/{number}/autopay/")
    check("autopay", "form")
    page.locator("#id_routing_number").fill("011000016")
    _submit(page)
    check("autopay", "errors")
    page.locator("#id_holder_name").fill("Pat Tremblay")
    page.locator("#id_routing_number").fill("011000015")
    page.locator("#id_account_number").fill("000123456789")
    page.locator("input[name=account_type][value=checking]").check()
    page.locator("#id_authorise").check()
    _submit(page)
    check("autopay", "on")
    page.goto(f"/portal/a/{number}/autopay/cancel/")
    check("autopay-cancel", "confirm")
    _submit(page)

    page.goto(f"/portal/a/{number}/budget/")
    check("budget", "calculator")
    _submit(page)
    check("budget", "not accepted")
    page.locator("#id_accept").check()
    _submit(page)
    check("budget", "on the plan")
    page.goto(f"/portal/a/{number}/")
    check("account", "on the plan")
    page.goto(f"/portal/a/{number}/budget/leave/")
    check("budget-leave", "consequences")
    page.locator("#id_accept").check()
    _submit(page)

    page.goto(f"/portal/a/{number}/arrangement/")
    check("arrangement", "form")
    page.locator("#id_instalments").fill("40")
    _submit(page)
    check("arrangement", "errors")
    page.locator("#id_instalments").fill("3")
    page.locator("#id_first_due").fill((utility_today() + dt.timedelta(days=10)).isoformat())
    _submit(page)
    check("arrangement", "preview")
    with page.expect_navigation():
        page.locator("button[name=step][value=confirm]").click()
    check("arrangement", "made")
    PaymentArrangement.objects.filter(account=customer.account).update(status="cancelled")

    page.goto(f"/portal/a/{number}/paperless/")
    check("paperless", "form")
    page.locator("input[name=bill_delivery][value=email]").check()
    _submit(page)
    check("paperless", "on")
    page.locator("input[name=bill_delivery][value=paper]").check()
    _submit(page)


def _self_service_walk(page, customer, user, language: str, inbox, check) -> str:
    """Paying, alerts, moving, contact, people, tokens, two-step sign-in; returns the link of
    the invitation it sent."""
    number = customer.account.account_number
    page.goto(f"/portal/a/{number}/pay/")
    check("pay", "form")
    page.locator("#id_card_number").fill("12")
    _submit(page)
    check("pay", "errors")
    page.locator("#id_card_number").fill("4242 4242 4242 4242")
    page.locator("#id_exp_month").fill("12")
    page.locator("#id_exp_year").fill("2035")
    page.locator("#id_cvc").fill("123")
    _submit(page)
    page.wait_for_url(re.compile(r"/pay/status/\?ref="))
    check("pay-status", "pending")  # the page looks again in 3 s: checked before that
    page.goto(f"/portal/a/{number}/pay/status/")
    check("pay-status", "recent payments")

    page.goto(f"/portal/a/{number}/alerts/")
    check("alerts", "choices")
    page.locator("input[name=high_usage]").check()
    page.locator("input[name=high_usage_threshold]").fill("50")
    _submit(page)
    check("alerts", "threshold out of range")

    page.goto(f"/portal/a/{number}/moves/")
    check("moves", "form")
    _submit(page)
    check("moves", "errors")
    page.locator("input[name=kind][value=move_out]").check()
    page.locator("select[name=service_point]").select_option(index=1)
    page.locator("input[name=move_out_date]").fill((dt.date.today() + dt.timedelta(days=20)).isoformat())
    _submit(page)
    check("moves", "request sent")
    page.locator("main a[href$='/withdraw/']").first.click()
    page.wait_for_url(re.compile(r"/withdraw/$"))
    check("move-withdraw", "confirm")
    _submit(page)  # withdrawn, so the next walk may ask again

    page.goto(f"/portal/a/{number}/contact/")
    check("contact", "form")
    page.locator("#id_subject").fill("Compteur")
    page.locator("#id_details").fill("Une question.")
    _submit(page)
    check("contact", "message sent")

    page.goto(f"/portal/a/{number}/people/")
    check("people", "list")
    page.locator("#id_email").fill(f"guest-{language}-{page.viewport_size['width']}@example.test")
    _submit(page)
    check("people", "invitation sent")
    page.wait_for_timeout(200)
    invite_link = inbox.last_link(r"https?://\S+/portal/invite/\S+/")
    page.locator("main a[href*='/remove/']").first.click()
    page.wait_for_url(re.compile(r"/remove/$"))
    check("person-remove", "confirm")

    page.goto("/portal/tokens/")
    check("tokens", "list")
    page.locator("#id_name").fill("Tableur")
    _submit(page)
    check("tokens", "new token")
    page.locator("main a[href$='/revoke/']").first.click()
    page.wait_for_url(re.compile(r"/revoke/$"))
    check("token-revoke", "confirm")

    page.goto("/portal/two-factor/")
    check("two-factor-setup", "scan")
    page.locator("input[name=otp_token]").fill("000000")
    _submit(page)
    check("two-factor-setup", "wrong code")
    TOTPDevice.objects.filter(user=user).update(confirmed=True)  # as if confirmed on a phone
    page.goto("/portal/two-factor/verify/")
    check("two-factor-verify", "code")
    TOTPDevice.objects.filter(user=user).delete()
    return invite_link


def _rates_to_compare() -> None:
    """The customer's rate (the factory's RES-TOU) and another of its class, so the rate
    comparison page shows its tables."""
    from billing.services.rates import rate_schedule_create, rate_version_add

    for code, price in (("RES-TOU", "0.10"), ("RES-FLAT", "0.08")):
        schedule = rate_schedule_create(code=code, name=f"Residential {code}", rate_class="residential")
        rate_version_add(schedule=schedule, start_date=dt.date(2020, 1, 1), components=[
            {"kind": "fixed", "code": "customer", "params": {"amount": "10.00"}, "description": "Customer charge"},
            {"kind": "flat", "code": "energy", "params": {"price": price}, "description": "Delivery charge"}])


def test_axe_finds_no_serious_or_critical_violation_on_any_portal_page(browser_page, settings):
    customer = make_customer("a", postal_code="M4C 1B5", last_name="Tremblay", previous_occupant=True)
    second = make_customer("c", postal_code="H2X 1Y4", last_name="Gagnon")
    _rates_to_compare()
    from django.contrib.auth import get_user_model
    user = get_user_model().objects.create_user(username="pat@example.test", email="pat@example.test",
                                                password=PASSWORD)
    user.groups.add(Group.objects.get_or_create(name=Role.CUSTOMER)[0])
    for c in (customer, second):
        AccountLink.objects.create(user=user, account=c.account, linked_at=NOW, proof="postal_code")
    guest = get_user_model().objects.create_user(username="guest@example.test", email="guest@example.test")
    AccountLink.objects.create(user=guest, account=customer.account, linked_at=NOW, proof="invite", access="view",
                               invited_by=user)
    axe = Axe()
    found: list[str] = []
    visited: set[str] = set()
    page = browser_page(width=360, height=800)
    with smtp_server(settings) as inbox, sandbox_running(settings, webhook_url=""):  # payments stay pending
        for width, language in ((360, "en"), (360, "fr"), (1280, "fr")):
            page.set_viewport_size({"width": width, "height": 800})
            names, problems = _walk(page, axe, customer, user, language, inbox)
            visited |= names
            found += [f"{width}px {p}" for p in problems]
    resolver = get_resolver().namespace_dict["portal"][1]
    pages = {p.name for p in resolver.url_patterns if getattr(p, "name", None)} - NOT_PAGES
    assert not pages - visited, f"portal pages the axe walk does not visit: {sorted(pages - visited)}"
    assert not found, "axe-core found:\n" + "\n".join(found)
