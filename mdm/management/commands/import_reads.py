"""Import meter read files here and now: `manage.py import_reads day1.cmep day2.cmep --format cmep`."""
from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from mdm import importing
from mdm.models import QuarantinedRecord

SHOW_QUARANTINED = 10


class Command(BaseCommand):
    help = "Import interval and register read files (CMEP, CSV, MultiSpeak) with a progress bar."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", type=Path)
        parser.add_argument("--format", required=True, choices=sorted(importing.FORMATS))
        parser.add_argument("--no-progress", action="store_true", help="No progress bar (logs, CI).")
        parser.add_argument("--time-zone", default="",
                            help="IANA zone of the files' timestamps without an offset "
                                 "(default: the setting UTILIS_READ_FILE_TIME_ZONE).")

    def handle(self, *args, files: list[Path], format: str, no_progress: bool, time_zone: str = "", **options):
        missing = [str(f) for f in files if not f.is_file()]
        if missing:
            raise CommandError(f"No such file: {', '.join(missing)}")
        try:
            time_zone = importing.time_zone_check(time_zone)
        except importing.ImportInputError as exc:
            raise CommandError(str(exc)) from None
        failed = 0
        for path in files:
            bar = tqdm(total=0, unit="rec", desc=path.name, disable=no_progress, file=self.stderr)

            def on_chunk(done: int, total: int, bar=bar) -> None:
                bar.total = total
                bar.update(done)

            try:
                run = importing.import_file(path, format=format, now=timezone.now(), on_chunk=on_chunk,
                                            time_zone=time_zone)
            except importing.ImportRunError as exc:
                bar.close()
                self.stderr.write(self.style.ERROR(f"{path.name}: failed: {exc}"))
                failed += 1
                continue
            bar.close()
            self._summary(run)
        if failed:
            raise CommandError(f"{failed} of {len(files)} file(s) failed.")

    def _summary(self, run) -> None:
        if run.duplicate_of_id:
            self.stdout.write(f"{run.file_name}: already imported (import {run.duplicate_of_id}); nothing added.")
            return
        self.stdout.write(
            f"{run.file_name}: import {run.pk} {run.status}: {run.records} records, "
            f"{run.intervals_loaded} intervals loaded, {run.intervals_unchanged} unchanged, "
            f"{run.intervals_corrected} corrected, {run.registers_loaded} register reads, "
            f"{run.quarantined} quarantined"
        )
        for rec in QuarantinedRecord.objects.filter(import_run=run).order_by("line", "id")[:SHOW_QUARANTINED]:
            self.stdout.write(f"  {rec.file_name}:{rec.line} {rec.field}: {rec.message}")
        if run.quarantined > SHOW_QUARANTINED:
            self.stdout.write(f"  ... and {run.quarantined - SHOW_QUARANTINED} more in the quarantine")
