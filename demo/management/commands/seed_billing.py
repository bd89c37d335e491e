"""manage.py seed_billing [--start 2025-01] [--months 24] [--opening-billed-through 2026-01-31]

Demo billing setup, idempotent: bill cycles C01..C20 with one window a month (cycle Cn's
period ends on day n, billed that day), rate schedules for every rate code seed_demo gives
agreements (two versions each: a price change on 2026-01-01), and the default pre-bill rules.
Prices are in the range of an Ontario utility's 2025 tariffs; HST 13% on everything."""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django.core.management.base import BaseCommand
from django.db import transaction

from billing.services import (
    BillWindowSpec,
    RateVersionSpec,
    bill_cycle_ensure,
    bill_windows_create,
    prebill_rules_seed,
    rate_schedule_ensure,
)
from cis.selectors import agreements_in_service_between
from mdm.selectors import billed_through_dates
from mdm.services import billed_through_set_many

CYCLES = 20
PRICE_CHANGE = dt.date(2026, 1, 1)
OFF, MID, ON = "off_peak", "mid_peak", "on_peak"
# Ontario-style TOU: weekdays on-peak 11-17 and mid-peak 7-11, 17-19; otherwise off-peak.
WEEKDAY_HOURS = [OFF] * 7 + [MID] * 4 + [ON] * 6 + [MID] * 2 + [OFF] * 5
TOU_WEEKDAY = [WEEKDAY_HOURS] * 12
TOU_WEEKEND = [[OFF] * 24] * 12

HST = {"kind": "tax", "code": "hst", "params": {"percent": "13"}, "description": "HST"}


