"""Run VEE over stored interval data: `manage.py run_vee --start 2026-06-01 --end 2026-07-01`.

By default the run goes to the Celery workers and the command returns its id; `--wait` then
follows its progress with a bar; `--inline` runs the chunks in this process instead."""
from __future__ import annotations

import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from mdm.services import vee_runs
from mdm.models import VeeRun

POLL_SECONDS = 1.0


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{value!r} is not a date like 2026-06-01.") from exc


class Command(BaseCommand):
    help = "Validate, estimate and edit (VEE) stored interval data over local dates [start, end)."

    def add_arguments(self, parser):
        parser.add_argument("--start", required=True, help="First local date.")
        parser.add_argument("--end", required=True, help="Local date after the last one (exclusive).")
        parser.add_argument("--channels", default="", help="Comma-separated channel ids (default: every channel with data).")
        parser.add_argument("--chunk-size", type=int, default=None,
                            help="Channels per chunk (default: about 20,000 channel-days, 50-2,000 channels).")
        parser.add_argument("--wait", action="store_true", help="Follow the Celery run until it finishes.")
        parser.add_argument("--inline", action="store_true", help="Run the chunks in this process.")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, start, end, channels, chunk_size, wait, inline, no_progress, **options):
        start_date, end_date = _date(start), _date(end)
        try:
            ids = [int(c) for c in channels.split(",") if c.strip()] if channels else None
        except ValueError as exc:
            raise CommandError("--channels takes channel ids separated by commas.") from exc
        if ids is None:
            ids = vee_runs.channels_with_data(start_date=start_date, end_date=end_date)
        scope = f"channels {','.join(map(str, ids[:5]))}{'...' if len(ids) > 5 else ''}" if channels else "all channels"
        try:
            if inline:
                run = vee_runs.vee_run_create(channel_ids=ids, start_date=start_date, end_date=end_date, scope=scope,
                                              now=timezone.now(), chunk_size=chunk_size)
            else:
                with transaction.atomic():
                    run = vee_runs.vee_run_submit(channel_ids=ids, start_date=start_date, end_date=end_date,
                                                  scope=scope, now=timezone.now(), chunk_size=chunk_size)
        except vee_runs.VeeRunError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"VEE run {run.pk}: {len(run.channel_ids)} channels, {start_date} to {end_date} (exclusive).")
        bar = tqdm(total=run.progress_total, unit="ch", desc=f"VEE run {run.pk}", file=self.stderr,
                   disable=no_progress or not (wait or inline))
        shown = 0

        def show(current: VeeRun) -> None:
            nonlocal shown
            bar.update(current.progress_done - shown)
            shown = current.progress_done

        if inline:
            run = vee_runs.vee_run_execute(vee_run_id=run.pk, now_fn=timezone.now, on_chunk=show)
        elif wait:
            while True:
                run.refresh_from_db()
                show(run)
                if run.status in (VeeRun.Status.DONE, VeeRun.Status.FAILED):
                    break
                time.sleep(POLL_SECONDS)
        bar.close()
        if inline or wait:
            self.stdout.write(
                f"VEE run {run.pk} {run.status}: {run.channel_days_validated} channel-days validated, "
                f"{run.channel_days_changed} changed, {run.intervals_estimated} intervals estimated, "
                f"{run.findings_count} findings, {run.worklist_items} new worklist items"
            )
            if run.status == VeeRun.Status.FAILED:
                raise CommandError(run.error)
