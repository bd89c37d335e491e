"""Writes for meters, channels, multipliers, installations, virtual meters and register reads."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q

from cis.selectors import service_points_for_metering_by_number
from core.actors import Actor
from core.clock import utility_zone
from mdm.models import Channel, ChannelMultiplier, Installation, Meter, RegisterRead, VirtualMeter
from mdm.services.onboarding import (
    ChannelSpec,
    MeterOnboarding,
    MeterOnboardingError,
    MetersAlreadyOnboardedError,
    MultiplierPeriod,
    meters_onboard,
)


class MeterError(Exception):
    """A meter write cannot be done as asked; the message says why, and `field` names the
    input it is about ("" for the request as a whole)."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class MeterNotFoundError(MeterError):
    """No meter has that serial number."""


class MeterExistsError(MeterError):
    """A meter with that serial number is already known (a provisioning sent twice)."""


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


# ---- provisioning and field work by serial number (the REST API and the commands) ----------
# Each checks everything it can name precisely before it writes, so a caller gets "meter M is
# installed at SP... since ..." rather than the database's exclusion-constraint text; the
# constraints stay the protection against a race. Every write runs in the actor's audit block.

def _meter_by_serial(serial: str, *, field: str) -> Meter:
    serial = (serial or "").strip()
    if not serial:
        raise MeterError("Give a meter serial number.", field=field)
    meter = Meter.objects.filter(serial_number=serial).first() or Meter.objects.filter(serial_number__iexact=serial).first()
    if meter is None:
        raise MeterNotFoundError(f"There is no meter {serial}.", field=field)
    return meter


def _aware(value: dt.datetime, *, field: str) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise MeterError("Give the time with its UTC offset (e.g. 2026-03-10T14:30:00-05:00).", field=field)
    return value


def _read(value: Decimal | None, *, field: str) -> Decimal | None:
    if value is None:
        return None
    if value < 0:
        raise MeterError("A register read cannot be negative.", field=field)
    if value >= Decimal(10) ** 10:
        raise MeterError("A register read has at most 10 digits before the decimal point.", field=field)
    if value != value.quantize(Decimal("0.0001")):
        raise MeterError("A register read has at most 4 decimal places.", field=field)
    return value


def _open_installation(meter: Meter) -> Installation | None:
    return (Installation.objects.filter(meter=meter, removed_at__isnull=True).select_related("service_point")
            .order_by("-installed_at").first())


def _shown(at: dt.datetime) -> str:
    """A time in a message: the utility's local time, with its offset."""
    return at.astimezone(utility_zone()).isoformat()


def _sp_number(installation: Installation) -> str:
    return installation.service_point.sp_number


def _clash_check(*, meter: Meter, service_point_id: int, sp_number: str, commodity: str, start: dt.datetime,
                 field: str, ignore: Installation | None = None) -> None:
    """MeterError naming the installation [start, open end) would overlap: the meter's own
    elsewhere (field `field`), or another meter of the commodity at the service point."""
    later = Q(removed_at__isnull=True) | Q(removed_at__gt=start)
    own = Installation.objects.filter(later, meter=meter).select_related("service_point").order_by("installed_at")
    if ignore is not None:
        own = own.exclude(pk=ignore.pk)
    clash = own.first()
    if clash is not None:
        until = f"until {_shown(clash.removed_at)}" if clash.removed_at else "with no removal"
        raise InstallationOverlapError(
            f"Meter {meter.serial_number} is installed at {_sp_number(clash)} from {_shown(clash.installed_at)} "
            f"{until}; remove it there first.", field=field)
    other = (Installation.objects.filter(later, service_point_id=service_point_id, commodity=commodity)
             .select_related("meter").order_by("installed_at"))
    if ignore is not None:
        other = other.exclude(pk=ignore.pk)
    taken = other.first()
    if taken is not None:
        raise InstallationOverlapError(
            f"Service point {sp_number} has {commodity} meter {taken.meter.serial_number} installed from "
            f"{_shown(taken.installed_at)}; exchange it instead.", field="service_point")


