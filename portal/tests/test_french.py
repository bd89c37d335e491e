"""The portal in French: every page, its forms, messages and mail.

The walk renders every HTML page of the portal in English and in French and compares the text
a person reads (text nodes, titles, aria-labels): a piece of text that is the same in both is
English left untranslated, unless it is the customer's own data (account number, address,
email, amounts, dates, units). A new string that is not marked for translation, or marked and
not yet in the French catalogue, fails here; so does a new portal page the walk does not know.
"""
from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path

import lxml.html
import polib
import pytest
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.urls import get_resolver, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from portal.tests.conftest import make_customer

pytestmark = pytest.mark.django_db

CATALOGUE = Path(__file__).resolve().parents[1] / "locale" / "fr" / "LC_MESSAGES"
# Portal URLs that are not pages to read: files, and the POST-only sign-out and language switch.
NOT_PAGES = {"usage-csv", "greenbutton", "logout", "language"}
# Words a French page may share with the English one: units, file formats, zone abbreviations.
# "Code" and "Invitation" are French words too.
SAME_IN_BOTH = {"kWh", "kW", "m³", "PDF", "CSV", "XML", "EST", "EDT", "Question", "Pat", "Code", "Invitation"}
NEW_PASSWORD = "un-nouveau-mot-de-passe-42"


def _portal_names() -> set[str]:
    resolver = get_resolver()
    namespace = resolver.namespace_dict["portal"][1]
    return {p.name for p in namespace.url_patterns if getattr(p, "name", None)}


def _texts(html: str) -> list[str]:
    """What a person reads on the page: text nodes, the title, labels for assistive technology.
    An element in another language than the page (the language switch) is left out."""
    doc = lxml.html.document_fromstring(html)
    page_lang = doc.get("lang")
    out: list[str] = []

    def walk(el, skip: bool) -> None:
        if not isinstance(el.tag, str) or el.tag in ("script", "style"):
            return
        skip = skip or (el.get("lang") not in (None, page_lang))
        if not skip:
            out.extend(el.get(a) for a in ("aria-label", "title", "placeholder", "alt") if el.get(a))
            if el.text:
                out.append(el.text)
        for child in el:
            walk(child, skip)
            if child.tail and not skip:
                out.append(child.tail)

    walk(doc, False)
    return [" ".join(t.split()) for t in out if t and re.search(r"[A-Za-zÀ-ÿ]", t)]


def _left_in_english(en_html: str, fr_html: str, data: list[str]) -> list[str]:
    french = set(_texts(fr_html))
    left = []
    for text in dict.fromkeys(_texts(en_html)):
        if text not in french:
            continue
        rest = re.sub(r"\butp_\S+", " ", text)  # a new personal token, shown once
        for value in sorted(data, key=len, reverse=True):
            rest = rest.replace(value, " ")
        words = [w for w in re.findall(r"[A-Za-zÀ-ÿ³]+", rest) if w not in SAME_IN_BOTH]
        if words:
            left.append(text)
    return left


@pytest.fixture
def two_accounts(alice, portal_user):
    """Alice's login with a second account, so the home page lists both."""
    user = portal_user(alice)
    second = make_customer("c", postal_code="H2X 1Y4", last_name="Tremblay")
    from portal.models import AccountLink
    from portal.tests.conftest import NOW
    AccountLink.objects.create(user=user, account=second.account, linked_at=NOW, proof="postal_code")
    return user, second


