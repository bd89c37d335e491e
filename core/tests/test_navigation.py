"""The top navigation marks the section of the page being shown, and only that one (issue 9:
on the Meter Hub's home, whose view is also called "search", it marked the CSR Search)."""
import re

import pytest

from cis.tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

CURRENT = re.compile(r'<a href="[^"]*" aria-current="page">([^<]+)</a>')


def _current_items(html: str) -> list[str]:
    nav = html[html.index('<nav class="mainnav"'):]
    nav = nav[:nav.index("</nav>")]
    return CURRENT.findall(nav)


def _current(client, url: str) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200, url
    return _current_items(response.content.decode())


@pytest.mark.parametrize("url", ["/hub/", "/hub/?q=smith", "ACCOUNT"])
def test_the_csr_hub_pages_mark_search(client, admin_user_role, url):
    client.force_login(admin_user_role)
    if url == "ACCOUNT":
        url = f"/hub/accounts/{AccountFactory().account_number}/"
    assert _current(client, url) == ["Search"]


@pytest.mark.parametrize("url", ["/hub/moves/pending/", "/hub/moves/new/"])
def test_the_moves_pages_mark_pending_moves(client, admin_user_role, url):
    client.force_login(admin_user_role)
    assert _current(client, url) == ["Pending moves"]


@pytest.mark.parametrize("url", ["/meters/", "/meters/worklist/", "/meters/imports/", "/meters/quarantine/",
                                 "/meters/vee/"])
def test_the_meter_hub_pages_mark_the_meter_hub(client, admin_user_role, url):
    client.force_login(admin_user_role)
    assert _current(client, url) == ["Meter Hub"]


@pytest.mark.parametrize("url", ["/billing/", "/billing/exceptions/", "/billing/bills/", "/billing/notices/",
                                 "/billing/calculator/"])
def test_the_billing_hub_pages_mark_billing(client, admin_user_role, url):
    client.force_login(admin_user_role)
    assert _current(client, url) == ["Billing"]


def test_the_field_page_marks_field_work(client, field_user):
    client.force_login(field_user)
    assert _current(client, "/field/") == ["Field work"]


def test_a_metering_user_on_the_meter_hub_sees_it_marked_not_search(client, metering_user):
    client.force_login(metering_user)
    assert _current(client, "/meters/") == ["Meter Hub"]
