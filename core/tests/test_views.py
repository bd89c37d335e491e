"""core.views: the health check, and home sending each person to the surface of their role."""
from __future__ import annotations

import pytest
from django.urls import reverse

from core.roles import Role

pytestmark = pytest.mark.django_db


def test_healthz_answers_ok_without_logging_in(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok"}


def test_home_asks_anonymous_visitors_to_log_in(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next=/"


@pytest.mark.parametrize("role, page", [
    (Role.CSR, "cis:search"), (Role.ADMIN, "cis:search"), (Role.BILLING, "billing:hub"),
    (Role.METERING, "mdm:search"), (Role.FIELD_CREW, "service_orders:field-home"),
    (Role.CUSTOMER, "portal:home"),
])
def test_home_sends_each_role_to_a_page_it_may_use(client, make_user, role, page):
    client.force_login(make_user(f"home-{role}", role))
    response = client.get(reverse("home"))
    assert (response.status_code, response["Location"]) == (302, reverse(page))


def test_home_sends_staff_without_a_hub_role_to_the_admin_and_tells_others(client, make_user):
    client.force_login(make_user("home-staff", is_staff=True))
    assert client.get(reverse("home"))["Location"] == reverse("admin:index")
    client.force_login(make_user("home-nobody"))
    response = client.get(reverse("home"))
    assert response.status_code == 403 and "no role yet" in response.content.decode()


def test_a_logged_in_page_carries_the_utility_context(client, csr, settings):
    client.force_login(csr)
    response = client.get(reverse("cis:search"))
    assert response.status_code == 200
    assert response.context["utility_name"] == settings.UTILIS_UTILITY_NAME
    assert response.context["user_roles"] == {"csr"} and response.context["Role"] is Role
