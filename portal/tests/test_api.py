"""Personal API tokens (made and revoked in the portal, kept hashed, shown once) and what the
my-data REST API answers with one. test_scoping.py walks every route with another's ids."""
from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.urls import reverse
from knox.models import get_token_model
from rest_framework.test import APIClient

from portal.models import PersonalToken
from portal.tokens import MAX_LIVE_TOKENS, personal_token_create

pytestmark = pytest.mark.django_db


def _bearer(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def test_a_token_is_shown_once_kept_hashed_and_revoked_for_good(client, alice, portal_user):
    user = portal_user(alice)
    client.force_login(user)
    made = client.post(reverse("portal:tokens"), {"name": "home energy app"})
    assert made.status_code == 200 and made["Cache-Control"] == "no-store"
    secret = made.context["new_token"]
    assert secret.startswith("utp_") and secret.encode() in made.content
    row = PersonalToken.objects.get(user=user)
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest() and secret not in row.token_hash
    assert secret.encode() not in client.get(reverse("portal:tokens")).content  # never shown again

    api = _bearer(secret)
    assert api.get(reverse("portal-api:account-list")).status_code == 200
    row.refresh_from_db()
    assert row.last_used_at is not None

    assert client.post(reverse("portal:token-revoke", args=[row.pk])).status_code == 302
    refused = api.get(reverse("portal-api:account-list"))
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]


def test_tokens_need_a_name_and_a_login_holds_at_most_ten(client, alice, portal_user):
    user = portal_user(alice)
    client.force_login(user)
    assert client.post(reverse("portal:tokens"), {"name": "  "}).status_code == 400
    now = dt.datetime.now(dt.timezone.utc)
    for i in range(MAX_LIVE_TOKENS):
        personal_token_create(user=user, name=f"t{i}", now=now)
    refused = client.post(reverse("portal:tokens"), {"name": "one more"})
    assert refused.status_code == 400 and b"revoke one" in refused.content
    assert PersonalToken.objects.filter(user=user).count() == MAX_LIVE_TOKENS


def test_only_a_personal_token_opens_the_api(alice, portal_user):
    user = portal_user(alice)
    url = reverse("portal-api:account-list")
    assert APIClient().get(url).status_code == 401
    _knox, knox_token = get_token_model().objects.create(user=user, name="not this one")
    knox = APIClient()
    knox.credentials(HTTP_AUTHORIZATION=f"Token {knox_token}")
    assert knox.get(url).status_code == 401
    assert _bearer("utp_made-up").get(url).status_code == 401
    expired, secret = personal_token_create(user=user, name="old", now=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc))
    assert _bearer(secret).get(url).status_code == 401


def test_bills_usage_and_green_button_of_ones_own_account(alice, portal_user):
    _row, secret = personal_token_create(user=portal_user(alice), name="app", now=dt.datetime.now(dt.timezone.utc))
    api = _bearer(secret)
    number = alice.account.account_number

    account = api.get(reverse("portal-api:account-detail", args=[number])).json()
    assert account["balance"] == "96.87" and account["amount_due"] == "51.20" and account["due_date"] == "2026-03-22"

    bills = api.get(reverse("portal-api:bill-list", args=[number])).json()
    assert [b["bill_number"] for b in bills["results"]] == ["Ba2", "Ba1"]
    bill = api.get(reverse("portal-api:bill-detail", args=[number, alice.bills[0].pk])).json()
    assert [(line["description"], line["how"]) for line in bill["lines"]] == [
        ("Customer charge", "$10.00 per bill"), ("Delivery charge", "38.2 kWh × $0.041")]

    by_day = api.get(reverse("portal-api:usage", args=[number]),
                     {"start": "2026-02-01", "end": "2026-02-03", "group": "day"}).json()
    delivered = [r for r in by_day["results"] if r["direction"] == "delivered"]
    assert [(r["period"], r["actual"] + r["estimated"]) for r in delivered] == [
        ("2026-02-01", 24.0), ("2026-02-02", 24.0), ("2026-02-03", 24.0)]
    assert [r["estimated"] for r in delivered] == [24.0, 0.0, 0.0]  # her first 13 days (to Feb 1) are estimated

    # Intervals, paged: 2 days x 24 hours x 2 directions = 96 rows, 50 a page.
    url = reverse("portal-api:usage", args=[number])
    first = api.get(url, {"start": "2026-02-20", "end": "2026-02-21", "group": "interval"}).json()
    assert first["count"] == 96 and len(first["results"]) == 50 and first["next"]
    assert first["results"][0]["period"] == "2026-02-20T05:00:00Z"
    last = api.get(url, {"start": "2026-02-20", "end": "2026-02-21", "group": "interval", "page": 2}).json()
    assert len(last["results"]) == 46 and last["next"] is None

    xml = api.get(reverse("portal-api:greenbutton", args=[number]), {"start": "2026-02-01", "end": "2026-02-02"})
    assert xml.status_code == 200 and xml["Content-Type"].startswith("application/atom+xml")
    assert b"IntervalBlock" in xml.content


def test_bad_ranges_get_a_precise_400(alice, portal_user):
    _row, secret = personal_token_create(user=portal_user(alice), name="app", now=dt.datetime.now(dt.timezone.utc))
    api = _bearer(secret)
    url = reverse("portal-api:usage", args=[alice.account.account_number])
    backwards = api.get(url, {"start": "2026-02-05", "end": "2026-02-01"})
    assert backwards.status_code == 400 and backwards.json() == {"end": ["The end date is before the start date."]}
    too_long = api.get(url, {"start": "2026-01-01", "end": "2026-03-01", "group": "interval"})
    assert too_long.status_code == 400 and "At most 31 days" in too_long.json()["end"][0]
    assert api.get(url, {"start": "yesterday", "end": "2026-03-01"}).status_code == 400


def test_the_openapi_document_describes_the_my_data_api(client):
    schema = client.get(reverse("api-schema"), {"format": "json"}).json()
    assert "/api/portal/accounts/{account_number}/usage/" in schema["paths"]
    assert schema["components"]["securitySchemes"]["personalToken"]["scheme"] == "bearer"
    usage = schema["paths"]["/api/portal/accounts/{account_number}/usage/"]["get"]
    assert usage["security"] == [{"personalToken": []}]
    assert {p["name"] for p in usage["parameters"]} >= {"start", "end", "group", "page"}
