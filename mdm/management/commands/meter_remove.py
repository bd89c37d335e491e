"""Take a meter out of its service point: `manage.py meter_remove OLD123 --at 2026-03-12T08:00
--read 555 --reason "service disconnected"`."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from mdm import services
from mdm.management.commands._meter_options import actor_for, add_actor_options, instant, register_read


class Command(BaseCommand):
    help = "Remove an installed meter from its service point at a time, with its final register read."

    def add_arguments(self, parser):
        parser.add_argument("serial", help="The meter taken out.")
        parser.add_argument("--at", required=True, help="When (ISO time; without an offset: the utility's local time).")
        parser.add_argument("--read", default=None, help="Its final register read.")
        parser.add_argument("--reason", required=True, help="Why (kept in the audit trail).")
        add_actor_options(parser)

    def handle(self, *args, serial: str, at: str, read: str | None, reason: str, user: str, **options):
        when = instant(at, option="--at")
        final = register_read(read, option="--read")
        actor = actor_for(command="meter_remove", username=user, reason=reason)
        try:
            installation = services.meter_remove_by_serial(serial_number=serial, removed_at=when, removal_read=final,
                                                           actor=actor)
        except services.MeterError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Meter {installation.meter.serial_number} removed from "
                          f"{installation.service_point.sp_number} at {when.isoformat()}.")
