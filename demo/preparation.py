"""The demo's preparation in the background, so that `bin/utilis start` is usable within minutes.

The start command's blocking part loads what the hubs need (customers, accounts, service
points, meters, bill cycles and rates: `seed_demo --ami-later` records the AMI period here);
`manage.py demo_prepare`, started in the background, then imports the 35 days of AMI data day by
day through mdm's import path, queues one VEE run per day on the workers, and once they are
validated starts one cycle's bill run. Run again (the next start), it finishes what was cut off.
What is left shows on the start banner and the hubs (core.background, registered in DemoConfig)."""
from __future__ import annotations

import datetime as dt
import io
import time
from collections.abc import Callable

from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import transaction

from billing.selectors import bill_runs_with_progress
from core.background import PreparationStep, run_progress_of, runs_requeue, runs_unfinished_of
from demo.meters import Position, demo_ami_seed, demo_fleet_positions
from demo.models import DemoPreparation
from mdm.services import channels_with_data, vee_run_submit

DAY = dt.timedelta(days=1)
VEE_KIND, BILL_RUN_KIND = "mdm.vee", "billing.bill_run"
LAST_CYCLE_DAY = 20  # cycle N bills on day N (1-20) of each month (demo.management seed_billing)


def demo_preparation_record(*, positions: list[Position], end_date: dt.date, days: int, seed: int,
                            now: dt.datetime) -> DemoPreparation:
    """Remember the AMI period that the background is to import for these meters (their
    service points: the plan is rebuilt from them, demo.meters.demo_fleet_positions) and the
    bill run that follows (demo_bill_run_target of the period's end, the demo's today)."""
    prep, _ = DemoPreparation.objects.update_or_create(pk=1, defaults={
        "seed": seed, "ami_end_date": end_date, "ami_days": days, "ami_days_done": 0,
        "service_point_ids": [p.service_point_id for p in positions], "vee_run_ids": [],
        "created_at": now, "finished_at": None, "bill_run_id": None,
    })
    prep.bill_cycle_code, prep.bill_date = demo_bill_run_target(today=end_date)
    prep.save(update_fields=["bill_cycle_code", "bill_date"])
    return prep


def demo_bill_run_target(*, today: dt.date) -> tuple[str, dt.date]:
    """The latest cycle whose bill date has passed: cycle N bills on day N (1-20), so
    yesterday's day of the month names it (capped at 20; on the 1st, last month's C20)."""
    yesterday = today - DAY
    day = min(yesterday.day, LAST_CYCLE_DAY)
    return f"C{day:02d}", yesterday.replace(day=day)


def demo_prepare(*, now_fn: Callable[[], dt.datetime], today: dt.date, workers: int = 1, poll_seconds: float = 5.0,
                 timeout_seconds: float = 3 * 3600, log: Callable[[str], None] = lambda line: None) -> DemoPreparation:
    """Finish the demo's preparation: import the AMI days not imported yet (each day, once both
    files are in, gets a VEE run on the workers), queue again the demo's runs left unfinished by
    an earlier start, wait for the VEE runs, start the bill run of `today`'s target cycle, wait
    for it, and mark the preparation finished."""
    prep = DemoPreparation.objects.filter(pk=1).first()
    if prep is None:
        # A demo seeded with its AMI data in one go (seed_demo without --ami-later, or before
        # this existed): nothing to import, only the bill run that every start queues.
        prep = DemoPreparation.objects.create(pk=1, seed=0, ami_end_date=today, ami_days=0, created_at=now_fn())
    cycle_code, bill_date = demo_bill_run_target(today=today)
    if (prep.bill_cycle_code, prep.bill_date) != (cycle_code, bill_date):
        prep.bill_cycle_code, prep.bill_date, prep.bill_run_id, prep.finished_at = cycle_code, bill_date, None, None
        prep.save(update_fields=["bill_cycle_code", "bill_date", "bill_run_id", "finished_at"])
    if prep.finished_at is not None:
        log("The demo is prepared.")
        return prep

    # An earlier start's runs whose queued messages may be gone with its Redis.
    lost = runs_unfinished_of(kind_label=VEE_KIND, run_ids=prep.vee_run_ids)
    if lost:
        runs_requeue(kind_label=VEE_KIND, run_ids=lost, now=now_fn())
        log(f"queued again {len(lost)} VEE run(s) an earlier start left unfinished")
    if prep.bill_run_id and runs_unfinished_of(kind_label=BILL_RUN_KIND, run_ids=[prep.bill_run_id]):
        runs_requeue(kind_label=BILL_RUN_KIND, run_ids=[prep.bill_run_id], now=now_fn())

    if prep.ami_days_done < prep.ami_days:
        _ami_import(prep, now_fn=now_fn, workers=workers, log=log)

    deadline = time.monotonic() + timeout_seconds
    _wait(lambda: runs_unfinished_of(kind_label=VEE_KIND, run_ids=prep.vee_run_ids), "VEE runs", deadline,
          poll_seconds, log)
    if prep.bill_run_id is None:
        _bill_run_start(prep, log=log)
    if prep.bill_run_id is not None:
        _wait(lambda: runs_unfinished_of(kind_label=BILL_RUN_KIND, run_ids=[prep.bill_run_id]), "bill run", deadline,
              poll_seconds, log)
    prep.finished_at = now_fn()
    prep.save(update_fields=["finished_at"])
    log("The demo is prepared.")
    return prep