def _pages(client, alice, user, second, language: str, capture, settings_) -> dict[str, list[tuple[str, str]]]:
    """name -> [(what, html)] for every portal page, in one language (the switch's cookie)."""
    client.logout()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    number = alice.account.account_number
    bill = alice.bills[0]
    pages: dict[str, list[tuple[str, str]]] = {}

    def get(name, what, url, status=200, method="get", data=None):
        response = getattr(client, method)(url, data or {})
        assert response.status_code == status, (name, what, response.status_code)
        pages.setdefault(name, []).append((what, response.content.decode()))
        return response

    get("login", "empty", reverse("portal:login"))
    get("login", "wrong password", reverse("portal:login"), method="post",
        data={"username": "nobody@example.test", "password": "wrong"})
    get("register", "empty", reverse("portal:register"))
    get("register", "errors", reverse("portal:register"), method="post",
        data={"account_number": "", "name": "", "email": "not-an-email", "password1": "a", "password2": "b"})
    client.post(reverse("portal:register"), {"account_number": number, "name": "Tremblay", "email": "new@example.test",
                                             "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    get("register-proof", "question", reverse("portal:register-proof"))
    get("register-proof", "wrong answer", reverse("portal:register-proof"), status=400, method="post",
        data={"proof": "postal_code", "answer": "H0H 0H0"})
    mail.outbox.clear()
    with capture(execute=True):
        get("register-proof", "link sent", reverse("portal:register-proof"), method="post",
            data={"proof": "postal_code", "answer": alice.postal_code})
    link = re.search(r"https?://\S+", mail.outbox[-1].body).group(0)
    pages["email"] = [("link", mail.outbox[-1].subject + "\n" + mail.outbox[-1].body)]
    path = re.sub(r"^https?://[^/]+", "", link)
    get("link-confirm", "button", path)
    get("link-confirm", "not valid", reverse("portal:link-confirm", args=["no-such-token"]), status=404)
    get("password-reset", "form", reverse("portal:password-reset"))
    get("password-reset-done", "sent", reverse("portal:password-reset-done"))
    get("password-reset-confirm", "used link",
        reverse("portal:password-reset-confirm", args=["MQ", "no-such-token"]))
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    start = client.get(reverse("portal:password-reset-confirm", args=[uid, default_token_generator.make_token(user)]))
    get("password-reset-confirm", "new password form", start["Location"])
    get("password-reset-complete", "done", reverse("portal:password-reset-complete"))
    _apply_pages(client, alice, get, language)

    client.force_login(user)
    get("home", "two accounts", reverse("portal:home"))
    get("account", "home", reverse("portal:account", args=[number]))
    get("bills", "list", reverse("portal:bills", args=[number]))
    get("bill", "lines", reverse("portal:bill", args=[number, bill.pk]))
    get("bill-pdf", "being prepared", reverse("portal:bill-pdf", args=[number, bill.pk]), status=202)
    get("account", "not linked", reverse("portal:account", args=["0000999999"]), status=404)
    usage = reverse("portal:usage", args=[number])
    get("usage", "by day", f"{usage}?start=2026-02-01&end=2026-02-28&by=day")
    get("usage", "by month", f"{usage}?start=2026-01-01&end=2026-02-28&by=month")
    get("usage", "by hour", f"{usage}?start=2026-02-01&end=2026-02-02&by=hour")
    get("usage", "hourly range too long", f"{usage}?start=2026-01-01&end=2026-02-28&by=hour", status=400)
    get("usage", "bad dates", f"{usage}?start=2026-02-28&end=2026-02-01&by=day", status=400)
    get("usage", "no usage", f"{usage}?start=2025-01-01&end=2025-01-31&by=day")
    compare = reverse("portal:usage-compare", args=[number])
    get("usage-compare", "by month", f"{compare}?start=2026-01-01&end=2026-02-28&by=month")
    get("usage-compare", "by day", f"{compare}?start=2026-02-01&end=2026-02-07&by=day")
    get("usage-compare", "bad dates", f"{compare}?start=2026-02-28&end=2026-02-01&by=day", status=400)
    get("usage-compare", "no usage", f"{compare}?start=2025-01-01&end=2025-01-31&by=day")
    _insights_rates()
    get("rate-compare", "rates", reverse("portal:rate-compare", args=[number]))
    _plans_pages(client, alice, get)
    _self_service_pages(client, alice, user, get, pages, settings_, capture)
    return pages


def _plans_pages(client, alice, get) -> None:
    """Autopay, the equal payment plan, a payment arrangement and paperless bills: each form,
    its errors and what it shows once done; each ends as it began, for the other language."""
    import datetime as dt

    from billing.budget.models import BudgetPlanType
    from billing.collections.models import PaymentArrangement
    from core.clock import utility_today

    BudgetPlanType.objects.get_or_create(code="EPP", defaults={"name": "EPP", "min_history_months": 1,
                                                                "require_no_arrears": False})
    number = alice.account.account_number
    autopay = reverse("portal:autopay", args=[number])
    get("autopay", "form", autopay)
    get("autopay", "errors", autopay, status=400, method="post",
        data={"routing_number": "011000016", "account_number": "12", "holder_name": "", "account_type": "x"})
    _follow(get, "autopay", "on", client.post(autopay, {
        "holder_name": "Pat Tremblay", "routing_number": "011000015", "account_number": "000123456789",
        "account_type": "checking", "authorise": "on"}))
    get("account", "autopay on", reverse("portal:account", args=[number]))
    cancel = reverse("portal:autopay-cancel", args=[number])
    get("autopay-cancel", "confirm", cancel)
    _follow(get, "autopay", "cancelled", client.post(cancel, {"reason": ""}))

    budget = reverse("portal:budget", args=[number])
    get("budget", "calculator", budget)
    get("budget", "not accepted", budget, status=400, method="post", data={"plan_type": "EPP"})
    _follow(get, "budget", "on the plan", client.post(budget, {"plan_type": "EPP", "accept": "on"}))
    leave = reverse("portal:budget-leave", args=[number])
    get("budget-leave", "consequences", leave)
    get("budget-leave", "not accepted", leave, status=400, method="post", data={})
    _follow(get, "budget", "left", client.post(leave, {"accept": "on"}))

    arrangement = reverse("portal:arrangement", args=[number])
    first = (utility_today() + dt.timedelta(days=10)).isoformat()
    get("arrangement", "form", arrangement)
    get("arrangement", "errors", arrangement, status=400, method="post",
        data={"instalments": "40", "first_due": "2000-01-01", "step": "preview"})
    get("arrangement", "preview", arrangement, method="post",
        data={"instalments": "3", "first_due": first, "step": "preview"})
    _follow(get, "arrangement", "made", client.post(arrangement, {"instalments": "3", "first_due": first,
                                                                  "step": "confirm"}))
    get("account", "arrangement made", reverse("portal:account", args=[number]))
    PaymentArrangement.objects.filter(account=alice.account).update(status="cancelled")

    paperless = reverse("portal:paperless", args=[number])
    get("paperless", "form", paperless)
    get("paperless", "errors", paperless, status=400, method="post", data={"bill_delivery": "fax"})
    _follow(get, "paperless", "on", client.post(paperless, {"bill_delivery": "email"}))
    get("bills", "paperless", reverse("portal:bills", args=[number]))
    _follow(get, "paperless", "paper again", client.post(paperless, {"bill_delivery": "paper"}))


RATE_NAMES = ["Residential time of use", "Residential flat"]


def _insights_rates() -> None:
    """Alice's rate and another of her class, for the rate comparison page."""
    from billing.models import RateSchedule
    from billing.services.rates import rate_schedule_create, rate_version_add

    for code, name, price in (("RES-TOU", RATE_NAMES[0], "0.10"), ("RES-FLAT", RATE_NAMES[1], "0.08")):
        if RateSchedule.objects.filter(code=code).exists():
            continue
        schedule = rate_schedule_create(code=code, name=name, rate_class="residential")
        rate_version_add(schedule=schedule, start_date=dt.date(2020, 1, 1), components=[
            {"kind": "fixed", "code": "customer", "params": {"amount": "10.00"}, "description": "Customer charge"},
            {"kind": "flat", "code": "energy", "params": {"price": price}, "description": "Delivery charge"}])


def _apply_pages(client, alice, get, language: str) -> None:
    """Applying for service as a new customer (signed out): the finder, bad input, the answer."""
    import datetime as dt

    apply = reverse("portal:apply")
    street = alice.service_point.premise.address_line1
    get("apply", "empty", apply)
    get("apply", "nothing found", apply + "?address=Nowhere+Lane")
    found = get("apply", "found", f"{apply}?address={street}").content.decode()
    premise = re.search(r'name="premise" value="(\d+)"', found).group(1)
    get("apply", "errors", apply, status=400, method="post",
        data={"address": street, "premise": premise, "move_in_date": "2020-01-01", "applicant_kind": "person",
              "email": "not-an-email", "phone": "1", "id_number": "X1", "mailing_city": "Laval"})
    get("apply", "sent", apply, method="post", data={
        "address": street, "premise": premise, "move_in_date": (dt.date.today() + dt.timedelta(days=9)).isoformat(),
        "applicant_kind": "person", "first_name": "Pat", "last_name": "Gagnon", "email": f"apply-{language}@example.test",
        "phone": "514 555 0199"})


def _follow(get, name: str, what: str, response) -> None:
    assert response.status_code == 302, (name, what, response.status_code)
    get(name, what, response["Location"])


def _self_service_pages(client, alice, user, get, pages, settings_, capture) -> None:
    """Paying, alerts, moving, contact, people and invitations, tokens and two-step sign-in."""
    from django.contrib.auth import get_user_model
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from billing.tests.sandbox_gateway import sandbox_running
    from portal.models import AccountLink
    from portal.tests.conftest import NOW

    number = alice.account.account_number
    pay = reverse("portal:pay", args=[number])
    card = {"exp_month": "12", "exp_year": "2035", "cvc": "123"}

    def attempt() -> str:
        return re.search(r'name="attempt" value="([0-9a-f-]+)"', client.get(pay).content.decode()).group(1)

    get("pay", "form", pay)
    get("pay", "errors", pay, status=400, method="post",
        data={"amount": "0", "card_number": "12", "exp_month": "13", "exp_year": "1999", "cvc": "1",
              "attempt": attempt()})
    with sandbox_running(settings_, webhook_url=""):  # no webhook: the payment stays pending
        _follow(get, "pay-status", "declined", client.post(pay, {
            "amount": "10.00", "card_number": "4000 0000 0000 9995", **card, "attempt": attempt()}))
        paid = client.post(pay, {"amount": "10.00", "card_number": "4242 4242 4242 4242", **card,
                                 "attempt": attempt()})
        _follow(get, "pay-status", "pending", paid)
    get("pay-status", "recent payments", reverse("portal:pay-status", args=[number]))
    get("account", "payment pending", reverse("portal:account", args=[number]))

    alerts = reverse("portal:alerts", args=[number])
    get("alerts", "choices", alerts)
    get("alerts", "threshold out of range", alerts, status=400, method="post",
        data={"high_usage": "on", "high_usage_threshold": "50"})
    _follow(get, "alerts", "saved", client.post(alerts, {"bill_ready": "on", "payment_due": "on",
                                                         "payment_due_threshold": "7"}))

    moves = reverse("portal:moves", args=[number])
    form = get("moves", "form", moves).content.decode()
    get("moves", "errors", moves, status=400, method="post", data={})
    point = re.search(r'<option value="([^"]+)">', form).group(1)
    _follow(get, "moves", "request sent", client.post(moves, {
        "kind": "move_out", "service_point": point, "move_out_date": (dt.date.today() + dt.timedelta(days=20)).isoformat(),
        "forwarding_address": "12 rue Saint-Denis, Montréal QC H2X 3K8"}))
    withdraw = re.search(r'href="([^"]+/withdraw/)"', client.get(moves).content.decode()).group(1)
    get("move-withdraw", "confirm", withdraw)
    _follow(get, "moves", "withdrawn", client.post(withdraw))

    contact = reverse("portal:contact", args=[number])
    get("contact", "form", contact)
    get("contact", "errors", contact, status=400, method="post", data={})
    _follow(get, "contact", "message sent", client.post(contact, {"kind": "message", "subject": "Compteur",
                                                                  "details": "Une question."}))
    _follow(get, "contact", "complaint sent", client.post(contact, {"kind": "complaint", "category": "meter",
                                                                    "subject": "Compteur", "details": "Bruit."}))

    people = reverse("portal:people", args=[number])
    get("people", "list", people)
    get("people", "errors", people, status=400, method="post", data={"email": "not-an-email", "access": "view"})
    mail.outbox.clear()
    with capture(execute=True):
        invited = client.post(people, {"email": "carol@example.test", "access": "pay"})
    pages["email"].append(("invitation", mail.outbox[-1].subject + "\n" + mail.outbox[-1].body))
    invite_path = re.sub(r"^https?://[^/]+", "", re.search(r"https?://\S+/portal/invite/\S+/", mail.outbox[-1].body).group(0))
    _follow(get, "people", "invitation sent", invited)
    guest, _new = get_user_model().objects.get_or_create(username="guest@example.test",
                                                          defaults={"email": "guest@example.test"})
    link, _new = AccountLink.objects.get_or_create(user=guest, account=alice.account, defaults={
        "linked_at": NOW, "proof": "invite", "access": "view", "invited_by": user})
    get("people", "with a guest", people)
    get("person-remove", "confirm", reverse("portal:person-remove", args=[number, link.pk]))

    tokens = reverse("portal:tokens")
    get("tokens", "none yet", tokens)
    get("tokens", "errors", tokens, status=400, method="post", data={"name": ""})
    get("tokens", "new token", tokens, method="post", data={"name": "Tableur"})
    revoke = re.search(r'href="(/portal/tokens/\d+/revoke/)"', client.get(tokens).content.decode()).group(1)
    get("token-revoke", "confirm", revoke)

    setup = reverse("portal:two-factor-setup")
    get("two-factor-setup", "scan", setup)
    get("two-factor-setup", "wrong code", setup, method="post", data={"otp_token": "12"})
    TOTPDevice.objects.filter(user=user).update(confirmed=True)
    language = client.cookies[settings.LANGUAGE_COOKIE_NAME].value
    client.logout()  # which forgets the cookies
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    client.force_login(user)
    get("two-factor-verify", "code", reverse("portal:two-factor-verify"))
    get("two-factor-verify", "wrong code", reverse("portal:two-factor-verify"), method="post",
        data={"otp_token": "12"})
    TOTPDevice.objects.filter(user=user).delete()

    client.logout()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    get("invite-accept", "signed out", invite_path)
    get("invite-accept", "passwords differ", invite_path, status=400, method="post",
        data={"password1": NEW_PASSWORD, "password2": NEW_PASSWORD + "x"})
    get("invite-accept", "not valid", reverse("portal:invite-accept", args=["no-such-token"]), status=404)


def test_every_portal_page_reads_in_french_with_no_english_left(client, alice, two_accounts, settings,
                                                                 django_capture_on_commit_callbacks):
    user, second = two_accounts
    english = _pages(client, alice, user, second, "en", django_capture_on_commit_callbacks, settings)
    french = _pages(client, alice, user, second, "fr", django_capture_on_commit_callbacks, settings)
    missing = _portal_names() - NOT_PAGES - set(english)
    assert not missing, f"portal pages the French walk does not visit (add them to _pages): {sorted(missing)}"

    from cis.selectors import service_addresses
    data = [alice.account.account_number, second.account.account_number, user.email, "new@example.test",
            "nobody@example.test", "carol@example.test", "guest@example.test", "Pat Tremblay", "apply-en@example.test",
            "apply-fr@example.test", alice.service_point.premise.address_text(), "Tableur", "Compteur", "Une question.", "Bruit.",
            "12 rue Saint-Denis, Montréal QC H2X 3K8", *RATE_NAMES, settings.UTILIS_UTILITY_NAME, "America/Toronto", alice.bills[0].bill_number,
            *service_addresses([alice.account.pk, second.account.pk]).values()]
    problems = []
    for name, shots in english.items():
        for (what, en_html), (_, fr_html) in zip(shots, french[name]):
            if name != "email":
                assert '<html lang="fr">' in fr_html and '<html lang="en">' in en_html, (name, what)
                left = _left_in_english(en_html, fr_html, data)
            else:
                left = [line for line in en_html.splitlines()
                        if line.strip() and line in fr_html.splitlines() and not any(d in line for d in data)
                        and not line.startswith("http")]
            problems += [f"{name} ({what}): {text!r}" for text in left]
    assert not problems, "English left on French pages:\n" + "\n".join(problems)


def test_french_pages_write_money_and_dates_the_french_way(client, alice, portal_user):
    client.force_login(portal_user(alice))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    page = client.get(reverse("portal:account", args=[alice.account.account_number])).content.decode()
    assert "96,87\u00a0$" in page and "22 mars 2026" in page and "Solde" in page
    bill = client.get(reverse("portal:bill", args=[alice.account.account_number, alice.bills[0].pk])).content.decode()
    assert "Frais de livraison" in bill and "38,2 kWh × 0,041\u00a0$" in bill and "10,00\u00a0$ par facture" in bill
    assert "1er févr. – 14 févr. 2026 (14 jours)" in bill
    # The CSV is for machines: a dot for decimals in any language.
    csv_url = reverse("portal:usage-csv", args=[alice.account.account_number]) + "?start=2026-02-01&end=2026-02-01"
    assert ",0.25,kWh," in client.get(csv_url).content.decode()


def test_the_switch_remembers_the_choice_and_goes_back_to_the_page(client, alice):
    page = client.get(reverse("portal:login"))
    assert '<html lang="en">' in page.content.decode() and 'value="fr"' in page.content.decode()
    response = client.post(reverse("portal:language"), {"language": "fr", "next": reverse("portal:register")})
    assert response.status_code == 302 and response["Location"] == reverse("portal:register")
    assert "Créez votre compte en ligne" in client.get(reverse("portal:register")).content.decode()
    # Another site's address, or a page outside the portal, is not where the switch goes.
    response = client.post(reverse("portal:language"), {"language": "en", "next": "https://evil.example/"})
    assert response["Location"] == reverse("portal:home")
    assert client.get(reverse("portal:language")).status_code == 405


def test_the_customers_language_on_file_chooses_until_the_switch_says_otherwise(client, alice, portal_user):
    alice.customer.preferred_language = "fr"
    alice.customer.save(update_fields=["preferred_language"])
    client.force_login(portal_user(alice))
    url = reverse("portal:account", args=[alice.account.account_number])
    assert "Solde" in client.get(url).content.decode()
    client.post(reverse("portal:language"), {"language": "en", "next": url})
    assert "Balance" in client.get(url).content.decode()


def test_the_browsers_language_chooses_for_a_visitor(client):
    page = client.get(reverse("portal:login"), headers={"accept-language": "fr-CA,fr;q=0.9,en;q=0.5"})
    assert '<html lang="fr">' in page.content.decode() and page["Content-Language"] == "fr"


def test_staff_pages_stay_english_whatever_the_portal_chose(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    client.get(reverse("portal:login"))
    response = client.post(reverse("login"), {"username": "", "password": ""},
                           headers={"accept-language": "fr"})
    assert "This field is required." in response.content.decode()


# Messages of the apps below the portal that its pages show (two-step sign-in, move requests and
# applications, the card gateway's refusals) are in each app's own catalogue.
CATALOGUES = [CATALOGUE, *(Path(settings.BASE_DIR) / app / "locale" / "fr" / "LC_MESSAGES"
                           for app in ("core", "cis", "billing"))]


@pytest.mark.parametrize("catalogue", CATALOGUES, ids=lambda c: c.parents[2].name)
def test_the_catalogue_is_complete_and_its_compiled_copy_is_up_to_date(catalogue):
    po = polib.pofile(str(catalogue / "django.po"))
    untranslated = [e.msgid for e in po if not e.obsolete and (not e.translated() or "fuzzy" in e.flags)]
    assert not untranslated, f"French missing for: {untranslated}"
    mo = {(e.msgctxt, e.msgid): (e.msgstr, e.msgstr_plural) for e in polib.mofile(str(catalogue / "django.mo"))}
    stale = [e.msgid for e in po if not e.obsolete and mo.get((e.msgctxt, e.msgid)) != (e.msgstr, e.msgstr_plural)]
    assert not stale, f"django.mo is older than django.po (run compilemessages, docs/portal.md): {stale}"


def test_messages_of_other_apps_shown_in_the_portal_are_french(client, alice, portal_user):
    """core's two-step sign-in, cis's move-request checks and billing's card refusals."""
    import datetime as dt
    from types import SimpleNamespace

    from django.utils import translation
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from billing.services import card_decline_reason, card_rejection_text
    from core.clock import utility_today
    from portal.payments import charge_state

    user = portal_user(alice)
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    moves = reverse("portal:moves", args=[alice.account.account_number])
    yesterday = utility_today() - dt.timedelta(days=1)
    page = client.post(moves, {"kind": "move_out", "service_point": alice.service_point.sp_number,
                               "move_out_date": yesterday.isoformat()}).content.decode()
    page = html.unescape(page)
    assert f"La date d'arrêt est passée\u00a0: choisissez le {utility_today():%Y-%m-%d} ou plus tard." in page
    wrong = html.unescape(client.post(reverse("portal:two-factor-setup"), {"otp_token": "000000"}).content.decode())
    assert "Ce code n'est pas le bon." in wrong
    TOTPDevice.objects.filter(user=user).delete()
    applied = html.unescape(client.post(reverse("portal:apply"), {"applicant_kind": "organisation",
                                                                  "move_in_date": yesterday}).content.decode())
    assert "Donnez le nom de l'entreprise." in applied and "La date de début est passée" in applied
    with translation.override("fr"):
        assert card_rejection_text(code="invalid_number", message="The card number is not valid.") == (
            "Ce numéro de carte n'est pas valide.")
        assert card_decline_reason(code="insufficient_funds", message="Insufficient funds") == "fonds insuffisants"
        assert card_decline_reason(code="", message="The gateway did not answer: nothing was charged.") == (
            "le processeur de paiement n'a pas répondu")
        declined = SimpleNamespace(brand="Visa", last4="9995", amount=5, status="declined", payment=None,
                                   decline_code="insufficient_funds", message="Insufficient funds")
        assert "fonds insuffisants" in charge_state(declined).detail


def test_alert_mail_from_the_worker_speaks_the_customers_language_on_file(smtp, alice, portal_user):
    import datetime as dt

    from portal.alerts import alert_preferences_set, alerts_send_for_link
    from portal.models import AccountLink
    from portal.tests.conftest import NOW, TZ

    alice.customer.preferred_language = "fr"
    alice.customer.save(update_fields=["preferred_language"])
    link = AccountLink.objects.get(user=portal_user(alice), account=alice.account)
    alert_preferences_set(link=link, chosen={"bill_ready": None, "payment_due": 30}, now=NOW)
    now = dt.datetime(2026, 3, 5, 17, tzinfo=dt.timezone.utc)
    assert alerts_send_for_link(link_id=link.pk, now=now, today=now.astimezone(TZ).date(), tz=TZ) == 2
    subjects = sorted(str(m["Subject"]).strip() for m in smtp.messages)  # an encoded header folds
    assert subjects == sorted([f"{settings.UTILIS_UTILITY_NAME}\u00a0: paiement dû le 2026-03-22",
                               f"{settings.UTILIS_UTILITY_NAME}\u00a0: votre facture du compte "
                               f"{alice.account.account_number} est prête"]), subjects
    body = smtp.messages[0].get_body(preferencelist=("plain",)).get_content()
    assert "Bonjour," in body and "51,20\u00a0$" in " ".join(
        m.get_body(preferencelist=("plain",)).get_content() for m in smtp.messages)
