"""manage.py seed_demo --accounts N --seed S [--if-empty] [--start-date YYYY-MM-DD] [--no-meters | --ami-later]

Loads the deterministic demo utility (demo.utility) and the demo users into an empty database,
then (unless --no-cash) its money: legacy bills, autopay, payment plans, arrears at every
dunning step and a lockbox and a returns file to import (demo.cash), then (unless --no-meters)
meters and 35 days of AMI data through mdm's import (demo.meters).
With --ami-later only the meters: the AMI period is recorded for `manage.py demo_prepare`
(demo.preparation), which `bin/utilis start` runs in the background."""
from __future__ import annotations

import datetime as dt

from core.clock import utility_today
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from demo.cash import demo_cash_seed
from demo.deposits import demo_deposits_seed
from demo.utility.loader import DemoNotEmptyError, demo_is_loaded, demo_utility_seed
from demo.meters import demo_fleet_seed, demo_meters_seed
from demo.preparation import demo_preparation_record

AMI_DAYS = 35


class Command(BaseCommand):
    help = "Load a synthetic utility (customers, premises, service points, accounts, agreements, moves)."

    def add_arguments(self, parser):
        parser.add_argument("--accounts", type=int, default=10_000, help="How many accounts (at least 20).")
        parser.add_argument("--seed", type=int, default=42, help="Same accounts and seed give the same data.")
        parser.add_argument(
            "--if-empty", action="store_true",
            help="Do nothing when accounts already exist (for start-up scripts).",
        )
        parser.add_argument(
            "--start-date", type=dt.date.fromisoformat, default=None,
            help="The demo's 'today' (default: today). History lies before it, pending moves after it.",
        )
        parser.add_argument("--with-meters", dest="with_meters", action="store_true", default=True,
                            help="Also create meters and import 35 days of interval data up to 'today' (default).")
        parser.add_argument("--no-meters", dest="with_meters", action="store_false",
                            help="Customers, premises and accounts only.")
        parser.add_argument("--no-cash", dest="with_cash", action="store_false", default=True,
                            help="No bills, autopay, payment plans, arrears or demo payment files (demo.cash).")
        parser.add_argument("--ami-later", action="store_true",
                            help="Meters now; their AMI data, VEE and a bill run later, by `manage.py demo_prepare`.")

    def handle(self, *args, accounts, seed, if_empty, start_date, with_meters=True, ami_later=False, with_cash=True,
               **options):
        if if_empty and demo_is_loaded():
            self.stdout.write("Accounts already exist; nothing to seed.")
            return
        today = start_date or utility_today()
        try:
            counts = demo_utility_seed(accounts=accounts, seed=seed, today=today, log=self.stdout.write)
        except DemoNotEmptyError as exc:
            raise CommandError(f"{exc} Use --if-empty, or seed a fresh database.") from exc
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(
            "Seeded " + ", ".join(f"{count} {name.replace('_', ' ')}" for name, count in counts.items())
            + f" (seed {seed}, as of {today:%Y-%m-%d})."
        ))
        if with_cash:
            cash = demo_cash_seed(today=today, seed=seed, log=self.stdout.write)
            self.stdout.write("Cash: " + ", ".join(f"{count} {name}" for name, count in cash.items()) + ".")
        demo_deposits_seed(today=today, seed=seed, now=timezone.now(), log=self.stdout.write)
        if with_meters and ami_later:
            positions = demo_fleet_seed(end_date=today, days=AMI_DAYS, seed=seed, log=self.stdout.write)
            demo_preparation_record(positions=positions, end_date=today, days=AMI_DAYS, seed=seed, now=timezone.now())
            self.stdout.write(f"{AMI_DAYS} days of AMI data to import: manage.py demo_prepare.")
        elif with_meters:
            demo_meters_seed(end_date=today, now=timezone.now(), days=AMI_DAYS, seed=seed, workers=2,
                             log=self.stdout.write)
