"""manage.py seed_meters [--days 35] [--seed S] [--end-date YYYY-MM-DD] [--workers 2]

Meters for the demo utility's service points and their AMI data, imported through the real
import path (see demo.meters)."""
from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from demo.meters import DemoMetersExistError, demo_meters_seed


class Command(BaseCommand):
    help = "Create meters for every metered service point and import generated interval data for them."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=35, help="How many local days of data.")
        parser.add_argument("--seed", type=int, default=42, help="Same service points and seed give the same data.")
        parser.add_argument("--end-date", type=dt.date.fromisoformat, default=None,
                            help="First day NOT generated (default: today): data covers [end-date - days, end-date).")
        parser.add_argument("--workers", type=int, default=2,
                            help="Processes importing files while the next days are generated (0: all in this one).")

    def handle(self, *args, days, seed, end_date, workers, **options):
        now = timezone.now()
        end = end_date or timezone.localdate(now)
        try:
            report = demo_meters_seed(end_date=end, now=now, days=days, seed=seed, workers=workers,
                                        log=self.stdout.write)
        except DemoMetersExistError as exc:
            raise CommandError(f"{exc} Seed a fresh database.") from exc
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(
            f"Seeded {report.meters:,} meters, {report.intervals_loaded:,} intervals and "
            f"{report.registers_loaded:,} register reads from {report.files} files (seed {seed}, "
            f"{end - dt.timedelta(days=days):%Y-%m-%d} to {end:%Y-%m-%d} exclusive)."
        ))
