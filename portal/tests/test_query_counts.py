"""No portal page makes more SQL statements for a customer with more bills or more days of
interval data: each page reads an account's rows in a fixed number of queries (bench/portal.py
times them at 100,000 accounts; docs/performance.md)."""
from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cis.models import ServiceAgreement
from mdm.models import Installation
from portal.tests.conftest import _bill, _hourly

pytestmark = pytest.mark.django_db

# Mid-cycle, after the fixture's last bill (period ending March 1): the home page rates the
# days since then (billing's charges to date).
AS_OF = dt.datetime(2026, 3, 7, 16, tzinfo=dt.timezone.utc)


def _pages(number: str, bill_id: int) -> dict[str, str]:
    usage = reverse("portal:usage", args=[number])
    return {
        "home": reverse("portal:account", args=[number]),
        "bills": reverse("portal:bills", args=[number]),
        "bill": reverse("portal:bill", args=[number, bill_id]),
        "usage by month": f"{usage}?start=2025-11-01&end=2026-03-06&by=month",
        "usage by day": f"{usage}?start=2025-11-01&end=2026-03-06&by=day",
        "usage by hour": f"{usage}?start=2026-02-05&end=2026-03-06&by=hour",
        "usage CSV": reverse("portal:usage-csv", args=[number]) + "?start=2025-11-01&end=2026-03-06",
        "Green Button": reverse("portal:greenbutton", args=[number]) + "?start=2025-11-01&end=2026-03-06",
        "pay": reverse("portal:pay", args=[number]),
    }


def _statements(client, pages: dict[str, str]) -> dict[str, int]:
    counts = {}
    for page, url in pages.items():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, (page, response.status_code)
        counts[page] = len(queries)
    return counts


def test_no_page_makes_more_queries_for_more_bills_or_more_days(client, alice, portal_user,
                                                                django_assert_max_num_queries):
    call_command("seed_billing", "--start", "2025-01", "--months", "18", verbosity=0)
    agreement = ServiceAgreement.objects.get(account=alice.account)
    ServiceAgreement.objects.filter(pk=agreement.pk).update(rate_code="RES-TIERED")  # a rate to price the days with
    agreement.refresh_from_db()
    number = alice.account.account_number
    channels = Installation.objects.get(service_point=alice.service_point).meter.channels.all()
    for channel in channels:
        _hourly(channel, dt.date(2026, 3, 1), 3, 1.5)  # a few unbilled days since the last bill
    with mock.patch("django.utils.timezone.now", return_value=AS_OF):
        client.force_login(portal_user(alice))
        few = _statements(client, _pages(number, alice.bills[-1].pk))

        # Twelve more issued bills (2025) and 81 more days of data: before the fixture's days
        # and more unbilled ones (hourly days of 24 values: none on a DST change, the helper's
        # days have no 23 or 25 hours).
        added = []
        for month in range(1, 13):
            start = dt.date(2025, month, 1)
            end = dt.date(2025 + month // 12, month % 12 + 1, 1)
            added.append(_bill(alice.account, alice.service_point, agreement, f"BX{month:02d}", start, end, "40.00"))
        for channel in channels:
            _hourly(channel, dt.date(2025, 11, 3), 78, 1.5)  # to January 19, the fixture's data from the 20th
            _hourly(channel, dt.date(2026, 3, 4), 3, 1.5)
        for page, url in _pages(number, alice.bills[-1].pk).items():
            with django_assert_max_num_queries(few[page], info=page):
                response = client.get(url)
            assert response.status_code == 200, page
        listing = client.get(_pages(number, 0)["bills"]).content.decode()
        assert all(reverse("portal:bill", args=[number, b.pk]) in listing for b in added)  # they are read
