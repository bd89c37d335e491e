"""The MDM determinant service billing calls (mdm.selectors.determinants): a meter exchange with
a CT multiplier inside the period, a virtual meter, net metering's received energy, an
unmetered service point, the as-of cut, and the bulk form agreeing with the single one."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from billing.tests.test_runs_helpers import FEB, MAR, TZ, load_hourly
from cis.tests.factories import ServicePointFactory
from mdm.selectors import determinants as bd
from mdm import services as mdm_services
from mdm.models import Channel
from mdm.tests.factories import ChannelFactory, MeterFactory

pytestmark = pytest.mark.django_db
JAN1 = dt.datetime(2026, 1, 1, tzinfo=TZ)


def hourly_meter(sp, *, installed_at=JAN1, kwh=1.0, direction=Channel.Direction.DELIVERED, meter=None):
    channel = ChannelFactory(meter=meter or MeterFactory(), interval_minutes=60, direction=direction)
    if meter is None:
        mdm_services.meter_install(meter=channel.meter, service_point_id=sp.pk, installed_at=installed_at,
                                   commodity="electric")
    load_hourly(channel, FEB, MAR, kwh)
    return channel


def test_a_meter_exchange_with_a_ct_multiplier_keeps_february_continuous():
    sp = ServicePointFactory()
    old = hourly_meter(sp, kwh=1.0)
    new = ChannelFactory(meter=MeterFactory(), interval_minutes=60)
    mdm_services.channel_multiplier_set(channel=new, start_date=FEB, ct_ratio=D(2))
    load_hourly(new, FEB, MAR, 0.5)
    installation = old.meter.installations.get()
    mdm_services.meter_exchange(old=installation, new_meter=new.meter, at=dt.datetime(2026, 2, 10, tzinfo=TZ))

    det = bd.determinants_for_agreement_period(service_point_id=sp.pk, start_date=FEB, end_date=MAR, as_of=MAR)

    # Old meter Feb 1-9: 9 x 24 x 1 = 216 kWh; new meter Feb 10-28: 19 x 24 x 0.5 x CT 2 = 456.
    assert (det.total, det.interval_count, det.missing_intervals) == (D("672"), 672, 0)


def test_a_virtual_meter_is_a_signed_sum_of_a_service_point_and_a_channel():
    house = ServicePointFactory()
    hourly_meter(house, kwh=1.0)
    sub = ChannelFactory(meter=MeterFactory(), interval_minutes=60)
    load_hourly(sub, FEB, MAR, 0.25)
    virtual = ServicePointFactory()
    mdm_services.virtual_meter_set(service_point_id=virtual.pk, terms=[
        {"service_point_id": house.pk, "sign": 1}, {"channel_id": sub.pk, "sign": -1}])

    result = bd.determinants_bulk(requests=[bd.PeriodRequest("v", virtual.pk, FEB, MAR),
                                            bd.PeriodRequest("h", house.pk, FEB, MAR)], as_of=MAR)

    # The house's 672 kWh minus the sub-meter's 28 x 24 x 0.25 = 168.
    assert (result["v"].energy.total, result["v"].metered) == (D("504"), True)
    assert result["h"].energy.total == D("672")


def test_received_channel_on_the_same_meter_is_received_energy():
    sp = ServicePointFactory()
    delivered = hourly_meter(sp, kwh=1.0)
    received = ChannelFactory(meter=delivered.meter, interval_minutes=60, direction=Channel.Direction.RECEIVED,
                              channel_number=2)
    load_hourly(received, FEB, MAR, 0.5)
    det = bd.determinants_for_agreement_period(service_point_id=sp.pk, start_date=FEB, end_date=MAR, as_of=MAR)
    assert (det.total, det.received_total) == (D("672"), D("336"))


def test_as_of_cuts_the_period_and_bulk_agrees_with_single_calls():
    sps = [ServicePointFactory() for _ in range(3)]
    for i, sp in enumerate(sps):
        hourly_meter(sp, kwh=1.0 + i)
    as_of = dt.date(2026, 2, 15)
    bulk = bd.determinants_bulk(requests=[bd.PeriodRequest(sp.pk, sp.pk, FEB, MAR) for sp in sps], as_of=as_of)
    for i, sp in enumerate(sps):
        one = bd.determinants_for_agreement_period(service_point_id=sp.pk, start_date=FEB, end_date=MAR, as_of=as_of)
        # 14 days x 24 h x (1 + i) kWh
        assert one.total == bulk[sp.pk].energy.total == D(336 * (1 + i))
        assert one.period_end == as_of


def test_a_service_point_without_a_meter_is_not_metered_and_wholly_missing():
    sp = ServicePointFactory(commodity="streetlight")
    result = bd.determinants_bulk(requests=[bd.PeriodRequest("s", sp.pk, FEB, MAR)], as_of=MAR)["s"]
    assert result.metered is False
    assert result.energy.missing_intervals == result.energy.interval_count == 672
