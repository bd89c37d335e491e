"""Nobody sees another customer's data: every portal URL, walked with another customer's ids."""
from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from cis.services import move_request_submit
from portal.models import AccountLink
from portal.tests.conftest import NOW
from portal.tokens import personal_token_create

TODAY = NOW.date()

pytestmark = pytest.mark.django_db

# Pages without ids: open to anyone (signing in and registering), or showing only the login's
# own accounts. A new URL must be listed here or take ids the walk below fills in.
OPEN = {"language", "login", "logout", "register", "register-proof", "password-reset", "password-reset-done",
        "password-reset-complete", "apply"}
OWN_ONLY = {"home", "tokens", "two-factor-setup", "two-factor-verify"}
TOKEN = {"link-confirm", "password-reset-confirm", "invite-accept"}


def portal_patterns() -> list[URLPattern]:
    resolver = next(p for p in get_resolver().url_patterns
                    if isinstance(p, URLResolver) and getattr(p, "namespace", None) == "portal")
    return [p for p in resolver.url_patterns if isinstance(p, URLPattern)]


def _kwargs(pattern: URLPattern, account_number: str, bill_id: int, **ids) -> dict:
    values = {"account_number": account_number, "bill_id": bill_id, **ids}
    names = set(pattern.pattern.regex.groupindex)
    unknown = names - set(values)
    assert not unknown, f"portal:{pattern.name} takes {unknown}: teach this test to give another customer's"
    return {name: values[name] for name in names}


def test_every_portal_url_is_accounted_for():
    for pattern in portal_patterns():
        names = set(pattern.pattern.regex.groupindex)
        assert names or pattern.name in OPEN | OWN_ONLY, f"portal:{pattern.name} has no ids and is not listed"


def _own_rows(customer, user) -> dict:
    """A move request and a personal token of this customer's login: ids the walk needs."""
    move_request = move_request_submit(account=customer.account, kind="move_in", today=TODAY, now=NOW, user=user,
                                       move_in_date=TODAY + dt.timedelta(days=10), new_address="1 New Street")
    token, _secret = personal_token_create(user=user, name="home app", now=NOW)
    # Someone this customer invited (view only): the holder may remove their link, nobody else.
    guest = get_user_model().objects.create_user(username=f"guest-of-{user.pk}@example.test", password=None)
    invited = AccountLink.objects.create(user=guest, account=customer.account, linked_at=NOW, proof="invite",
                                         access="view", invited_by=user)
    return {"move_request_id": move_request.pk, "token_id": token.pk, "link_id": invited.pk}


def test_another_customers_ids_give_404_on_every_url(client, alice, bob, portal_user):
    alice_user = portal_user(alice)
    client.force_login(alice_user)
    bobs = _own_rows(bob, portal_user(bob, "bob@example.test"))
    _own_rows(alice, alice_user)  # Alice has her own too: the 404s are not about having none
    walked = 0
    for pattern in portal_patterns():
        if pattern.name in OPEN | OWN_ONLY | TOKEN:
            continue
        for account_number, bill_id in (
            (bob.account.account_number, bob.bills[0].pk),  # Bob's account and bill
            (alice.account.account_number, bob.bills[0].pk),  # Bob's bill under Alice's account
            ("0000000000", alice.bills[0].pk),  # an account that does not exist
        ):
            kwargs = _kwargs(pattern, account_number, bill_id, **bobs)
            if not set(kwargs) & {"bill_id", *bobs} and account_number == alice.account.account_number:
                continue  # Alice's own account page is hers
            url = reverse(f"portal:{pattern.name}", kwargs=kwargs)
            for method in (client.get, client.post):
                response = method(url)
                assert response.status_code == 404, f"{method.__name__.upper()} {url}: {response.status_code}"
            walked += 1
    assert walked >= 25


def test_own_ids_answer_on_every_url(client, alice, portal_user):
    """The same walk with Alice's own ids: the 404s above are about whose data, not broken URLs."""
    alice_user = portal_user(alice)
    client.force_login(alice_user)
    own = _own_rows(alice, alice_user)
    for pattern in portal_patterns():
        if pattern.name in OPEN | OWN_ONLY | TOKEN:
            continue
        url = reverse(f"portal:{pattern.name}",
                      kwargs=_kwargs(pattern, alice.account.account_number, alice.bills[0].pk, **own))
        assert client.get(url).status_code in (200, 202), url


def test_home_lists_only_the_logins_own_accounts(client, alice, bob, portal_user):
    client.force_login(portal_user(alice))
    response = client.get(reverse("portal:home"), follow=True)
    assert alice.account.account_number.encode() in response.content
    assert bob.account.account_number.encode() not in response.content
    assert b"45.67" in response.content or b"51.20" in response.content
    assert b"Nguyen" not in response.content


def test_signed_out_visitors_are_sent_to_sign_in(client, alice):
    url = reverse("portal:bills", args=[alice.account.account_number])
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("portal:login"))


# ---- the my-data REST API, with a personal token ------------------------------------------

def api_patterns() -> list[URLPattern]:
    api = next(p for p in get_resolver().url_patterns if isinstance(p, URLResolver) and str(p.pattern) == "api/")
    resolver = next(p for p in api.url_patterns
                    if isinstance(p, URLResolver) and getattr(p, "namespace", None) == "portal-api")
    return [p for p in resolver.url_patterns if isinstance(p, URLPattern)]


def _api_client(user):
    _row, secret = personal_token_create(user=user, name="walk", now=dt.datetime.now(dt.timezone.utc))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


RANGE = {"start": "2026-02-01", "end": "2026-02-07"}


def test_a_personal_token_never_reads_another_customers_data(alice, bob, portal_user):
    api = _api_client(portal_user(alice))
    walked = 0
    for pattern in api_patterns():
        names = set(pattern.pattern.regex.groupindex)
        if not names:
            continue
        for account_number, bill_id in ((bob.account.account_number, bob.bills[0].pk),
                                        (alice.account.account_number, bob.bills[0].pk),
                                        ("0000000000", alice.bills[0].pk)):
            kwargs = _kwargs(pattern, account_number, bill_id)
            if "bill_id" not in kwargs and account_number == alice.account.account_number:
                continue
            url = reverse(f"portal-api:{pattern.name}", kwargs=kwargs)
            response = api.get(url, RANGE)
            assert response.status_code == 404, f"GET {url}: {response.status_code}"
            walked += 1
    assert walked >= 10
    listed = api.get(reverse("portal-api:account-list")).json()
    assert [a["account_number"] for a in listed["results"]] == [alice.account.account_number]


def test_a_personal_token_reads_every_route_of_its_own_accounts(alice, portal_user):
    api = _api_client(portal_user(alice))
    for pattern in api_patterns():
        url = reverse(f"portal-api:{pattern.name}",
                      kwargs=_kwargs(pattern, alice.account.account_number, alice.bills[0].pk)
                      if pattern.pattern.regex.groupindex else {})
        assert api.get(url, RANGE).status_code == 200, url
        assert api.post(url, {}).status_code == 403, url  # read-only, whatever the route
