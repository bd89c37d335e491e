"""manage.py unbilled_revenue --as-of 2026-03-31

Usage since each agreement's last bill up to the date, priced at current rates, by rate class."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.management.base import BaseCommand

from billing.unbilled import unbilled_revenue


class Command(BaseCommand):
    help = "Report unbilled revenue as of a date, summed by rate class."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", type=dt.date.fromisoformat, required=True, help="YYYY-MM-DD (exclusive).")

    def handle(self, *args, as_of, **options):
        rows = unbilled_revenue(as_of=as_of)
        self.stdout.write(f"Unbilled revenue as of {as_of} (usage before that date)")
        self.stdout.write(f"{'rate class':<20}{'agreements':>12}{'consumption':>18}{'amount':>16}{'not priced':>12}")
        for r in rows:
            self.stdout.write(f"{r.rate_class:<20}{r.agreements:>12}{r.consumption:>18.3f}{r.amount:>16.2f}{r.not_priced:>12}")
        total = sum((r.amount for r in rows), Decimal(0))
        self.stdout.write(f"{'total':<20}{sum(r.agreements for r in rows):>12}{'':>18}{total:>16.2f}")
