"""Exchange an installed meter for another at one instant:
`manage.py meter_exchange OLD123 NEW456 --at 2026-03-10T14:30 --removal-read 2345.6 --install-read 0
--reason "failed display"`."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from mdm import services
from mdm.management.commands._meter_options import actor_for, add_actor_options, instant, register_read


class Command(BaseCommand):
    help = ("Take an installed meter out of its service point and put another in at the same instant (old out "
            "with its final read, new in with its first read), so usage stays continuous.")

    def add_arguments(self, parser):
        parser.add_argument("old_serial", help="The meter taken out.")
        parser.add_argument("new_serial", help="The meter put in (provisioned, not installed anywhere).")
        parser.add_argument("--at", required=True, help="When (ISO time; without an offset: the utility's local time).")
        parser.add_argument("--removal-read", default=None, help="The old meter's final register read.")
        parser.add_argument("--install-read", default=None, help="The new meter's first register read.")
        parser.add_argument("--reason", required=True, help="Why (kept in the audit trail).")
        add_actor_options(parser)

    def handle(self, *args, old_serial: str, new_serial: str, at: str, removal_read: str | None,
               install_read: str | None, reason: str, user: str, **options):
        when = instant(at, option="--at")
        out_read = register_read(removal_read, option="--removal-read")
        in_read = register_read(install_read, option="--install-read")
        actor = actor_for(command="meter_exchange", username=user, reason=reason)
        try:
            old, new = services.meter_exchange_by_serial(old_serial=old_serial, new_serial=new_serial, at=when,
                                                         removal_read=out_read, install_read=in_read, actor=actor)
        except services.MeterError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Meter {old.meter.serial_number} out and {new.meter.serial_number} in at "
                          f"{old.service_point.sp_number}, {when.isoformat()}.")
