"""An account's charges to date and its projected bill: the usage since the last bill priced
by the rating code bills use (billing.selectors.account_charges_to_date), projected to the end
of the bill cycle's next window, else the last bill's length."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest
from django.utils import timezone

from billing.models import Bill, BillCycle, BillSegment, BillWindow
from billing.selectors import account_charges_to_date
from billing.services.rates import rate_schedule_create, rate_version_add
from cis.tests.factories import AccountFactory, ServiceAgreementFactory, ServicePointFactory
from core.clock import utility_today
from mdm import services as mdm_services
from mdm.flags import Flag
from mdm.models import Channel, Installation
from mdm.services import StagedDay
from mdm.tests.factories import MeterFactory

pytestmark = pytest.mark.django_db


def _account_billed_until(last_end: dt.date, *, days_of_data: int, rate_code: str = "FLAT10"):
    account = AccountFactory()
    sp = ServicePointFactory()
    agreement = ServiceAgreementFactory(account=account, service_point=sp, rate_code=rate_code,
                                        start_date=last_end - dt.timedelta(days=60))
    meter = MeterFactory()
    Installation.objects.create(meter=meter, service_point=sp, commodity="electric",
                                installed_at=dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc))
    channel = Channel.objects.create(meter=meter, channel_number=1, unit="kWh", direction="delivered",
                                     interval_minutes=60)
    mdm_services.interval_days_merge(days=[
        StagedDay(channel.pk, last_end + dt.timedelta(days=i), 60, np.full(24, 1.0), np.full(24, int(Flag.ACTUAL),
                                                                                            dtype=np.int16))
        for i in range(days_of_data)], now=timezone.now())
    start = last_end - dt.timedelta(days=30)
    bill = Bill.objects.create(account=account, bill_number=f"B-{account.pk}", status=Bill.Status.ISSUED,
                               period_start=start, period_end=last_end, bill_date=last_end,
                               due_date=last_end + dt.timedelta(days=21), total=Decimal("30.00"),
                               amount_due=Decimal("30.00"))
    BillSegment.objects.create(bill=bill, account=account, agreement=agreement, service_point=sp, rate_code=rate_code,
                               period_start=start, period_end=last_end, determinants={}, subtotal=Decimal("30.00"))
    return account


@pytest.fixture
def flat_rate():
    schedule = rate_schedule_create(code="FLAT10", name="Flat 10 cents")
    rate_version_add(schedule=schedule, start_date=dt.date(2020, 1, 1),
                     components=[{"kind": "flat", "code": "energy", "params": {"price": "0.10"}}])


def test_prices_the_days_since_the_last_bill_and_projects_by_the_last_bills_length(flat_rate):
    today = utility_today()
    account = _account_billed_until(today - dt.timedelta(days=10), days_of_data=10)
    result = account_charges_to_date(account_id=account.pk, as_of=today)
    assert (result.start, result.days, result.priced) == (today - dt.timedelta(days=10), 10, True)
    [part] = result.parts
    assert part.consumption == Decimal("240")  # 1 kWh an hour for 10 days
    assert result.amount == Decimal("24.00")  # 240 kWh x $0.10, as a bill would price it
    # The last bill covered 30 days: 24.00 for 10 days makes 72.00 for 30.
    assert result.projected_end == today + dt.timedelta(days=20)
    assert result.projected_amount == Decimal("72.00")


def test_projects_to_the_end_of_the_bill_cycles_next_window(flat_rate):
    today = utility_today()
    account = _account_billed_until(today - dt.timedelta(days=10), days_of_data=10)
    cycle = BillCycle.objects.create(code="C07", name="Cycle 7")
    BillWindow.objects.create(cycle=cycle, period_end_date=today + dt.timedelta(days=5),
                              read_window_start=today + dt.timedelta(days=5),
                              read_window_end=today + dt.timedelta(days=6), bill_date=today + dt.timedelta(days=7))
    result = account_charges_to_date(account_id=account.pk, as_of=today, bill_cycle_code="C07")
    assert result.projected_end == today + dt.timedelta(days=5)
    assert result.projected_amount == Decimal("36.00")  # 24.00 over 10 days, for 15 days


def test_an_account_whose_rate_is_unknown_says_so_and_projects_nothing():
    today = utility_today()
    account = _account_billed_until(today - dt.timedelta(days=3), days_of_data=3, rate_code="NO-SUCH-RATE")
    result = account_charges_to_date(account_id=account.pk, as_of=today)
    assert not result.priced and result.projected_amount is None
    assert result.parts[0].amount is None and result.parts[0].why


def test_an_account_billed_up_to_today_has_nothing_to_date(flat_rate):
    today = utility_today()
    account = _account_billed_until(today, days_of_data=0)
    result = account_charges_to_date(account_id=account.pk, as_of=today)
    assert (result.parts, result.amount, result.projected_amount) == ([], Decimal("0.00"), None)
