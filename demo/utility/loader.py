"""Writes a generated demo utility into PostgreSQL and is the one call `seed_demo` makes.

The demo is loaded as a legacy-CIS conversion would be: the generator's records go to
cis.services.conversion_load, which checks them, writes each table with COPY (100,000
accounts make about 700,000 rows; per-row saves would take many minutes), orders the pending
moves' reads and records the load in the audit trail under the conversion's name
("seed_demo")."""
from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from cis.services import ConversionNotEmptyError, conversion_load, conversion_target_is_empty
from demo.users import demo_portal_logins_create, demo_users_create
from demo.utility.generator import demo_utility_generate

CONVERSION_NAME = "seed_demo"


class DemoNotEmptyError(Exception):
    """The database already has customers, premises or accounts; the demo fills an empty one."""


def demo_is_loaded() -> bool:
    return not conversion_target_is_empty()


def demo_utility_seed(
    *, accounts: int, seed: int, today: dt.date, log: Callable[[str], None] = lambda line: None,
) -> dict[str, int]:
    """Generate the demo utility and load it, with the demo users. Returns row counts.

    Raises DemoNotEmptyError when customers, premises or accounts already exist (the demo's
    numbers are fixed, so a second load would collide), ValueError on too few accounts."""
    if demo_is_loaded():
        raise DemoNotEmptyError("The database already has customers, premises or accounts.")
    started = time.monotonic()
    demo = demo_utility_generate(accounts=accounts, seed=seed, today=today)
    log(f"generated {len(demo.accounts)} accounts in {time.monotonic() - started:.1f}s")
    with transaction.atomic():
        try:
            result = conversion_load(
                name=CONVERSION_NAME, customers=demo.customers, premises=demo.premises,
                service_points=demo.service_points, accounts=demo.accounts, agreements=demo.agreements,
                moves=demo.moves, into_empty=True, log=log,
            )
        except ConversionNotEmptyError as exc:
            raise DemoNotEmptyError("The database already has customers, premises or accounts.") from exc
        step = time.monotonic()
        demo_users_create()
        portal = demo_portal_logins_create(agreements=demo.agreements, now=timezone.now())
        log(f"demo users in {time.monotonic() - step:.1f}s; portal logins: "
            + "; ".join(f"{email} ({', '.join(numbers)})" for email, numbers in portal))
    log(f"done in {time.monotonic() - started:.1f}s")
    counts = result.counts
    return {
        "customers": counts["customers"], "premises": counts["premises"],
        "service_points": counts["service_points"], "accounts": counts["accounts"],
        "agreements": counts["agreements"], "pending_moves": counts["moves"],
    }
