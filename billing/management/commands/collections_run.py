"""manage.py collections_run --date 2026-06-01 [--chunk-size 500] [--in-process | --wait]
manage.py collections_run --resume RUN_ID [--wait]

Starts (or finds: one run per date) the collections run of a date. Its chunks go to the Celery
workers; --in-process does them here. A progress line follows the run's counters: accounts
done of total, steps taken, accounts held by a protection."""
from __future__ import annotations

import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from billing.collections import services
from billing.collections.models import CollectionRun, CollectionRunChunk
from core.runs import engine


class Command(BaseCommand):
    help = "Start, resume and follow the daily collections run."

    def add_arguments(self, parser):
        parser.add_argument("--date", type=dt.date.fromisoformat, help="The run date, YYYY-MM-DD.")
        parser.add_argument("--resume", type=int, metavar="RUN_ID", help="Queue the chunks of this run not yet done.")
        parser.add_argument("--chunk-size", type=int, default=500)
        parser.add_argument("--in-process", action="store_true", help="Do the chunks in this process (no workers).")
        parser.add_argument("--wait", action="store_true", help="Show progress until the run is done.")
        parser.add_argument("--timeout", type=float, default=None, help="Stop waiting after this many seconds.")

    def _line(self, run: CollectionRun) -> str:
        return (f"run {run.pk} {run.run_date} {run.get_status_display()}: {run.progress_done}/{run.progress_total} "
                f"accounts ({run.progress_percent}%), {run.actions_taken} steps, {run.holds} held, "
                f"{run.cases_closed} cases closed")

    def handle(self, *args, date, resume, chunk_size, in_process, wait, timeout, **options):
        now = timezone.now()
        if resume:
            run = CollectionRun.objects.filter(pk=resume).first()
            if run is None:
                raise CommandError(f"No collections run {resume}.")
            numbers = services.collections_run_resume(run_id=run.pk, now=now, enqueue=not in_process)
            self.stdout.write(f"{len(numbers)} chunk(s) to do again.")
        else:
            if date is None:
                raise CommandError("Give --date YYYY-MM-DD (or --resume RUN_ID).")
            try:
                run = services.collections_run_start(run_date=date, now=now, chunk_size=chunk_size,
                                                     enqueue=not in_process)
            except services.CollectionsError as exc:
                raise CommandError(str(exc)) from exc
        if in_process:
            for number in engine.pending_chunks(CollectionRunChunk, run_id=run.pk):
                services.collections_run_chunk_process(run_id=run.pk, chunk_number=number, now=timezone.now())
                run.refresh_from_db()
                self.stdout.write(self._line(run))
        elif wait:
            started = time.monotonic()
            while run.is_unfinished and (timeout is None or time.monotonic() - started < timeout):
                self.stdout.write(self._line(run))
                time.sleep(1)
                run.refresh_from_db()
        run.refresh_from_db()
        self.stdout.write(self._line(run))
