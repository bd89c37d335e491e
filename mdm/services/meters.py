"""Writes for meters, channels, multipliers, installations, virtual meters and register reads."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import IntegrityError, transaction

from mdm.models import Channel, ChannelMultiplier, Installation, Meter, RegisterRead, VirtualMeter


class MeterError(Exception):
    """A meter write cannot be done as asked; the message says why."""


class InstallationOverlapError(MeterError):
    pass


class VirtualMeterFormulaError(MeterError):
    pass


def meter_create(*, serial_number: str, kind: str, manufacturer: str = "", model: str = "",
                 ami_capable: bool = True, status: str = Meter.Status.IN_STOCK) -> Meter:
    """Raises MeterError when the serial number is already known."""
    try:
        with transaction.atomic():
            return Meter.objects.create(
                serial_number=serial_number.strip(), kind=kind, manufacturer=manufacturer, model=model,
                ami_capable=ami_capable, status=status,
            )
    except IntegrityError as exc:
        raise MeterError(f"Meter {serial_number} already exists.") from exc


def channel_add(*, meter: Meter, unit: str, direction: str = Channel.Direction.DELIVERED,
                interval_minutes: int | None = None, dials: int | None = None,
                channel_number: int | None = None) -> Channel:
    """Raises MeterError when the meter already has that unit/direction/interval channel."""
    if channel_number is None:
        channel_number = meter.channels.count() + 1
    try:
        with transaction.atomic():
            return Channel.objects.create(
                meter=meter, unit=unit, direction=direction, interval_minutes=interval_minutes,
                dials=dials, channel_number=channel_number,
            )
    except IntegrityError as exc:
        raise MeterError(f"Meter {meter.serial_number} already has a {unit} {direction} channel of that length.") from exc


def channel_multiplier_set(*, channel: Channel, start_date: dt.date, end_date: dt.date | None = None,
                           ct_ratio: Decimal = Decimal(1), pt_ratio: Decimal = Decimal(1),
                           register_constant: Decimal = Decimal(1)) -> ChannelMultiplier:
    """Raises MeterError when it overlaps another multiplier of the channel."""
    try:
        with transaction.atomic():
            return ChannelMultiplier.objects.create(
                channel=channel, start_date=start_date, end_date=end_date,
                ct_ratio=ct_ratio, pt_ratio=pt_ratio, register_constant=register_constant,
            )
    except IntegrityError as exc:
        raise MeterError("That channel already has a multiplier in that period.") from exc


@transaction.atomic
def meter_install(*, meter: Meter, service_point_id: int, installed_at: dt.datetime,
                  install_read: Decimal | None = None, commodity: str | None = None) -> Installation:
    """Install a meter at a service point from `installed_at` (open-ended).

    Raises InstallationOverlapError when the meter is installed elsewhere then, or the service
    point already has a meter of that commodity then."""
    try:
        with transaction.atomic():
            inst = Installation.objects.create(
                meter=meter, service_point_id=service_point_id, commodity=commodity or meter.commodity,
                installed_at=installed_at, install_read=install_read,
            )
    except IntegrityError as exc:
        raise InstallationOverlapError(str(exc).splitlines()[0]) from exc
    Meter.objects.filter(pk=meter.pk).update(status=Meter.Status.INSTALLED)
    return inst


@transaction.atomic
def meter_remove(*, installation: Installation, removed_at: dt.datetime, removal_read: Decimal | None = None) -> Installation:
    """Close an installation. Raises MeterError if it is already closed or ends before it starts."""
    if installation.removed_at is not None:
        raise MeterError("That installation is already closed.")
    if removed_at <= installation.installed_at:
        raise MeterError("A meter cannot be removed before it was installed.")
    installation.removed_at = removed_at
    installation.removal_read = removal_read
    installation.save(update_fields=["removed_at", "removal_read"])
    Meter.objects.filter(pk=installation.meter_id).update(status=Meter.Status.REMOVED)
    return installation


@transaction.atomic
def meter_exchange(*, old: Installation, new_meter: Meter, at: dt.datetime,
                   removal_read: Decimal | None = None, install_read: Decimal | None = None) -> Installation:
    """Remove the old meter and install the new one at the same instant, so usage is continuous."""
    meter_remove(installation=old, removed_at=at, removal_read=removal_read)
    return meter_install(meter=new_meter, service_point_id=old.service_point_id, installed_at=at,
                         install_read=install_read, commodity=old.commodity)


def virtual_meter_set(*, service_point_id: int, terms: list[dict], name: str = "") -> VirtualMeter:
    """Define (or redefine) a service point's usage as a signed sum of channels / service points.

    Each term is {"channel_id": id, "sign": 1|-1} or {"service_point_id": id, "sign": 1|-1}.
    Raises VirtualMeterFormulaError for a malformed term, an unknown channel, or a self-reference."""
    clean = []
    for term in terms:
        sign = term.get("sign", 1)
        keys = {"channel_id", "service_point_id"} & set(term)
        if sign not in (1, -1) or len(keys) != 1:
            raise VirtualMeterFormulaError(f"Bad term {term!r}: give one of channel_id / service_point_id and sign +1 or -1.")
        key = keys.pop()
        ref = int(term[key])
        if key == "service_point_id" and ref == service_point_id:
            raise VirtualMeterFormulaError("A virtual meter cannot include its own service point.")
        if key == "channel_id" and not Channel.objects.filter(pk=ref).exists():
            raise VirtualMeterFormulaError(f"Unknown channel {ref}.")
        clean.append({key: ref, "sign": sign})
    if not clean:
        raise VirtualMeterFormulaError("A virtual meter needs at least one term.")
    vm, _ = VirtualMeter.objects.update_or_create(
        service_point_id=service_point_id, defaults={"formula": {"terms": clean}, "name": name}
    )
    return vm


def register_read_record(*, channel: Channel, read_at: dt.datetime, value: Decimal,
                         read_type: str = RegisterRead.ReadType.MANUAL, import_run_id: int | None = None) -> RegisterRead:
    """A register read; the same (channel, instant, type) again returns the stored read unchanged."""
    read, _ = RegisterRead.objects.get_or_create(
        channel=channel, read_at=read_at, read_type=read_type,
        defaults={"value": value, "import_run_id": import_run_id},
    )
    return read
