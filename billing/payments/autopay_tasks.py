"""The daily autopay beat task (config/settings.py CELERY_BEAT_SCHEDULE "billing-autopay-debit-file"):
the NACHA debit file for the bills due UTILIS_AUTOPAY_LEAD_DAYS ahead, written into
UTILIS_AUTOPAY_OUTBOX. Imported by BillingConfig.ready so the worker knows the task."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from celery import shared_task
from django.conf import settings

from billing.payments import autopay
from core.actors import Actor
from core.clock import utility_today


def debit_file_write(*, due_date: dt.date, out: Path, actor: Actor) -> autopay.DebitRun:
    """Produce the date's debit file (autopay.autopay_debit_file) and write it to `out`; with
    nothing new the date's latest file is written again, unchanged, and with no file at all
    nothing is written."""
    run = autopay.autopay_debit_file(due_date=due_date, actor=actor)
    if run.content:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(run.content, encoding="ascii", newline="\n")
    return run


@shared_task(name="billing.payments.autopay_tasks.autopay_debit_file_daily")
def autopay_debit_file_daily(**kwargs) -> dict:
    due_date = utility_today() + dt.timedelta(days=settings.UTILIS_AUTOPAY_LEAD_DAYS)
    out = Path(settings.UTILIS_AUTOPAY_OUTBOX) / f"autopay-{due_date:%Y%m%d}.ach"
    run = debit_file_write(due_date=due_date, out=out, actor=Actor.system("autopay"))
    return {"due_date": due_date.isoformat(), "written": bool(run.file), "file": str(out) if run.content else "",
            "entries": run.file.entry_count if run.file else 0, "held": len(run.held)}
