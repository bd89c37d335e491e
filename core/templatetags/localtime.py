"""How instants are written on every page: in the utility's zone (core.clock.utility_zone),
labelled with the zone's abbreviation, one way across the product.

`{% load localtime %}` then `{{ run.created_at|local_datetime }}` -> "2026-03-02 14:05 EST",
`{{ entry.at|local_datetime:"seconds" }}` -> "2026-03-02 14:05:09 EST",
`{{ slot.start|local_time }}` -> "01:45 EDT" (a fall day's repeated hour reads EDT then EST),
`{{ inst.installed_at|local_date }}` -> "2026-03-02" (the local date of an instant).

Stored instants are UTC (settings.TIME_ZONE); a naive datetime is taken as UTC. An empty value
gives "" so `|default:"—"` still works; a plain date is written as a date."""
from __future__ import annotations

import datetime as dt

from django import template

from core.clock import utility_zone

register = template.Library()

DATE_FORMAT = "%Y-%m-%d"
TIME_FORMAT = "%H:%M"


def to_local(value: dt.datetime) -> dt.datetime:
    """The instant in the utility's zone (naive values are UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(utility_zone())


def format_local_datetime(value: object, precision: str = "") -> str:
    """'2026-03-02 14:05 EST' ('seconds' adds the seconds); a date is '2026-03-02'."""
    if value in (None, ""):
        return ""
    if isinstance(value, dt.datetime):
        local = to_local(value)
        clock = TIME_FORMAT + (":%S" if precision == "seconds" else "")
        return local.strftime(f"{DATE_FORMAT} {clock} %Z")
    if isinstance(value, dt.date):
        return value.strftime(DATE_FORMAT)
    return str(value)


# expects_localtime=False: Django must not first shift the value into settings.TIME_ZONE (UTC);
# the filter converts to the utility's zone itself.
@register.filter(expects_localtime=False)
def local_datetime(value: object, precision: str = "") -> str:
    return format_local_datetime(value, precision)


@register.filter(expects_localtime=False)
def local_time(value: object) -> str:
    """'14:05 EST': the clock time of an instant in the utility's zone, labelled."""
    if not isinstance(value, dt.datetime):
        return "" if value in (None, "") else str(value)
    return to_local(value).strftime(f"{TIME_FORMAT} %Z")


@register.filter(expects_localtime=False)
def local_day(value: object) -> str:
    """'Mar 2, 2026' ('2 mars 2026' in French): the utility-zone day of an instant (a date stays
    itself), as people read it in the active language (core.templatetags.formats.day_text)."""
    from core.templatetags.formats import day_text

    if value in (None, ""):
        return ""
    if isinstance(value, dt.datetime):
        return day_text(to_local(value).date())
    if isinstance(value, dt.date):
        return day_text(value)
    return str(value)


@register.filter(expects_localtime=False)
def local_date(value: object) -> str:
    """'2026-03-02': the utility-zone date of an instant (a date stays itself)."""
    if value in (None, ""):
        return ""
    if isinstance(value, dt.datetime):
        return to_local(value).strftime(DATE_FORMAT)
    if isinstance(value, dt.date):
        return value.strftime(DATE_FORMAT)
    return str(value)