def meter_provision(*, serial_number: str, kind: str, actor: Actor, manufacturer: str = "", model: str = "",
                    ami_capable: bool = True, channels: Sequence[ChannelSpec] = (),
                    multipliers: Sequence[MultiplierPeriod] = ()) -> Meter:
    """Create one meter (in stock) with its channels, numbered 1.. in the order given, and its
    CT/PT multiplier periods (applied to every channel), as one audited write.

    Raises MeterExistsError when the serial number is already known (nothing is written, so a
    retried request makes no duplicate), MeterError (with `field`) for a blank serial, an
    unknown kind, unit or direction, an interval length the store cannot hold, two channels of
    one shape, or overlapping or non-positive multipliers."""
    serial = (serial_number or "").strip()
    if not serial:
        raise MeterError("Give the meter's serial number.", field="serial_number")
    if len(serial) > Meter._meta.get_field("serial_number").max_length:  # type: ignore[operator]
        raise MeterError("A serial number has at most 50 characters.", field="serial_number")
    existing = Meter.objects.filter(serial_number__iexact=serial).first()
    if existing is not None:
        raise MeterExistsError(f"Meter {existing.serial_number} already exists; nothing was created.",
                               field="serial_number")
    record = MeterOnboarding(serial_number=serial, kind=kind, manufacturer=manufacturer.strip(),
                             model=model.strip(), ami_capable=ami_capable, channels=tuple(channels),
                             multipliers=tuple(multipliers))
    try:
        with transaction.atomic(), actor.audit("meter_provision"):
            return meters_onboard([record]).meters[serial]
    except MetersAlreadyOnboardedError as exc:
        raise MeterExistsError(f"Meter {serial} already exists; nothing was created.", field="serial_number") from exc
    except MeterOnboardingError as exc:
        problem = exc.problems[0].message
        field = ("channels" if problem.startswith("channel") else "multipliers" if "multiplier" in problem
                 else "kind" if "kind" in problem else "serial_number")
        text = "; ".join(p.message for p in exc.problems)
        raise MeterError(text[:1].upper() + text[1:] + ".", field=field) from exc
    except IntegrityError as exc:  # the same serial created by a concurrent request
        raise MeterExistsError(f"Meter {serial} already exists; nothing was created.", field="serial_number") from exc


def meter_install_by_serial(*, serial_number: str, service_point: str, installed_at: dt.datetime, actor: Actor,
                            install_read: Decimal | None = None) -> Installation:
    """Install the meter numbered `serial_number` at the service point numbered `service_point`
    from `installed_at` (open-ended), with its first register read.

    Raises MeterNotFoundError, MeterError (field `service_point`: no such service point, one
    that is retired, or of another commodity than the meter; `installed_at` without an offset;
    a retired meter; a negative read) and InstallationOverlapError naming the installation it
    would overlap (the meter's own elsewhere, or the service point's meter of that commodity)."""
    meter = _meter_by_serial(serial_number, field="serial_number")
    installed_at = _aware(installed_at, field="installed_at")
    install_read = _read(install_read, field="install_read")
    if meter.status == Meter.Status.RETIRED:
        raise MeterError(f"Meter {meter.serial_number} is retired and cannot be installed.", field="serial_number")
    sp = service_points_for_metering_by_number(numbers=[service_point]).get(service_point)
    if sp is None:
        raise MeterError(f"There is no service point {service_point.strip() or '(blank)'}.", field="service_point")
    if sp.status == "retired":
        raise MeterError(f"Service point {sp.sp_number} is retired.", field="service_point")
    if sp.commodity != meter.commodity:
        raise MeterError(f"Service point {sp.sp_number} is {sp.commodity}; meter {meter.serial_number} measures "
                         f"{meter.commodity}.", field="service_point")
    with transaction.atomic(), actor.audit("meter_install"):
        Meter.objects.select_for_update().filter(pk=meter.pk).first()
        _clash_check(meter=meter, service_point_id=sp.id, sp_number=sp.sp_number, commodity=meter.commodity,
                     start=installed_at, field="serial_number")
        try:
            with transaction.atomic():
                return meter_install(meter=meter, service_point_id=sp.id, installed_at=installed_at,
                                     install_read=install_read)
        except InstallationOverlapError as exc:
            raise InstallationOverlapError(str(exc), field="installed_at") from exc


