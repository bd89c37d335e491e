"""factory_boy factories for meters and channels."""
from __future__ import annotations

import factory

from mdm.models import Channel, Meter


class MeterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Meter

    serial_number = factory.Sequence(lambda n: f"MTR{n:07d}")
    manufacturer = "Itron"
    model = "OpenWay Riva"
    kind = Meter.Kind.ELECTRIC_SINGLE_PHASE
    ami_capable = True


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Channel

    meter = factory.SubFactory(MeterFactory)
    channel_number = 1
    unit = Channel.Unit.KWH
    direction = Channel.Direction.DELIVERED
    interval_minutes = 15
