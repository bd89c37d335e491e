"""Every instant a page shows is in the utility's zone and labelled (issue 9): a template that
writes a datetime field (`*_at`, `as_of`, an audit entry's `at`) must pass it through the
localtime filters (core/templatetags/localtime.py). Machine-readable attributes
(`<time datetime="{{ x|date:'c' }}">`) are exempt: browsers read them, people do not."""
from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
VARIABLE = re.compile(r"\{\{\s*(.*?)\s*\}\}")
INSTANT = re.compile(r"(^|\.)(\w+_at|at|as_of|retry_at)$")
LOCAL = ("local_datetime", "local_time", "local_date", "local_day")


def _templates():
    for path in ROOT.rglob("*.html"):
        parts = path.relative_to(ROOT).parts
        if parts[0].startswith(".") or "node_modules" in parts or parts[0] in ("static", "docs"):
            continue
        if "templates" in parts:
            yield path


def unlabelled_instants(text: str) -> list[str]:
    found = []
    for match in VARIABLE.finditer(text):
        expression = match.group(1)
        variable, *filters = [p.strip() for p in expression.split("|")]
        if not INSTANT.search(variable):
            continue
        if any(f.split(":")[0] in LOCAL for f in filters):
            continue
        before = text[max(0, match.start() - 12):match.start()]
        if 'datetime="' in before and any(f.startswith("date:") for f in filters):
            continue
        found.append(expression)
    return found


def test_the_check_finds_an_unlabelled_instant_and_passes_a_labelled_one():
    assert unlabelled_instants("{{ run.created_at }} {{ e.at|date:'H:i' }}") == ["run.created_at", "e.at|date:'H:i'"]
    assert unlabelled_instants("{{ run.created_at|local_datetime }} {{ slot.start_at|local_time }}") == []
    assert unlabelled_instants('<time datetime="{{ retry_at|date:\'c\' }}">') == []


def test_no_template_shows_an_instant_without_the_localtime_filters():
    offenders = {str(p.relative_to(ROOT)): found for p in _templates() if (found := unlabelled_instants(p.read_text()))}
    assert offenders == {}


def test_local_day_is_the_day_in_the_utility_zone_in_the_active_language():
    import datetime as dt

    from django.utils import translation

    from core.clock import utility_zone
    from core.templatetags.formats import day_text
    from core.templatetags.localtime import local_day

    instant = dt.datetime(2026, 3, 2, 2, 30, tzinfo=dt.timezone.utc)  # evening of March 1 west of UTC
    local = instant.astimezone(utility_zone()).date()
    assert local_day(instant) == day_text(local)
    if utility_zone().utcoffset(instant.replace(tzinfo=None)) < dt.timedelta(0):
        assert local_day(instant) == "Mar 1, 2026"  # not the UTC date
    with translation.override("fr"):
        assert local_day(dt.date(2026, 3, 1)) == "1er mars 2026"
    assert local_day(None) == "" and local_day(dt.date(2026, 3, 22)) == "Mar 22, 2026"
