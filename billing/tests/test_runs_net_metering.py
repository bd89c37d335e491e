"""Net metering across bill runs: the kWh a bill carries out is the next bill's credit in."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from billing.services import runs
from billing.models import Bill, BillSegment, RateSchedule, RateVersion
from billing.tests.test_runs_helpers import FEB, MAR, NOW, load_hourly, metered_agreement, setup_billing
from mdm.tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db
JAN = dt.date(2026, 1, 1)


def _run(cycle, bill_date):
    run = runs.bill_run_start(cycle=cycle, bill_date=bill_date, now=NOW, enqueue=False)
    for chunk in run.chunks.order_by("number"):
        runs.bill_run_chunk_process(bill_run_id=run.pk, chunk_number=chunk.number, now=NOW)
    return run


def test_excess_generation_in_january_is_netted_against_february_delivery():
    setup_billing(period_end=FEB, bill_date=FEB)
    cycle = setup_billing()
    schedule = RateSchedule.objects.create(code="T-NET", name="net metering")
    RateVersion.objects.create(schedule=schedule, start_date=dt.date(2020, 1, 1), components=[
        {"kind": "net_metering", "code": "net", "params": {"carry": "kwh"}},
        {"kind": "flat", "code": "energy", "params": {"price": "0.10"}},
    ])
    # Delivered: 1 kWh an hour in January (744 kWh), 2 an hour in February (1,344 kWh).
    agreement, delivered = metered_agreement(rate_code="T-NET", start=JAN, data_from=JAN, data_to=FEB)
    load_hourly(delivered, FEB, MAR, 2.0)
    # Received (solar): 2 kWh an hour in January (1,488 kWh), nothing in February.
    received = ChannelFactory(meter=delivered.meter, direction="received", interval_minutes=60, channel_number=2)
    load_hourly(received, JAN, FEB, 2.0)
    load_hourly(received, FEB, MAR, 0.0)

    _run(cycle, FEB)
    _run(cycle, MAR)

    # January: net 744 - 1,488 = -744 kWh: nothing to pay, 744 kWh carried out.
    # February: 1,344 delivered - 744 brought forward = 600 kWh x 0.10 = 60.00, nothing carried.
    totals = dict(Bill.objects.values_list("period_start", "total"))
    assert totals == {JAN: D("0.00"), FEB: D("60.00")}
    carried = dict(BillSegment.objects.values_list("period_start", "determinants__carried_credit_kwh"))
    assert D(carried[JAN]) == D("744") and D(carried[FEB]) == D("0")
