"""A small utility for bill-run tests (no tests in here): simple rates whose bills can be
worked out by hand, cycle C01 billing February 2026 on March 1, and hourly meters with
constant usage loaded through MDM's real interval store.

February 2026 in America/Toronto has no DST change; Feb 1 is a Sunday and Feb 16 is Family
Day (an Ontario holiday, billed on the weekend TOU grid)."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np

from billing.models import BillCycle, BillWindow, RateSchedule, RateVersion
from cis.tests.factories import AccountFactory, ServiceAgreementFactory, ServicePointFactory
from mdm import services as mdm_services
from mdm.flags import Flag
from mdm.services import StagedDay
from mdm.tests.factories import ChannelFactory, MeterFactory

TZ = ZoneInfo("America/Toronto")
FEB = dt.date(2026, 2, 1)
MAR = dt.date(2026, 3, 1)
NOW = dt.datetime(2026, 3, 1, 12, tzinfo=dt.timezone.utc)
ON_PEAK = ["off"] * 11 + ["on"] * 6 + ["off"] * 7

RATES = {
    "T-TIER": [
        {"kind": "fixed", "code": "customer", "params": {"amount": "10.00"}},
        {"kind": "tiered", "code": "energy", "params": {"tiers": [{"limit": 500, "price": "0.10"}, {"price": "0.20"}]}},
    ],
    "T-TOU": [
        {"kind": "fixed", "code": "customer", "params": {"amount": "5.00"}},
        {"kind": "tou_schedule", "code": "periods", "params": {"weekday": [ON_PEAK] * 12, "weekend": [["off"] * 24] * 12}},
        {"kind": "tou", "code": "energy", "params": {"periods": {"off": "0.10", "on": "0.20"}}},
    ],
    "T-DEMAND": [
        {"kind": "fixed", "code": "customer", "params": {"amount": "50.00"}},
        {"kind": "flat", "code": "energy", "params": {"price": "0.05"}},
        {"kind": "demand", "code": "demand", "params": {"price": "10.00"}},
    ],
}


def setup_billing(*, period_end: dt.date = MAR, bill_date: dt.date = MAR) -> BillCycle:
    cycle, _ = BillCycle.objects.get_or_create(code="C01", defaults={"name": "Cycle 1"})
    BillWindow.objects.get_or_create(cycle=cycle, bill_date=bill_date, defaults=dict(
        period_end_date=period_end, read_window_start=period_end - dt.timedelta(days=3),
        read_window_end=period_end - dt.timedelta(days=1), due_days=21))
    for code, components in RATES.items():
        schedule, created = RateSchedule.objects.get_or_create(code=code, defaults={"name": code, "rate_class": code.lower()})
        if created:
            RateVersion.objects.create(schedule=schedule, start_date=dt.date(2020, 1, 1), components=components)
    return cycle


def load_hourly(channel, start: dt.date, end: dt.date, kwh_per_hour: float, *, spike: tuple | None = None,
                estimated_days: int = 0) -> None:
    """Constant hourly usage over [start, end); `spike` = (date, hour, kWh) for one hour; the
    first `estimated_days` days are flagged as estimated (like-day)."""
    days = []
    day = start
    i = 0
    while day < end:
        values = np.full(24, kwh_per_hour, dtype=np.float64)
        if spike and spike[0] == day:
            values[spike[1]] = spike[2]
        flag = Flag.ESTIMATED_LIKE_DAY if i < estimated_days else Flag.ACTUAL
        days.append(StagedDay(channel.pk, day, 60, values, np.full(24, int(flag), dtype=np.int16)))
        day += dt.timedelta(days=1)
        i += 1
    mdm_services.interval_days_merge(days=days, now=NOW)


def metered_agreement(*, rate_code: str, kwh_per_hour: float = 1.0, start: dt.date = FEB, account=None,
                      data_from: dt.date = FEB, data_to: dt.date = MAR, end: dt.date | None = None, **load):
    """An agreement on a new service point with an hourly meter installed since January."""
    account = account or AccountFactory(bill_cycle_code="C01")
    sp = ServicePointFactory()
    agreement = ServiceAgreementFactory(account=account, service_point=sp, rate_code=rate_code, start_date=start,
                                        end_date=end)
    channel = ChannelFactory(meter=MeterFactory(), interval_minutes=60)
    mdm_services.meter_install(meter=channel.meter, service_point_id=sp.pk,
                               installed_at=dt.datetime(2026, 1, 1, tzinfo=TZ), commodity="electric")
    if data_to > data_from:
        load_hourly(channel, data_from, data_to, kwh_per_hour, **load)
    return agreement, channel
