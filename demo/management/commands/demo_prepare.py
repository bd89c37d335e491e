"""manage.py demo_prepare [--workers 1]

The demo's background preparation (demo.preparation): the AMI days not imported yet, a VEE run
per day, then one cycle's bill run; finishes what an earlier, interrupted run left. `bin/utilis
start` runs it in the background after the web app is up; its log is .local/demo-prepare.log."""
from __future__ import annotations

import signal
import sys

from django.core.management.base import BaseCommand
from django.utils import timezone

from core.clock import utility_today
from demo.preparation import demo_prepare


class Command(BaseCommand):
    help = "Import the demo's AMI data, validate it and start a bill run, in the background of a start."

    def add_arguments(self, parser):
        parser.add_argument("--workers", type=int, default=1,
                            help="Processes importing files while the next days are generated (0: this one).")

    def handle(self, *args, workers: int, **options):
        # A TERM (the start command stopping) unwinds like Ctrl-C: the import processes are ended.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        demo_prepare(now_fn=timezone.now, today=utility_today(), workers=workers, log=self._log)

    def _log(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()  # the start command sends this to a log file: show progress as it comes
