"""Small, loud readers of the environment. A bad value stops start-up with a clear message."""
from __future__ import annotations

import os
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise ImproperlyConfigured(f"Environment variable {name} is required (see .env.example).")
    return value


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use true/false).")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer.") from exc


def env_decimal(name: str, default: str) -> Decimal:
    """A decimal amount (money: "250.00"), never a float."""
    raw = os.environ.get(name, default)
    try:
        value = Decimal(raw.strip())
    except InvalidOperation as exc:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a decimal amount (e.g. 250.00).") from exc
    if not value.is_finite():
        raise ImproperlyConfigured(f"{name}={raw!r} is not a finite amount.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_zone(name: str, default: str) -> str:
    """An IANA time zone name, checked now so a typo stops start-up, not the first import."""
    import zoneinfo

    value = os.environ.get(name, default)
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ImproperlyConfigured(f"{name}={value!r} is not a time zone (e.g. America/Toronto).") from exc
    return value
