"""Read the bank's NACHA returns file back into returned payments (docs/payments.md, "Autopay"):

    manage.py autopay_returns_file --in /srv/ach/returns-20260305.ach

Good returns are processed, bad lines reported with their line and field; the same file again
changes nothing."""
from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from billing.payments.autopay import autopay_returns_import
from core.actors import Actor


class Command(BaseCommand):
    help = "Import a NACHA returns file: each return reverses its autopay payment (fee, credit rating)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--in", dest="path", required=True, help="Path of the returns file.")

    def handle(self, *args, **options) -> None:
        path = Path(options["path"])
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}") from exc
        result = autopay_returns_import(content=content, actor=Actor.system("autopay_returns_file"))
        for error in result.errors:
            self.stderr.write(f"line {error.line_number}, {error.field}: {error.message}")
        self.stdout.write(f"{len(result.returned)} returned, {len(result.already)} already returned, "
                          f"{len(result.cancelled)} enrolment(s) cancelled, {len(result.errors)} bad line(s).")
