"""The rate comparison (billing.selectors.rate_comparison): the last 12 complete months of an
agreement's own interval data priced on its current rate and every rate of its commodity and
rate class offered today, by the rating code bills use; cheapest first, in Decimal."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.utils import timezone

from billing.comparison import comparison_months, eligible_rate_schedules
from billing.selectors import rate_comparison
from billing.services.rates import rate_schedule_create, rate_version_add
from cis.tests.factories import AccountFactory, ServiceAgreementFactory, ServicePointFactory
from mdm import services as mdm_services
from mdm.flags import Flag
from mdm.models import Channel, Installation
from mdm.services import StagedDay
from mdm.tests.factories import MeterFactory

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2026, 3, 10)
TZ = ZoneInfo("America/Toronto")
ON_HOURS = range(16, 21)
WEEKDAY = [["ON" if h in ON_HOURS else "OFF" for h in range(24)] for _ in range(12)]
WEEKEND = [["OFF"] * 24 for _ in range(12)]
FIXED = {"kind": "fixed", "code": "customer", "params": {"amount": "10.00"}, "description": "Customer charge"}


def _rate(code, components, *, rate_class="residential", commodity="electric", start=dt.date(2020, 1, 1),
          end=None):
    schedule = rate_schedule_create(code=code, name=f"Rate {code}", rate_class=rate_class, commodity=commodity)
    rate_version_add(schedule=schedule, start_date=start, end_date=end, components=components)
    return schedule


@pytest.fixture
def rates():
    _rate("RES-FLAT", [FIXED, {"kind": "flat", "code": "energy", "params": {"price": "0.10"},
                               "description": "Energy"}])
    _rate("RES-TOU", [FIXED, {"kind": "tou_schedule", "code": "periods", "params": {"weekday": WEEKDAY,
                                                                                     "weekend": WEEKEND}},
                      {"kind": "tou", "code": "energy", "params": {"periods": {"ON": "0.30", "OFF": "0.05"}},
                       "description": "Energy by time of day"}])
    _rate("COM-FLAT", [FIXED], rate_class="commercial")  # another class: not eligible
    _rate("WAT-RES", [FIXED], commodity="water")  # another commodity
    _rate("RES-OLD", [FIXED], end=dt.date(2025, 1, 1))  # no longer offered


def _account(*, rate_code="RES-FLAT", start=dt.date(2024, 1, 1), days=500):
    account = AccountFactory()
    sp = ServicePointFactory(rate_class="residential")
    ServiceAgreementFactory(account=account, service_point=sp, rate_code=rate_code, start_date=start)
    meter = MeterFactory()
    Installation.objects.create(meter=meter, service_point=sp, commodity="electric",
                                installed_at=dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc))
    channel = Channel.objects.create(meter=meter, channel_number=1, unit="kWh", direction="delivered",
                                     interval_minutes=60)
    first = AS_OF - dt.timedelta(days=days)
    staged = []
    for i in range(days):
        day = first + dt.timedelta(days=i)
        hours = int(dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=TZ).timestamp()
                    - dt.datetime.combine(day, dt.time(0), tzinfo=TZ).timestamp()) // 3600  # 23 or 25 at DST
        staged.append(StagedDay(channel.pk, day, 60, np.full(hours, 1.0), np.full(hours, int(Flag.ACTUAL), dtype=np.int16)))
    mdm_services.interval_days_merge(days=staged, now=timezone.now())
    return account


def test_the_last_twelve_complete_months_clipped_to_the_agreement():
    months = comparison_months(as_of=AS_OF, start=dt.date(2020, 1, 1), end=None)
    assert months[0] == (dt.date(2025, 3, 1), dt.date(2025, 4, 1)) and months[-1] == (dt.date(2026, 2, 1),
                                                                                       dt.date(2026, 3, 1))
    assert len(months) == 12
    moved_in = comparison_months(as_of=AS_OF, start=dt.date(2025, 11, 15), end=None)
    assert moved_in == [(dt.date(2025, 11, 15), dt.date(2025, 12, 1)), (dt.date(2025, 12, 1), dt.date(2026, 1, 1)),
                        (dt.date(2026, 1, 1), dt.date(2026, 2, 1)), (dt.date(2026, 2, 1), dt.date(2026, 3, 1))]


def test_eligible_rates_share_commodity_and_class_and_are_offered_today(rates):
    codes = [s.code for s in eligible_rate_schedules(commodity="electric", rate_class="residential", on=AS_OF)]
    assert codes == ["RES-FLAT", "RES-TOU"]


def test_prices_each_eligible_rate_on_the_agreements_own_year(rates):
    account = _account()
    [comparison] = rate_comparison(account_id=account.pk, as_of=AS_OF)
    assert comparison.current_code == "RES-FLAT" and comparison.rate_class == "residential"
    assert (comparison.period_start, comparison.period_end) == (dt.date(2025, 3, 1), dt.date(2026, 3, 1))
    assert comparison.consumption == Decimal(365 * 24)  # 1 kWh an hour, every hour of the year
    flat = comparison.current
    assert flat is not None and flat.total == Decimal("996.00")  # 12 x $10 + 8,760 kWh x $0.10
    tou = next(o for o in comparison.options if o.code == "RES-TOU")
    # 5 of 24 hours on weekdays at $0.30, the rest at $0.05: 261 weekdays in the year, 10 of
    # them the utility's statutory holidays (off-peak all day, as on a bill).
    on_kwh = Decimal(251 * 5)
    assert tou.total == Decimal("120.00") + on_kwh * Decimal("0.30") + (Decimal(8760) - on_kwh) * Decimal("0.05")
    assert comparison.difference(tou) == tou.total - flat.total
    assert [o.code for o in comparison.options] == sorted(
        ["RES-FLAT", "RES-TOU"], key=lambda c: next(o.total for o in comparison.options if o.code == c))
    # How it was worked out: the year's lines by kind of charge, and each month.
    energy = next(ln for ln in flat.lines if ln.description == "Energy")
    assert (energy.quantity, energy.unit, energy.amount) == (Decimal(8760), "kWh", Decimal("876.00"))
    assert len(flat.months) == 12 and flat.months[0].amount == Decimal("84.30")  # March: 743 kWh (DST) + $10


def test_a_rate_not_offered_now_is_compared_when_it_is_the_current_one(rates):
    account = _account(rate_code="RES-OLD")
    [comparison] = rate_comparison(account_id=account.pk, as_of=AS_OF)
    codes = {o.code for o in comparison.options}
    assert codes == {"RES-OLD", "RES-FLAT", "RES-TOU"}
    old = comparison.current
    assert old is not None and old.total is None and old.why  # no version in effect to price it with
    assert all(comparison.difference(o) is None for o in comparison.options)


def test_no_comparison_before_a_whole_day_of_service(rates):
    account = _account(start=dt.date(2026, 3, 2), days=8)
    assert rate_comparison(account_id=account.pk, as_of=AS_OF) == []
