"""How money, prices, quantities and periods are written on bills and hub pages: one way
everywhere. `{% load formats %}` then `{{ bill.total|money }}`, `{{ line.price|price }}`,
`{{ value|quantity:"kWh" }}`, `{{ bill|period }}` (any object with period_start and an
exclusive period_end: shown as inclusive dates, the end minus one day)."""
from __future__ import annotations

import datetime as dt

from django import template

from core.money import display_language, format_money, format_number, format_price

register = template.Library()

# How a unit is written for people ("m3" is stored, "m³" is read).
UNIT_LABELS = {"m3": "m³", "kwh": "kWh", "kw": "kW", "kva": "kVA", "kvar": "kVAR"}


def unit_label(unit: str | None) -> str:
    unit = (unit or "").strip()
    return UNIT_LABELS.get(unit.lower(), unit)


def quantity_text(value, unit: str | None = "") -> str:
    """'1,234.5 kWh', '12 m³' (at most 3 places)."""
    number = format_number(value)
    if not number:
        return ""
    label = unit_label(unit)
    return f"{number} {label}" if label else number


def last_day(end_exclusive: dt.date) -> dt.date:
    return end_exclusive - dt.timedelta(days=1)


# French month names as Canadian French writes dates ("1er mars 2026", "28 oct. – 19 nov. 2025").
_FR_MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
              "octobre", "novembre", "décembre")
_FR_MONTHS_SHORT = ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juill.", "août", "sept.", "oct.", "nov.",
                    "déc.")


def _fr_day(day: int) -> str:
    return "1er" if day == 1 else str(day)


def day_text(value: dt.date | None, *, locale: str | None = None) -> str:
    """A date as people read it: 'Mar 22, 2026'; in French '22 mars 2026' ('1er mars 2026')."""
    if value is None:
        return ""
    if display_language(locale) == "fr":
        return f"{_fr_day(value.day)} {_FR_MONTHS[value.month - 1]} {value.year}"
    return f"{value:%b} {value.day}, {value.year}"


def inclusive_period(start: dt.date, end_exclusive: dt.date, *, locale: str | None = None) -> str:
    """A half-open [start, end) period as people read it: 'Oct 28 – Nov 19, 2025', or with both
    years when it spans two ('Dec 28, 2025 – Jan 27, 2026'); one day is 'Nov 19, 2025'. In
    French '28 oct. – 19 nov. 2025', '28 déc. 2025 – 27 janv. 2026'."""
    end = last_day(end_exclusive)
    if display_language(locale) == "fr":
        def short(d: dt.date) -> str:
            return f"{_fr_day(d.day)} {_FR_MONTHS_SHORT[d.month - 1]}"
        if end <= start:
            return f"{short(start)} {start.year}"
        if start.year == end.year:
            return f"{short(start)} – {short(end)} {end.year}"
        return f"{short(start)} {start.year} – {short(end)} {end.year}"
    if end <= start:
        return f"{start:%b} {start.day}, {start.year}"
    if start.year == end.year:
        return f"{start:%b} {start.day} – {end:%b} {end.day}, {end.year}"
    return f"{start:%b} {start.day}, {start.year} – {end:%b} {end.day}, {end.year}"


@register.filter(name="day")
def day_filter(value) -> str:
    """`{{ bill.due_date|day }}`: the date in the active language (see `day_text`)."""
    return day_text(value)


@register.filter(name="money")
def money_filter(value) -> str:
    return format_money(value)


@register.filter(name="price")
def price_filter(value) -> str:
    return format_price(value)


@register.filter(name="quantity")
def quantity_filter(value, unit: str = "") -> str:
    return quantity_text(value, unit)


@register.filter(name="unit")
def unit_filter(unit: str) -> str:
    return unit_label(unit)


@register.filter(name="period")
def period_filter(obj) -> str:
    """`{{ bill|period }}` / `{{ segment|period }}`: its [period_start, period_end) inclusive."""
    start, end = getattr(obj, "period_start", None), getattr(obj, "period_end", None)
    if start is None or end is None:
        return ""
    return inclusive_period(start, end)


@register.filter(name="period_days")
def period_days_filter(obj) -> int:
    start, end = getattr(obj, "period_start", None), getattr(obj, "period_end", None)
    return (end - start).days if start and end else 0
