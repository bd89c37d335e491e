"""mdm.services.meters_onboard: a vendor's shipping file of meters is checked as a whole (each
problem names its meter, nothing is written), loaded in bulk with channels, multipliers and
installations, and refused when it comes a second time. Plus the default VEE rule sets."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from cis.tests.factories import ServicePointFactory
from mdm.models import Channel, ChannelMultiplier, Installation, Meter, VeeRuleSet, VeeRuleSetAssignment
from mdm.services import (
    DEFAULT_RULE_SET_NAME,
    LARGE_RULE_SET_NAME,
    ChannelSpec,
    InstallationSpec,
    MeterOnboarding,
    MeterOnboardingError,
    MetersAlreadyOnboardedError,
    MultiplierPeriod,
    meters_onboard,
    vee_default_rule_sets_ensure,
    vee_run_stored_days,
)

AT = dt.datetime(2025, 5, 1, 14, tzinfo=dt.timezone.utc)


def _file(sp_id: int):
    return [
        MeterOnboarding("EP100", "electric_polyphase", "Landis+Gyr", "E650",
                        channels=(ChannelSpec("kWh", interval_minutes=15, dials=7), ChannelSpec("kW", dials=4)),
                        multipliers=(MultiplierPeriod(dt.date(2025, 5, 1), ct_ratio=Decimal(40)),),
                        installation=InstallationSpec(sp_id, AT)),
        MeterOnboarding("EP101", "electric_polyphase", channels=(ChannelSpec("kWh", interval_minutes=15),)),
    ]


def test_meters_are_created_with_channels_multipliers_and_installations(db):
    sp = ServicePointFactory(commodity="electric")

    result = meters_onboard(_file(sp.pk))

    assert set(result.meters) == {"EP100", "EP101"} and result.channels == 3 and result.multipliers == 2
    installed = Meter.objects.get(serial_number="EP100")
    assert installed.status == "installed" and Meter.objects.get(serial_number="EP101").status == "in_stock"
    assert list(Channel.objects.filter(meter=installed).values_list("channel_number", "unit", "interval_minutes")) == [
        (1, "kWh", 15), (2, "kW", None)]
    assert set(ChannelMultiplier.objects.values_list("ct_ratio", flat=True)) == {Decimal(40)}
    inst = Installation.objects.get()
    assert (inst.meter_id, inst.service_point_id, inst.commodity, inst.installed_at) == (installed.pk, sp.pk,
                                                                                        "electric", AT)
    assert result.installations["EP100"].pk == inst.pk


def test_problems_are_named_by_meter_and_nothing_is_written(db):
    sp = ServicePointFactory(commodity="electric")
    records = _file(sp.pk) + [
        MeterOnboarding("EP100", "electric_polyphase"),
        MeterOnboarding("XX1", "teleporter", channels=(ChannelSpec("kWh", interval_minutes=7),) * 2),
        MeterOnboarding("EP102", "electric_polyphase", channels=(ChannelSpec("kWh"),),
                        multipliers=(MultiplierPeriod(dt.date(2025, 1, 1)), MultiplierPeriod(dt.date(2025, 3, 1))),
                        installation=InstallationSpec(sp.pk, AT)),
        MeterOnboarding("EP103", "electric_polyphase", installation=InstallationSpec(987654321, AT)),
    ]

    with pytest.raises(MeterOnboardingError) as caught:
        meters_onboard(records)

    messages = {str(p) for p in caught.value.problems}
    assert "meter EP100: listed twice" in messages
    assert "meter XX1: unknown meter kind 'teleporter'" in messages
    assert "meter XX1: channel 1: interval length 7 is not 5, 15, 30 or 60 minutes" in messages
    assert "meter XX1: channel 2: a second kWh delivered channel of that length" in messages
    assert "meter EP102: multiplier periods from 2025-01-01 and 2025-03-01 overlap" in messages
    assert f"meter EP102: service point {sp.pk} already gets electric meter EP100 in this file" in messages
    assert "meter EP103: service point 987654321 does not exist" in messages
    assert not Meter.objects.exists()


def test_a_shipping_file_received_twice_is_refused(db):
    sp = ServicePointFactory(commodity="electric")
    meters_onboard(_file(sp.pk))

    with pytest.raises(MetersAlreadyOnboardedError) as caught:
        meters_onboard(_file(sp.pk)[1:])

    assert [p.serial_number for p in caught.value.problems] == ["EP101"]
    assert Meter.objects.count() == 2 and Channel.objects.count() == 3


def test_default_vee_rule_sets_are_assigned_once(db):
    vee_default_rule_sets_ensure(description="test")  # the migrations may have seeded them already
    again = vee_default_rule_sets_ensure(description="test")

    assert again == {DEFAULT_RULE_SET_NAME: False, LARGE_RULE_SET_NAME: False}
    assert VeeRuleSet.objects.filter(name__in=[DEFAULT_RULE_SET_NAME, LARGE_RULE_SET_NAME]).count() == 2
    assert VeeRuleSetAssignment.objects.filter(scope="default").count() == 1
    assert set(VeeRuleSetAssignment.objects.filter(scope="rate_class").values_list("scope_value", flat=True)) == {
        "commercial", "industrial"}
    assert vee_run_stored_days(scope="test", now_fn=lambda: AT) is None  # nothing stored yet
