"""manage.py bill_run --cycle C01 --bill-date 2026-03-01 [--chunk-size 500] [--wait]
manage.py bill_run --resume RUN_ID [--wait]
manage.py bill_run --cycle C01 --bill-date 2026-03-01 --wait --issue   (approve and issue when drafted)
manage.py bill_run --cycle C01 --bill-date 2026-04-01 --override-reason "..."  (a window whose reads are not in)

Starts (or finds: the same cycle and date is the same run) a bill run whose chunks go to the
Celery workers, or resumes one; with --wait a progress bar follows the run's counters until
its drafts are ready. --in-process does the chunks here instead of on workers."""
from __future__ import annotations

import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from core.actors import Actor
from billing.services import runs
from billing.models import BillCycle, BillRun


class Command(BaseCommand):
    help = "Start, resume and follow a bill run."

    def add_arguments(self, parser):
        parser.add_argument("--cycle", help="Bill cycle code, e.g. C01.")
        parser.add_argument("--bill-date", type=dt.date.fromisoformat, help="The window's bill date, YYYY-MM-DD.")
        parser.add_argument("--resume", type=int, metavar="RUN_ID", help="Queue the chunks of this run not yet done.")
        parser.add_argument("--chunk-size", type=int, default=500)
        parser.add_argument("--override-reason", default="",
                            help="Start a window whose read window has not closed yet, for this reason (kept on the run).")
        parser.add_argument("--wait", action="store_true", help="Show progress until the run's drafts are ready.")
        parser.add_argument("--in-process", action="store_true", help="Do the chunks in this process (no workers).")
        parser.add_argument("--timeout", type=float, default=None, help="Stop waiting after this many seconds.")
        parser.add_argument("--approve", action="store_true", help="Approve the drafts once the run completes.")
        parser.add_argument("--issue", action="store_true", help="Then issue the approved bills (implies --approve).")

    def handle(self, *args, cycle, bill_date, resume, chunk_size, wait, in_process, timeout, approve, issue,
               override_reason="", **options):
        enqueue = not in_process
        try:
            if resume:
                run = BillRun.objects.get(pk=resume)
                if run.status in (BillRun.Status.APPROVING, BillRun.Status.ISSUING) and in_process:
                    # What a killed worker left of the approve / issue, done here.
                    step = runs.bill_run_approve if run.status == BillRun.Status.APPROVING else runs.bill_run_issue
                    kwargs = {} if step is runs.bill_run_approve else {"now": timezone.now()}
                    run = step(bill_run_id=run.pk, actor=Actor.system("bill_run command"), **kwargs)
                    self.stdout.write(f"Run {run.pk}: {run.get_status_display().lower()}.")
                elif run.status in (BillRun.Status.RUNNING, BillRun.Status.QUEUED, BillRun.Status.FAILED,
                                    BillRun.Status.APPROVING, BillRun.Status.ISSUING):
                    queued = runs.bill_run_resume(bill_run_id=run.pk, enqueue=enqueue)
                    self.stdout.write(f"Run {run.pk}: {len(queued)} chunk(s) queued again.")
                else:
                    self.stdout.write(f"Run {run.pk} is {run.get_status_display().lower()}; nothing to resume.")
            else:
                if not (cycle and bill_date):
                    raise CommandError("Give --cycle and --bill-date, or --resume RUN_ID.")
                try:
                    cycle_obj = BillCycle.objects.get(code=cycle)
                except BillCycle.DoesNotExist as exc:
                    raise CommandError(f"No bill cycle {cycle}.") from exc
                run = runs.bill_run_start(cycle=cycle_obj, bill_date=bill_date, now=timezone.now(),
                                          chunk_size=chunk_size, enqueue=enqueue, override_reason=override_reason)
                self.stdout.write(f"Run {run.pk} for {cycle} on {bill_date}: {run.total_accounts} accounts, "
                                  f"status {run.status}.")
        except (runs.BillRunError, BillRun.DoesNotExist) as exc:
            raise CommandError(str(exc)) from exc
        if in_process:
            for number in runs.bill_run_pending_chunks(bill_run_id=run.pk):
                runs.bill_run_chunk_process(bill_run_id=run.pk, chunk_number=number, now=timezone.now())
        if wait or in_process or approve or issue:
            self._follow(run.pk, timeout)
        try:
            run.refresh_from_db()
            if (approve or issue) and run.status == BillRun.Status.DONE:
                # bill_run_approve refuses a run with a failed chunk (CommandError below).
                runs.bill_run_approve(bill_run_id=run.pk, actor=Actor.system("bill_run command"))
                self.stdout.write(f"Run {run.pk} approved.")
            if issue:
                run = runs.bill_run_issue(bill_run_id=run.pk, now=timezone.now(), actor=Actor.system("bill_run command"))
                self.stdout.write(self.style.SUCCESS(f"Run {run.pk} issued."))
        except runs.BillRunError as exc:
            raise CommandError(str(exc)) from exc

    def _follow(self, run_id: int, timeout: float | None) -> None:
        run = BillRun.objects.get(pk=run_id)
        started = time.monotonic()
        with tqdm(total=run.total_accounts, unit="acct", desc=f"Run {run.pk}", file=self.stderr) as bar:
            while True:
                run.refresh_from_db()
                bar.update(run.done_accounts - bar.n)
                bar.set_postfix(bills=run.bills_created, held=run.exceptions, errors=run.errors)
                if run.status != BillRun.Status.RUNNING:
                    break
                if timeout is not None and time.monotonic() - started > timeout:
                    raise CommandError(f"Run {run.pk} still running after {timeout}s; follow it with --resume {run.pk} --wait.")
                time.sleep(0.5)
        self.stdout.write(self.style.SUCCESS(
            f"Run {run.pk} {run.status}: {run.bills_created} bills, {run.exceptions} held, {run.errors} chunk errors; "
            f"seconds per phase {run.timings}."))
