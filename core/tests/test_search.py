"""core.search: the registry of extra kinds of the CSR hub's one-box search. mdm registers
"meter"; a CSR who types a meter serial finds the account served through it."""
from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from cis import selectors as cis_selectors
from cis.tests.factories import AccountFactory, ServiceAgreementFactory, ServicePointFactory
from core import search
from core.search import SearchProvider, register_search_provider, search_provider, search_providers
from mdm import services as mdm_services
from mdm.tests.factories import MeterFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def clean_providers():
    saved = dict(search._PROVIDERS)
    yield
    search._PROVIDERS.clear()
    search._PROVIDERS.update(saved)


@pytest.fixture
def metered_account():
    account = AccountFactory(account_number="7200000042")
    sp = ServicePointFactory()
    ServiceAgreementFactory(account=account, service_point=sp, start_date=dt.date(2024, 1, 1))
    meter = MeterFactory(serial_number="LG-778899")
    mdm_services.meter_install(meter=meter, service_point_id=sp.pk,
                               installed_at=timezone.make_aware(dt.datetime(2024, 1, 1)))
    AccountFactory(account_number="7200000043")  # another account, no meter
    return account


def test_mdm_registers_the_meter_provider():
    provider = search_provider("meter")
    assert provider is not None and provider.label == "Meter number"
    assert "meter" in [p.kind for p in search_providers()]
    assert "meter" in cis_selectors.search_kinds()
    assert search_provider("no-such-kind") is None


def test_providers_come_in_order_then_kind_and_a_kind_registers_once(clean_providers):
    search._PROVIDERS.clear()
    none = lambda q: []  # noqa: E731
    register_search_provider(SearchProvider("tag", "Tag", none, order=50))
    register_search_provider(SearchProvider("badge", "Badge", none, order=50))
    register_search_provider(SearchProvider("zone", "Zone", none, order=5))
    register_search_provider(SearchProvider("plain", "Plain", none))  # order 100
    assert [p.kind for p in search_providers()] == ["zone", "badge", "tag", "plain"]
    register_search_provider(SearchProvider("zone", "Zone 2", none, order=200))
    assert [p.kind for p in search_providers()] == ["badge", "tag", "plain", "zone"]
    assert search_provider("zone").label == "Zone 2"


def test_a_registered_provider_is_searched_by_cis(clean_providers, metered_account):
    sp_ids = list(cis_selectors.account_service_point_ids(account_id=metered_account.pk))
    register_search_provider(SearchProvider("work_order", "Work order", lambda q: sp_ids if q == "WO-1" else []))
    hits = cis_selectors.search_accounts("WO-1", kind="work_order")
    assert [(h.account.account_number, h.matched_on) for h in hits] == [("7200000042", "work_order")]
    assert cis_selectors.search_accounts("WO-2", kind="work_order") == []


def test_search_by_meter_serial_finds_the_account(metered_account):
    hits = cis_selectors.search_accounts("lg-778899", kind="meter")  # serials match case-insensitively
    assert [(h.account.pk, h.matched_on) for h in hits] == [(metered_account.pk, "meter")]
    assert cis_selectors.search_accounts("LG-000000", kind="meter") == []


def test_a_csr_searching_the_hub_by_meter_serial_sees_the_account(client, csr, metered_account):
    client.force_login(csr)
    response = client.get(reverse("cis:search"), {"q": "LG-778899", "kind": "meter"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "7200000042" in page and "7200000043" not in page
    assert "Meter number" in page  # the kind is offered in the form and named on the hit