def _scale(value: str, factor: str) -> str:
    return str((Decimal(value) * Decimal(factor)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def rates(f: str = "1") -> dict[str, dict]:
    """Rate code -> schedule fields and components; `f` scales every price (the 2026 version)."""
    s = lambda v: _scale(v, f)  # noqa: E731
    return {
        "RES-TIERED": dict(name="Residential tiered", commodity="electric", rate_class="residential", components=[
            {"kind": "fixed", "code": "customer", "params": {"amount": s("24.50")}},
            {"kind": "tiered", "code": "energy", "params": {"tiers": [{"limit": 600, "price": s("0.0930")},
                                                                     {"price": s("0.1100")}]}},
            {"kind": "rider", "code": "delivery", "params": {"price": s("0.0410")}, "description": "Delivery"},
            HST]),
        "RES-TOU": dict(name="Residential time-of-use", commodity="electric", rate_class="residential", components=[
            {"kind": "fixed", "code": "customer", "params": {"amount": s("24.50")}},
            {"kind": "tou_schedule", "code": "periods", "params": {"weekday": TOU_WEEKDAY, "weekend": TOU_WEEKEND}},
            {"kind": "tou", "code": "energy", "params": {"periods": {OFF: s("0.0760"), MID: s("0.1220"), ON: s("0.1580")}}},
            {"kind": "rider", "code": "delivery", "params": {"price": s("0.0410")}, "description": "Delivery"},
            HST]),
        "GS-FLAT": dict(name="General service under 50 kW", commodity="electric", rate_class="commercial", components=[
            {"kind": "fixed", "code": "customer", "params": {"amount": s("38.00")}},
            {"kind": "flat", "code": "energy", "params": {"price": s("0.1050")}},
            {"kind": "rider", "code": "delivery", "params": {"price": s("0.0350")}, "description": "Delivery"},
            HST]),
        "GS-DEMAND": dict(name="General service 50 kW and over", commodity="electric", rate_class="industrial", components=[
            {"kind": "fixed", "code": "customer", "params": {"amount": s("95.00")}},
            {"kind": "flat", "code": "energy", "params": {"price": s("0.0850")}},
            {"kind": "demand", "code": "demand", "params": {"price": s("9.5000")}},
            HST]),
        "WATER-RES": dict(name="Residential water", commodity="water", rate_class="residential", components=[
            {"kind": "fixed", "code": "service", "params": {"amount": s("18.00")}},
            {"kind": "tiered", "code": "volume", "params": {"unit": "m3", "tiers": [{"limit": 15, "price": s("2.1000")},
                                                                                 {"price": s("2.6000")}]}}]),
        "WATER-COM": dict(name="Commercial water", commodity="water", rate_class="commercial", components=[
            {"kind": "fixed", "code": "service", "params": {"amount": s("45.00")}},
            {"kind": "flat", "code": "volume", "params": {"price": s("2.4000"), "unit": "m3"}}]),
        "GAS-RES": dict(name="Residential gas", commodity="gas", rate_class="residential", components=[
            {"kind": "fixed", "code": "customer", "params": {"amount": s("22.00")}},
            {"kind": "tiered", "code": "delivery", "params": {"unit": "m3", "tiers": [{"limit": 30, "price": s("0.2800")},
                                                                                   {"price": s("0.2400")}]}},
            HST]),
        "GAS-COM": dict(name="Commercial gas", commodity="gas", rate_class="commercial", components=[
            {"kind": "fixed", "code": "customer", "params": {"amount": s("70.00")}},
            {"kind": "flat", "code": "delivery", "params": {"price": s("0.2200"), "unit": "m3"}},
            HST]),
        "SEWER-RES": dict(name="Residential sewer", commodity="sewer", rate_class="residential", components=[
            {"kind": "fixed", "code": "sewer", "params": {"amount": s("27.00")}}]),
        "SEWER-COM": dict(name="Commercial sewer", commodity="sewer", rate_class="commercial", components=[
            {"kind": "fixed", "code": "sewer", "params": {"amount": s("64.00")}}]),
        "STREETLIGHT": dict(name="Streetlighting", commodity="streetlight", rate_class="streetlight", components=[
            {"kind": "fixed", "code": "district", "params": {"amount": s("3.2000"), "per": "day"}},
            HST]),
    }


def _month(value: str) -> dt.date:
    year, month = value.split("-")
    return dt.date(int(year), int(month), 1)


def _add_months(day: dt.date, n: int) -> dt.date:
    index = day.month - 1 + n
    return dt.date(day.year + index // 12, index % 12 + 1, 1)


@transaction.atomic
def seed_billing(*, start: dt.date, months: int) -> dict[str, int]:
    counts = {"cycles": 0, "windows": 0, "schedules": 0, "versions": 0, "pre-bill rules": 0}
    for n in range(1, CYCLES + 1):
        cycle, created = bill_cycle_ensure(code=f"C{n:02d}", name=f"Cycle {n}",
                                           description=f"Read around day {n} of the month")
        counts["cycles"] += created
        windows = []
        for m in range(months):
            period_end = _add_months(start, m) + dt.timedelta(days=n - 1)
            windows.append(BillWindowSpec(period_end_date=period_end, bill_date=period_end,
                                          read_window_start=period_end - dt.timedelta(days=3),
                                          read_window_end=period_end - dt.timedelta(days=1), due_days=21))
        counts["windows"] += bill_windows_create(cycle=cycle, windows=windows)
    old, new = rates("1"), rates("1.03")
    for code, spec in old.items():
        _, created, added = rate_schedule_ensure(
            code=code, name=spec["name"], commodity=spec["commodity"], rate_class=spec["rate_class"],
            versions=[
                RateVersionSpec(start_date=dt.date(2020, 1, 1), end_date=PRICE_CHANGE, components=spec["components"],
                                notes="Demo tariff"),
                RateVersionSpec(start_date=PRICE_CHANGE, components=new[code]["components"],
                                notes="Demo tariff, 3% increase"),
            ])
        counts["schedules"] += created
        counts["versions"] += added
    counts["pre-bill rules"] = prebill_rules_seed()
    return counts


EARLIEST = dt.date(1900, 1, 1)


def opening_billed_through_set(*, day: dt.date) -> int:
    """Every service point with an agreement that started by `day` -- in service that day or
    closed before it (a legacy system billed those, final bills included) -- is billed through
    `day`, so a first run bills neither years of history nor a closed agreement again."""
    sps = {a.service_point_id for a in agreements_in_service_between(start=EARLIEST, end=day + dt.timedelta(days=1))}
    known = billed_through_dates(service_point_ids=sps)
    return billed_through_set_many(dates={sp: day for sp in sps if sp not in known})


class Command(BaseCommand):
    help = "Create demo bill cycles and windows, rate schedules for the demo rate codes, and pre-bill rules."

    def add_arguments(self, parser):
        parser.add_argument("--start", type=_month, default=dt.date(2025, 1, 1), help="First month, YYYY-MM.")
        parser.add_argument("--months", type=int, default=24)
        parser.add_argument(
            "--opening-billed-through", type=dt.date.fromisoformat, default=None, metavar="YYYY-MM-DD",
            help="As a conversion would: record in MDM that every service point with an agreement in service "
                 "that day or closed before it was billed through it (points that already have a date keep it), so the first run "
                 "bills from the next day and not from each agreement's start.")

    def handle(self, *args, start, months, opening_billed_through, **options):
        counts = seed_billing(start=start, months=months)
        if opening_billed_through:
            counts["opening billed-through dates"] = opening_billed_through_set(day=opening_billed_through)
        self.stdout.write(self.style.SUCCESS("Created " + ", ".join(f"{v} {k}" for k, v in counts.items()) + "."))
