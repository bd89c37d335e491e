"""The demo's deposits: presets loaded, a deposit in each state the Deposit Hub lists, and the
review's recommendations; run twice with the same seed it picks the same accounts."""
from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from billing.deposits.models import Deposit, DepositClass, DepositInterestRate
from cis.tests.factories import AccountFactory, ServiceAgreementFactory
from demo.deposits import DEMO_DEPOSITS, demo_deposits_seed

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 3, 15)


def test_the_demo_gives_accounts_deposits_in_every_state():
    for n in range(12):
        account = AccountFactory(opened_date=TODAY - dt.timedelta(days=30 + n))
        ServiceAgreementFactory(account=account, start_date=account.opened_date)
    counts = demo_deposits_seed(today=TODAY, seed=7, now=timezone.now())
    assert {k: counts[k] for k in ("required", "billed", "held", "waived")} == {"required": 2, "billed": 2, "held": 2,
                                                                               "waived": 2}
    assert DepositClass.objects.filter(code__in=["RES", "GS", "OTHER"]).count() == 3
    assert DepositInterestRate.objects.count() == 2
    assert Deposit.objects.count() == DEMO_DEPOSITS
    held = Deposit.objects.filter(held_amount__gt=0)
    assert held.count() == 2 and all(d.held_amount == d.amount for d in held)
    assert Deposit.objects.filter(status="waived").count() == 2
    # The four accounts without a deposit are new customers: the review recommends one each.
    assert counts["recommended"] == 4
