"""Staff read accounts, service points and bills by their business numbers, never by database
ids (issue 9: a run's bill table said "ACCOUNT ID 7567"): the run page, the bills list, the
exceptions worklist and the replacement-read notices name the account number (linked to the
account) and the service point number with its premise address."""
from __future__ import annotations

import re

import pytest

from billing.models import Bill, BillException
from billing.tests.test_notices_hub import billed_and_corrected
from billing.tests.test_rebill import issue_run
from billing.tests.test_runs_helpers import metered_agreement, setup_billing
from cis.models import ServicePoint
from conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _import_settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.UTILIS_VEE_AFTER_IMPORT = False


@pytest.fixture
def staff(client, billing_user):
    client.login(username=billing_user.username, password=PASSWORD)
    return client


def _account_link(number: str) -> str:
    return f'href="/hub/accounts/{number}/"'


def _cells(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", html, re.S)]


def test_the_run_page_and_bills_list_name_the_account_by_its_number(staff):
    cycle = setup_billing()
    agreement, _ = metered_agreement(rate_code="T-TIER")
    run = issue_run(cycle)
    bill = Bill.objects.get()
    number = agreement.account.account_number
    assert str(bill.account_id) != number

    for url in (f"/billing/runs/{run.pk}/", "/billing/bills/"):
        page = staff.get(url).content.decode()
        assert _account_link(number) in page, url
        assert "Account id" not in page
        assert str(bill.account_id) not in _cells(page), url


def test_the_exceptions_worklist_links_the_account_and_names_a_draft_as_a_bill(staff):
    cycle = setup_billing()
    agreement, _ = metered_agreement(rate_code="T-TIER")
    issue_run(cycle)
    bill = Bill.objects.get()
    BillException.objects.create(bill=bill, rule="over_limit", message="Over the limit.")
    page = staff.get("/billing/exceptions/").content.decode()
    assert _account_link(agreement.account.account_number) in page
    assert f">{bill}</a>" in page


def test_a_notice_names_its_service_point_by_number_and_address(staff):
    agreement, _, old = billed_and_corrected()
    sp = ServicePoint.objects.select_related("premise").get(pk=agreement.service_point_id)
    page = staff.get("/billing/notices/").content.decode()
    assert f"{sp.sp_number} · {sp.premise.address_text()}" in page
    assert str(sp.pk) not in _cells(page)[1:2]
    assert _account_link(agreement.account.account_number) in page


def test_the_bill_page_names_each_segments_agreement_by_its_number(staff):
    cycle = setup_billing()
    agreement, _ = metered_agreement(rate_code="T-TIER")
    issue_run(cycle)
    bill = Bill.objects.get()
    page = staff.get(f"/billing/bills/{bill.pk}/").content.decode()
    assert f"agreement {agreement.agreement_number}" in page
    assert f"agreement {agreement.pk} " not in page
