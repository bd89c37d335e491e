"""Provision a meter with its channels, and optionally install it at once:
`manage.py meter_provision E9001234 --kind electric_single_phase --channel kWh:delivered:15
--channel kWh:received:15 --install SP00000031 --at 2026-03-10T09:00 --read 0`."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from mdm import services
from mdm.management.commands._meter_options import actor_for, add_actor_options, instant, register_read

INTERVALS = {"5": 5, "15": 15, "30": 30, "60": 60, "register": None, "": None}


def channel_spec(text: str) -> services.ChannelSpec:
    """UNIT[:DIRECTION[:MINUTES]], e.g. kWh:delivered:15, kWh:received:15, m3 (a register channel)."""
    parts = text.split(":")
    if len(parts) > 3 or not parts[0]:
        raise CommandError(f"--channel {text!r}: give UNIT[:DIRECTION[:MINUTES]], e.g. kWh:delivered:15.")
    unit = parts[0]
    direction = parts[1] if len(parts) > 1 and parts[1] else services.ChannelDirection.DELIVERED
    minutes = parts[2] if len(parts) > 2 else ""
    if unit not in services.ChannelUnit.values:
        raise CommandError(f"--channel {text!r}: unknown unit {unit!r}; one of {', '.join(services.ChannelUnit.values)}.")
    if direction not in services.ChannelDirection.values:
        raise CommandError(f"--channel {text!r}: the direction is delivered or received.")
    if minutes not in INTERVALS:
        raise CommandError(f"--channel {text!r}: the interval is 5, 15, 30 or 60 minutes, or 'register'.")
    return services.ChannelSpec(unit=unit, direction=direction, interval_minutes=INTERVALS[minutes])


class Command(BaseCommand):
    help = ("Provision a meter (in stock) with its channels, numbered in the order given; with --install, "
            "install it at that service point too. A serial number already known is refused (exit status 1) "
            "unless --exists-ok, so a script can run it again safely.")

    def add_arguments(self, parser):
        parser.add_argument("serial", help="The manufacturer's serial number.")
        parser.add_argument("--kind", required=True, choices=services.MeterKind.values)
        parser.add_argument("--channel", action="append", default=[], metavar="UNIT[:DIRECTION[:MINUTES]]",
                            help="A channel, e.g. kWh:delivered:15, kWh:received:15, kWh (a register); repeat for each.")
        parser.add_argument("--manufacturer", default="")
        parser.add_argument("--model", default="")
        parser.add_argument("--no-ami", action="store_true", help="The meter is read by hand, not by the AMI.")
        parser.add_argument("--install", default="", metavar="SERVICE_POINT",
                            help="Also install it at this service point (its number); needs --at.")
        parser.add_argument("--at", default="", help="When it was installed (ISO time; no offset: the utility's).")
        parser.add_argument("--read", default=None, help="Its register read when installed.")
        parser.add_argument("--reason", default="", help="Why (kept in the audit trail).")
        parser.add_argument("--exists-ok", action="store_true",
                            help="A meter with this serial already known is not an error (nothing is changed).")
        add_actor_options(parser)

    def handle(self, *args, serial: str, kind: str, channel: list[str], manufacturer: str, model: str,
               no_ami: bool, install: str, at: str, read: str | None, reason: str, exists_ok: bool, user: str,
               **options):
        if not channel:
            raise CommandError("Give at least one --channel (e.g. --channel kWh:delivered:15).")
        if install and not at:
            raise CommandError("--install needs --at (when the meter was installed).")
        if at and not install:
            raise CommandError("--at is for --install; a meter is provisioned in stock.")
        specs = [channel_spec(c) for c in channel]
        installed_at = instant(at, option="--at") if at else None
        install_read = register_read(read, option="--read")
        actor = actor_for(command="meter_provision", username=user, reason=reason or "meter provisioned")
        try:
            meter = services.meter_provision(serial_number=serial, kind=kind, manufacturer=manufacturer, model=model,
                                             ami_capable=not no_ami, channels=specs, actor=actor)
        except services.MeterExistsError as exc:
            if not exists_ok:
                raise CommandError(str(exc)) from None
            self.stdout.write(f"{exc} (--exists-ok)")
            return
        except services.MeterError as exc:
            raise CommandError(str(exc)) from None
        shown = ", ".join(f"{ch.unit} {ch.direction} {ch.interval_minutes or 'register'}" for ch in specs)
        self.stdout.write(f"Meter {meter.serial_number} provisioned with {len(specs)} channel(s): {shown}.")
        if install and installed_at is not None:
            try:
                installation = services.meter_install_by_serial(
                    serial_number=meter.serial_number, service_point=install, installed_at=installed_at,
                    install_read=install_read, actor=actor)
            except services.MeterError as exc:
                raise CommandError(f"Provisioned, but not installed: {exc}") from None
            self.stdout.write(f"Installed at {installation.service_point.sp_number} from "
                              f"{installation.installed_at.isoformat()}.")
