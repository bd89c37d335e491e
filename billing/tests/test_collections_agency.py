"""The collection agency referral (billing/collections/agency.py): written-off accounts and
those staff refer go into a documented CSV file from the hub, recorded so that no account is
exported twice."""
from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.collections import agency
from billing.collections.models import CollectionCase
from billing.collections.output_models import AgencyExport, AgencyReferral
from billing.services import payment_post
from billing.tests.test_collections_run import CLERK, DUE, delinquent, run

pytestmark = pytest.mark.django_db


def written_off(total: str = "300.00"):
    account = delinquent(total=total, email="")
    account.status, account.closed_date = "closed", DUE
    account.save()
    return account


def rows(content: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content)))


def test_written_off_and_referred_accounts_are_exported_once_in_the_documented_layout(client, billing_user):
    gone = written_off()
    payment_post(account_id=gone.pk, amount="20.00", received_date=DUE + dt.timedelta(days=3), channel="cashier",
                 tender_type="cash", actor=CLERK)
    closed_early = written_off(total="80.00")
    for days in (5, 16, 30, 45, 60, 120):
        run(DUE + dt.timedelta(days=days))
    gone_case = CollectionCase.objects.get(account_id=gone.pk)
    assert gone_case.status == "written_off"
    # Staff refer the other before its write-off (it is written off with the same run, so use an open one).
    still_open = delinquent(total="510.00", email="x@example.org")
    run(DUE + dt.timedelta(days=121))
    open_case = CollectionCase.objects.get(account_id=still_open.pk, status="open")
    referral = agency.agency_refer(case=open_case, reason="Skipped town", actor=CLERK, now=timezone.now())
    assert referral.amount == Decimal("510.00")
    with pytest.raises(agency.AgencyError, match="referred to the agency already"):
        agency.agency_refer(case=open_case, reason="again", actor=CLERK, now=timezone.now())

    client.force_login(billing_user)
    page = client.get(reverse("billing:collections-agency")).content.decode()
    assert "Waiting for the next file (3)" in page and "amount_referred" in page  # the layout is on the page
    response = client.post(reverse("billing:agency-export"), follow=True)
    export = AgencyExport.objects.get()
    assert f"{export.file_name}: 3 accounts" in response.content.decode()
    header = export.content.split("\r\n", 1)[0].split(",")
    assert header == [name for name, _ in agency.LAYOUT]
    by_account = {r["account_number"]: r for r in rows(export.content)}
    assert set(by_account) == {gone.account_number, closed_early.account_number, still_open.account_number}
    gone_row = by_account[gone.account_number]
    # What was written off: the bill, less the payment, plus the late charges the run added.
    assert Decimal(gone_row["amount_referred"]) > Decimal("280.00")
    assert gone_row["written_off_date"] == (DUE + dt.timedelta(days=120)).isoformat()
    assert gone_row["last_payment_date"] == (DUE + dt.timedelta(days=3)).isoformat()
    assert gone_row["oldest_due_date"] == DUE.isoformat() and gone_row["customer_type"] == "person"
    open_row = by_account[still_open.account_number]
    assert (open_row["amount_referred"], open_row["written_off_date"], open_row["reason"]) == ("510.00", "", "Skipped town")
    assert export.total_amount == sum(Decimal(r["amount_referred"]) for r in by_account.values())
    assert AgencyReferral.objects.filter(export=export).count() == 3

    # Nothing twice: a second export has nothing to carry, and referring an exported case is refused.
    again = client.post(reverse("billing:agency-export"), follow=True).content.decode()
    assert "No referral is waiting" in again and AgencyExport.objects.count() == 1
    with pytest.raises(agency.AgencyError, match="already"):
        agency.agency_refer(case=gone_case, reason="again", actor=CLERK, now=timezone.now())
    download = client.get(reverse("billing:agency-export-file", args=[export.pk]))
    assert download["Content-Disposition"] == f'attachment; filename="{export.file_name}"'
    assert download.content.decode() == export.content


def test_referring_from_the_account_page_needs_a_reason_and_an_unpaid_case(client, billing_user):
    account = delinquent(total="200.00", email="")
    client.force_login(billing_user)
    url = reverse("billing:agency-refer", args=[account.account_number])
    html = client.post(url, {"reason": "moved away"}, follow=True).content.decode()
    assert "Not referred: the account has no unpaid collections case." in html
    run(DUE + dt.timedelta(days=5))
    html = client.post(url, {"reason": ""}, follow=True).content.decode()
    assert "Not referred: reason" in html
    html = client.post(url, {"reason": "moved away"}, follow=True).content.decode()
    assert "Referred to the agency for 200.00" in html
    assert AgencyReferral.objects.get().reason == "moved away"
