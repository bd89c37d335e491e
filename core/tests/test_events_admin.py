"""/admin/pghistory/events/ is fast at demo size (issue 9: 7-10 s): a page of the aggregate
events is found by its keys first and only its 50 events are loaded with their data and
diffs; the count stops at a cap. The number of queries does not grow with the events, and no
query reads the whole union with its computed columns."""
from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cis.tests.factories import AccountFactory
from core.admin import EVENTS_COUNT_CAP, AuditEventsAdmin

pytestmark = pytest.mark.django_db

URL = "/admin/pghistory/events/"


@pytest.fixture
def admin_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("events-admin", password="pw-events-12345")
    client.force_login(user)
    return client


def _union_queries(queries) -> list[str]:
    return [q["sql"] for q in queries if "pghistory_events AS" in q["sql"]]


def _page(client, url=URL):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return response.content.decode(), _union_queries(queries.captured_queries)


def test_the_events_admin_is_pghistorys_with_its_own_paging():
    from django.contrib import admin
    from pghistory.models import Events

    assert isinstance(admin.site._registry[Events], AuditEventsAdmin)


def _results(page: str) -> str:
    return page.split('id="result_list"', 1)[1].split("</table>", 1)[0]


def test_the_number_of_queries_does_not_grow_with_the_events(admin_client):
    first = AccountFactory(account_number="0000700001")
    AccountFactory.create_batch(30)
    _, fewer = _page(admin_client)
    AccountFactory.create_batch(60)
    page, more = _page(admin_client)
    # count, keys, then one load per event model on the page (customers, accounts): never per event
    assert len(fewer) <= 4 and len(more) <= 4
    assert first.account_number not in _results(page)  # the oldest are on a later page
    assert "?p=2" in page


def test_no_query_reads_every_event_with_its_data(admin_client):
    AccountFactory.create_batch(30)
    _, queries = _page(admin_client)
    count, keys, *loads = queries
    assert "SELECT COUNT(*)" in count and count.rstrip().endswith(f"LIMIT {EVENTS_COUNT_CAP}) subquery")
    assert 'FROM "pghistory_events" LIMIT' in count  # unordered: counting sorts nothing
    assert re.search(r'"pghistory_events"\."pgh_model"( AS "pgh_model")?, "pghistory_events"\."pgh_id"( AS "pgh_id")? '
                     r'FROM "pghistory_events" ORDER BY', keys)
    assert keys.rstrip().endswith("LIMIT 50")
    assert 1 <= len(loads) <= 2
    for load in loads:
        assert '"pghistory_events"."pgh_model" = ' in load and '"pghistory_events"."pgh_id" IN (' in load


def test_pages_show_full_pages_of_events_with_their_changes(admin_client):
    account = AccountFactory(account_number="0000777001")
    AccountFactory.create_batch(60)
    account.status = "closed"
    account.save(update_fields=["status"])
    url = URL + "?event_model=cis.accountevent"
    pages = [_results(_page(admin_client, url + f"&p={n}")[0]) for n in (1, 2)]
    rows = [re.findall(r"<tr[^>]*>.*?</tr>", p, re.S)[1:] for p in pages]
    assert [len(r) for r in rows] == [50, 12]  # 61 inserts and the update
    assert sum('"closed"' in r or "closed" in r for r in rows[0] + rows[1]) == 1  # the update's diff


def test_filters_still_narrow_the_list(admin_client):
    AccountFactory.create_batch(30)
    page, queries = _page(admin_client, URL + "?event_model=cis.accountevent")
    results = _results(page)
    assert "cis.Account" in results and "cis.Customer" not in results
