"""What the meter_* commands share: the operator and reason they record, and the times and
reads they take (a time without an offset is the utility's local time)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from core.actors import Actor
from core.clock import utility_zone


def add_actor_options(parser) -> None:
    parser.add_argument("--user", default="", help="Username of the operator doing this (recorded in the audit "
                                                   "trail); default: the system, named after the command.")


def actor_for(*, command: str, username: str, reason: str) -> Actor:
    if not username:
        return Actor.system(f"manage.py {command}", reason=reason)
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"There is no user {username!r}.")
    return Actor.of(user, reason)


def instant(value: str, *, option: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise CommandError(f"{option}: {value!r} is not a time such as 2026-03-10T14:30 or "
                           "2026-03-10T14:30:00-05:00.") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=utility_zone())


def register_read(value: str | None, *, option: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        read = Decimal(value)
    except InvalidOperation:
        raise CommandError(f"{option}: {value!r} is not a number.") from None
    if not read.is_finite():
        raise CommandError(f"{option}: {value!r} is not a number.")
    return read
