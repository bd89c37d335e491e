"""Every role lands on a page it may use after signing in: never a 403 with a Back link to the
same 403 (issue 9). A person with no role gets a page that says so, once."""
import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from core.roles import Role
from service_orders.services import service_order_request

pytestmark = pytest.mark.django_db


def _user(role: str | None):
    user = get_user_model().objects.create_user(f"u-{role or 'none'}", password="pw-landing-12345")
    if role:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


@pytest.mark.parametrize("role, landing", [
    (Role.CSR, "/hub/"), (Role.BILLING, "/billing/"), (Role.METERING, "/meters/"),
    (Role.FIELD_CREW, "/field/"), (Role.API_CLIENT, "/api/docs/"),
])
def test_each_role_lands_on_a_page_it_may_open(client, role, landing):
    client.force_login(_user(role))
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0] == landing
    assert response.status_code == 200


def test_the_field_crew_sees_the_open_orders(client):
    order = service_order_request(order_type="meter_check", due_date=dt.date(2026, 12, 3), source="test:1",
                                  reason="Check the meter")
    client.force_login(_user(Role.FIELD_CREW))
    page = client.get("/field/").content.decode()
    assert order.order_number in page and "Check the meter" in page


def test_a_person_without_a_role_is_told_so_not_sent_round(client):
    client.force_login(_user(None))
    response = client.get("/")
    assert response.status_code == 403 and "no role yet" in response.content.decode()


def test_a_refused_page_logs_one_line_without_a_traceback(client, caplog):
    import logging

    from core.logging import ForbiddenWithoutTraceback

    client.force_login(_user(Role.FIELD_CREW))
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.get("/billing/").status_code == 403
    records = [r for r in caplog.records if getattr(r, "status_code", None) == 403]
    assert records
    for record in records:
        ForbiddenWithoutTraceback().filter(record)
        assert record.exc_info is None and "Forbidden" in record.getMessage()
