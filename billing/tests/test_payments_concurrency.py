"""Two postings of one bank item at the same moment (two workers, two connections): the unique
constraint lets one commit and the other is told it is a duplicate; nothing is posted twice."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection

from billing.models import LedgerEntry
from billing.payments.models import Payment
from billing.payments.tests.helpers import CLERK
from billing.services import PaymentDuplicate, payment_post
from cis.tests.factories import AccountFactory


@pytest.mark.django_db(transaction=True)
def test_the_same_external_reference_posted_concurrently_is_posted_once():
    # Two accounts, so the per-account lock does not serialise them: only the constraint can.
    accounts = [AccountFactory(), AccountFactory()]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def post(account_id: int) -> None:
        try:
            barrier.wait(timeout=10)
            payment_post(account_id=account_id, amount="15.00", received_date=dt.date(2026, 3, 1), channel="card",
                         tender_type="card", external_reference="GW-RACE-1", actor=CLERK)
            outcomes.append("posted")
        except PaymentDuplicate:
            outcomes.append("duplicate")
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(a.pk,)) for a in accounts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["duplicate", "posted"]
    assert Payment.objects.filter(external_reference="GW-RACE-1").count() == 1
    assert LedgerEntry.objects.filter(kind="payment").count() == 1
