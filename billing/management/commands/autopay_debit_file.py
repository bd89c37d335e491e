"""Produce the NACHA PPD debit file for the bills due on a date (docs/payments.md, "Autopay"):

    manage.py autopay_debit_file --due-date 2026-03-02 --out /srv/ach/autopay-20260302.ach

Each debit is posted as a pending autopay payment; run again for the same date it adds nothing
and writes the date's file again, unchanged."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from billing.payments.autopay import AutopayError
from billing.payments.autopay_tasks import debit_file_write
from core.actors import Actor


class Command(BaseCommand):
    help = "Write the NACHA PPD autopay debit file for the bills due on a date."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--due-date", required=True, help="YYYY-MM-DD: the bills' due date (the effective entry date).")
        parser.add_argument("--out", required=True, help="Path of the file to write.")

    def handle(self, *args, **options) -> None:
        try:
            due_date = dt.date.fromisoformat(options["due_date"])
        except ValueError as exc:
            raise CommandError(f"--due-date {options['due_date']!r} is not a date (YYYY-MM-DD).") from exc
        out = Path(options["out"])
        try:
            run = debit_file_write(due_date=due_date, out=out, actor=Actor.system("autopay_debit_file"))
        except AutopayError as exc:
            raise CommandError(str(exc)) from exc
        if run.file is not None:
            self.stdout.write(f"Wrote {out}: file {run.file.file_id_modifier}, {run.file.entry_count} debit(s), "
                              f"total {run.file.total_amount}; {len(run.held)} held for review.")
        elif run.content:
            self.stdout.write(f"Nothing new due {due_date}: wrote the date's file again to {out}.")
        else:
            self.stdout.write(f"No autopay debits due {due_date}: nothing written.")
