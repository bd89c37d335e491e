"""Rate schedules in the hub: the list, one schedule with its versions and each component
shown readably (tiers as tables, TOU schedules as coloured 12 x 24 grids), a new version
copied from the current one, and URDB import by upload."""
from __future__ import annotations

import datetime as dt
import json

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render

from billing import selectors
from billing.hub.common import STAFF, form_errors, local_today, request_now
from billing.rating.components import component_errors, schema_document
from billing.hub.forms import ScheduleForm, UrdbImportForm, VersionForm
from billing.models import RateSchedule
from billing.services.rates import RateError, rate_schedule_create, rate_schedule_import_urdb, rate_version_supersede
from core.permissions import role_required

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
# Distinct, print-safe fills for TOU periods (text stays dark on all of them).
PALETTE = ["#cfe3f7", "#ffd9a8", "#f7b9b3", "#c9ebd0", "#e3d3f5", "#fff1a8", "#d6dde6", "#b9e4ec"]


def _value(value) -> str:
    if isinstance(value, dict) and set(value) == {"by_month"}:
        table = value["by_month"]
        return "by month: " + ", ".join(f"{MONTHS[int(m) - 1]} {_value(v)}" for m, v in sorted(
            table.items(), key=lambda kv: int(kv[0])))
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(", ", ": "))
    return str(value)


def _tiers(raw) -> list[dict]:
    """[{limit, price}] or a bare price -> rows 'block, up to, price'."""
    if not isinstance(raw, list):
        return [{"block": 1, "limit": "no limit", "price": _value(raw)}]
    return [{"block": i, "limit": _value(t["limit"]) if t.get("limit") is not None else "no limit",
             "price": _value(t.get("price"))} for i, t in enumerate(raw, 1)]


def _grid(rows: list[list[str]], colours: dict[str, str]) -> list[dict]:
    return [{"month": MONTHS[m], "cells": [{"name": name, "colour": colours[name]} for name in row]}
            for m, row in enumerate(rows)]


def component_view(data: dict) -> dict:
    """One stored component as the rate page shows it. Pure."""
    params = dict(data.get("params") or {})
    view = {"kind": data["kind"], "code": data["code"], "description": data.get("description", ""),
            "tags": data.get("tags", []), "facts": [], "tiers": [], "grids": [], "legend": []}
    kind = data["kind"]
    if kind == "tou_schedule":
        names = list(dict.fromkeys(n for grid in ("weekday", "weekend") for row in params[grid] for n in row))
        colours = {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(names)}
        view["legend"] = [{"name": n, "colour": colours[n]} for n in names]
        view["grids"] = [{"label": "Weekdays", "rows": _grid(params["weekday"], colours)},
                         {"label": "Weekends and holidays", "rows": _grid(params["weekend"], colours)}]
        return view
    if kind in ("tou", "tou_demand"):
        for period, raw in params.pop("periods", {}).items():
            for tier in _tiers(raw):
                view["tiers"].append({"period": period, **tier})
    elif "tiers" in params:
        raw = params.pop("tiers")
        if isinstance(raw, dict) and set(raw) == {"by_month"}:
            for month, tiers in sorted(raw["by_month"].items(), key=lambda kv: int(kv[0])):
                for tier in _tiers(tiers):
                    view["tiers"].append({"period": MONTHS[int(month) - 1], **tier})
        else:
            view["tiers"] = [{"period": "", **t} for t in _tiers(raw)]
    view["facts"] = [(key.replace("_", " "), _value(value)) for key, value in params.items()]
    return view


def version_view(version, today: dt.date) -> dict:
    return {"version": version, "components": [component_view(c) for c in version.components],
            "current": version.start_date <= today and (version.end_date is None or today < version.end_date)}


@role_required(*STAFF)
def rate_list(request):
    schedules = selectors.rate_schedules_with_version_counts()
    return render(request, "billing/hub/rates.html", {
        "schedules": schedules, "import_form": UrdbImportForm(), "schedule_form": ScheduleForm(), "tab": "rates",
    })


@role_required(*STAFF)
def rate_create(request):
    """A new, empty schedule; its first version is added on its page."""
    if request.method != "POST":
        return redirect("billing:rates")
    form = ScheduleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Not created: " + form_errors(form))
        return redirect("billing:rates")
    try:
        schedule = rate_schedule_create(**form.cleaned_data)
    except RateError as exc:
        messages.error(request, f"Not created: {exc}")
        return redirect("billing:rates")
    messages.success(request, f"Rate schedule {schedule.code} created: add its first version below.")
    return redirect("billing:rate", schedule_id=schedule.pk)


