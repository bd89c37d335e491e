"""manage.py import_urdb FILE [--code CODE] [--start YYYY-MM-DD] [--end YYYY-MM-DD]

Import an OpenEI URDB tariff file as a rate schedule. The file may hold the tariff, an API
response {"items": [tariff]}, or (as PySAM's samples do) that JSON stored as a JSON string."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from billing.services.rates import RateError, rate_schedule_import_urdb


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD)") from exc


class Command(BaseCommand):
    help = "Import an OpenEI URDB tariff JSON file as a rate schedule."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--code", help="Rate code to store it under (default: the URDB label).")
        parser.add_argument("--start", help="Effective start date (default: the tariff's startdate).")
        parser.add_argument("--end", help="Effective end date, exclusive (default: the tariff's enddate).")

    def handle(self, *args, file: Path, code=None, start=None, end=None, **options):
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from exc
        try:
            schedule = rate_schedule_import_urdb(doc=text, code=code, effective_start=_date(start),
                                                 effective_end=_date(end))
        except RateError as exc:
            raise CommandError(str(exc)) from exc
        version = schedule.versions.order_by("-start_date").first()
        if version is None:  # the import adds a version or raises; never a schedule without one
            raise CommandError(f"Imported {schedule.code} but it has no rate version.")
        self.stdout.write(self.style.SUCCESS(
            f"Imported {schedule.code} ({schedule.name}): version from {version.start_date}"
            f"{' to ' + str(version.end_date) if version.end_date else ''}, {len(version.components)} components."
        ))