def _ami_import(prep: DemoPreparation, *, now_fn: Callable[[], dt.datetime], workers: int,
                log: Callable[[str], None]) -> None:
    positions = demo_fleet_positions(service_point_ids=prep.service_point_ids, end_date=prep.ami_end_date,
                                     days=prep.ami_days, seed=prep.seed)
    start = prep.ami_start_date

    def day_imported(day: dt.date, loaded: bool) -> None:
        index = (day - start).days
        if index < prep.ami_days_done:
            return  # imported and handed to VEE by an earlier start
        with transaction.atomic():
            channels = channels_with_data(start_date=day, end_date=day + DAY)
            if channels:
                run = vee_run_submit(channel_ids=channels, start_date=day, end_date=day + DAY,
                                     scope=f"demo AMI {day:%Y-%m-%d}", now=now_fn())
                prep.vee_run_ids = [*prep.vee_run_ids, run.pk]
            prep.ami_days_done = index + 1
            prep.save(update_fields=["vee_run_ids", "ami_days_done"])
        log(f"AMI day {day:%Y-%m-%d} imported ({prep.ami_days_done} of {prep.ami_days}); VEE queued")

    # One VEE run per day, queued here once the day is in: not one per file from the import.
    vee_after_import = settings.UTILIS_VEE_AFTER_IMPORT
    settings.UTILIS_VEE_AFTER_IMPORT = False
    try:
        demo_ami_seed(positions=positions, end_date=prep.ami_end_date, now=now_fn(), days=prep.ami_days,
                      seed=prep.seed, workers=workers, on_day_imported=day_imported, log=log)
    finally:
        settings.UTILIS_VEE_AFTER_IMPORT = vee_after_import


def _bill_run_start(prep: DemoPreparation, *, log: Callable[[str], None]) -> None:
    """Billing's own command, as an operator would run it: the same cycle and date is one run
    however often this is called."""
    out = io.StringIO()
    try:
        call_command("bill_run", "--cycle", prep.bill_cycle_code, "--bill-date", prep.bill_date.isoformat(), stdout=out)
    except CommandError as exc:
        log(f"bill run {prep.bill_cycle_code} on {prep.bill_date} not started: {exc}")
        return
    log(out.getvalue().strip())
    run = next((r for r in bill_runs_with_progress(cycle_code=prep.bill_cycle_code, limit=20)
                if r.bill_date == prep.bill_date), None)
    if run is not None:
        prep.bill_run_id = run.pk
        prep.save(update_fields=["bill_run_id"])


def _wait(unfinished: Callable[[], list[int]], what: str, deadline: float, poll_seconds: float,
          log: Callable[[str], None]) -> None:
    last = None
    while True:
        left = unfinished()
        if not left:
            return
        if len(left) != last:
            log(f"waiting for {len(left)} {what}")
            last = len(left)
        if time.monotonic() > deadline:
            log(f"gave up waiting for {len(left)} {what}")
            return
        time.sleep(poll_seconds)


def demo_preparation_steps() -> list[PreparationStep]:
    """What the demo still prepares (a core.background source): nothing once finished."""
    prep = DemoPreparation.objects.filter(pk=1, finished_at__isnull=True).first()
    if prep is None:
        return []
    steps = []
    if prep.ami_days_done < prep.ami_days:
        steps.append(PreparationStep("demo AMI data", f"{prep.ami_days_done} of {prep.ami_days} days imported",
                                     prep.ami_days_done, prep.ami_days))
    vee_left = len(runs_unfinished_of(kind_label=VEE_KIND, run_ids=prep.vee_run_ids))
    validated = len(prep.vee_run_ids) - vee_left
    if vee_left or prep.ami_days_done < prep.ami_days:
        steps.append(PreparationStep("VEE runs", f"{validated} of {prep.ami_days} days validated",
                                     validated, prep.ami_days))
    if prep.bill_run_id is None:
        when = f"{prep.bill_cycle_code} for {prep.bill_date:%Y-%m-%d}" if prep.bill_date else "one cycle"
        steps.append(PreparationStep("bill run", f"{when}: starts once the data is validated"))
    elif runs_unfinished_of(kind_label=BILL_RUN_KIND, run_ids=[prep.bill_run_id]):
        done, total = run_progress_of(kind_label=BILL_RUN_KIND, run_id=prep.bill_run_id) or (0, 0)
        steps.append(PreparationStep("bill run", f"{prep.bill_cycle_code}: {done} of {total} accounts", done, total))
    return steps