@role_required(*STAFF)
def rate_detail(request, schedule_id: int):
    try:
        schedule = selectors.rate_schedule_get(schedule_id=schedule_id)
    except RateSchedule.DoesNotExist:
        raise Http404(f"No rate schedule {schedule_id}.") from None
    today = local_today(request_now())
    versions = [version_view(v, today) for v in schedule.versions.order_by("-start_date")]
    latest = schedule.versions.order_by("-start_date").first()
    form = VersionForm(initial={
        "start_date": today + dt.timedelta(days=1),
        "components": latest.components if latest else [],
    })
    errors: list[dict[str, str]] = []
    if request.method == "POST":
        form = VersionForm(request.POST)
        if form.is_valid():
            components = form.cleaned_data["components"]
            errors = version_errors(components)
            if any(errors):
                count = sum(len(e) for e in errors)
                messages.error(request, f"Version not added: {count} field{'s' if count != 1 else ''} to correct: "
                               + "; ".join(f"component {i} ({(components[i - 1] or {}).get('code') or 'no code'}): "
                                           + "; ".join(e.values()) for i, e in enumerate(errors, 1) if e))
            else:
                try:
                    version = rate_version_supersede(
                        schedule=schedule, start_date=form.cleaned_data["start_date"],
                        end_date=form.cleaned_data["end_date"], components=components,
                        notes=form.cleaned_data["notes"],
                    )
                except RateError as exc:
                    messages.error(request, f"Version not added: {exc}")
                else:
                    messages.success(request, f"Version from {version.start_date} added to {schedule.code}.")
                    return redirect("billing:rate", schedule_id=schedule.pk)
        else:
            messages.error(request, "Version not added: " + form_errors(form))
    return render(request, "billing/hub/rate.html", {
        "schedule": schedule, "versions": versions, "form": form, "tab": "rates", "hours": range(24),
        "rate_schema": schema_document(), "component_errors": errors,
    })


def version_errors(components) -> list[dict[str, str]]:
    """Per component, {field path: message} (empty when it is usable), plus what only the
    version as a whole can get wrong: repeated codes, TOU prices for periods no schedule of
    the version has. Pure."""
    if not isinstance(components, list):
        return [{"component": "components must be a list of components"}]
    errors = [component_errors(c) for c in components]
    codes = [c.get("code") for c in components if isinstance(c, dict)]
    schedule_periods = {
        name
        for c in components if isinstance(c, dict) and c.get("kind") == "tou_schedule"
        for grid in ("weekday", "weekend") for row in (c.get("params") or {}).get(grid) or [] if isinstance(row, list)
        for name in row if isinstance(name, str)
    }
    for index, component in enumerate(components):
        if not isinstance(component, dict):
            continue
        if component.get("code") and codes.count(component["code"]) > 1:
            errors[index].setdefault("code", f"code {component['code']!r} is used by another component of this version")
        periods = (component.get("params") or {}).get("periods")
        if component.get("kind") in ("tou", "tou_demand") and isinstance(periods, dict) and "periods" not in errors[index]:
            if not schedule_periods:
                errors[index]["periods"] = "periods need a TOU schedule component in this version"
            for name in periods:
                if schedule_periods and name not in schedule_periods:
                    errors[index][f"periods[{name}]"] = (
                        f"periods[{name}] is not a period of this version's TOU schedule "
                        f"({', '.join(sorted(schedule_periods))})")
    return errors


@role_required(*STAFF)
def rate_import(request):
    if request.method != "POST":
        return redirect("billing:rates")
    form = UrdbImportForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "Not imported: " + form_errors(form))
        return redirect("billing:rates")
    try:
        text = form.cleaned_data["file"].read().decode("utf-8")
        schedule = rate_schedule_import_urdb(
            doc=text, code=form.cleaned_data["code"] or None, effective_start=form.cleaned_data["start_date"],
            effective_end=form.cleaned_data["end_date"],
        )
    except UnicodeDecodeError:
        messages.error(request, "Not imported: the file is not UTF-8 text.")
        return redirect("billing:rates")
    except RateError as exc:
        messages.error(request, f"Not imported: {exc}")
        return redirect("billing:rates")
    messages.success(request, f"Imported {schedule.code} ({schedule.name}).")
    return redirect("billing:rate", schedule_id=schedule.pk)