def meter_remove_by_serial(*, serial_number: str, removed_at: dt.datetime, actor: Actor,
                           removal_read: Decimal | None = None) -> Installation:
    """Take the meter numbered `serial_number` out of the service point it is installed at,
    at `removed_at`, with its final register read. Returns the closed installation.

    Raises MeterNotFoundError, MeterError (the meter is not installed anywhere; `removed_at`
    without an offset or not after the installation; a negative read)."""
    meter = _meter_by_serial(serial_number, field="serial_number")
    removed_at = _aware(removed_at, field="removed_at")
    removal_read = _read(removal_read, field="removal_read")
    with transaction.atomic(), actor.audit("meter_remove"):
        Meter.objects.select_for_update().filter(pk=meter.pk).first()
        installation = _open_installation(meter)
        if installation is None:
            raise MeterError(f"Meter {meter.serial_number} is not installed anywhere.", field="serial_number")
        if removed_at <= installation.installed_at:
            raise MeterError(f"Meter {meter.serial_number} was installed at {_sp_number(installation)} on "
                             f"{_shown(installation.installed_at)}; it cannot be removed before that.",
                             field="removed_at")
        return meter_remove(installation=installation, removed_at=removed_at, removal_read=removal_read)


def meter_exchange_by_serial(*, old_serial: str, new_serial: str, at: dt.datetime, actor: Actor,
                             removal_read: Decimal | None = None,
                             install_read: Decimal | None = None) -> tuple[Installation, Installation]:
    """Exchange the installed meter `old_serial` for `new_serial` at the same instant `at`
    (old out with its final read, new in with its first read), so usage stays continuous.
    Returns (the old installation, closed; the new one).

    Raises MeterNotFoundError (either meter), MeterError (the old meter is not installed; the
    new one is the same meter, retired, of another commodity, or installed somewhere; `at`
    without an offset or not after the old installation; a negative read) and
    InstallationOverlapError (the new meter has a later installation that would overlap)."""
    old_meter = _meter_by_serial(old_serial, field="serial_number")
    new_meter = _meter_by_serial(new_serial, field="new_meter")
    at = _aware(at, field="at")
    removal_read = _read(removal_read, field="removal_read")
    install_read = _read(install_read, field="install_read")
    if new_meter.pk == old_meter.pk:
        raise MeterError("The new meter must be another meter than the one taken out.", field="new_meter")
    if new_meter.status == Meter.Status.RETIRED:
        raise MeterError(f"Meter {new_meter.serial_number} is retired and cannot be installed.", field="new_meter")
    with transaction.atomic(), actor.audit("meter_exchange"):
        list(Meter.objects.select_for_update().filter(pk__in=[old_meter.pk, new_meter.pk]).order_by("pk"))
        old = _open_installation(old_meter)
        if old is None:
            raise MeterError(f"Meter {old_meter.serial_number} is not installed anywhere; install the new meter "
                             "instead.", field="serial_number")
        if new_meter.commodity != old.commodity:
            raise MeterError(f"Meter {new_meter.serial_number} measures {new_meter.commodity}; the meter it replaces "
                             f"measures {old.commodity}.", field="new_meter")
        if at <= old.installed_at:
            raise MeterError(f"Meter {old_meter.serial_number} was installed at {_sp_number(old)} on "
                             f"{_shown(old.installed_at)}; the exchange must be after that.", field="at")
        _clash_check(meter=new_meter, service_point_id=old.service_point_id, sp_number=_sp_number(old),
                     commodity=old.commodity, start=at, field="new_meter", ignore=old)
        new = meter_exchange(old=old, new_meter=new_meter, at=at, removal_read=removal_read,
                             install_read=install_read)
        old.refresh_from_db()
        return old, new
