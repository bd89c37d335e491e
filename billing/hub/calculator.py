"""The bill calculator page: a rate (schedule or URDB file) and a load (pasted numbers or a
CSV), priced month by month with billing.calculator. Saves nothing."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal, InvalidOperation

from django.shortcuts import render
from django.utils import timezone

from billing.calculator import CalculatorError, calculate, parse_holidays, parse_time_zone
from billing.hub.common import VIEWERS
from billing.hub.forms import CalculatorForm
from core.permissions import role_required

SEPARATORS = re.compile(r"[\s,;]+")


def parse_values(text: str) -> list[str]:
    """Numbers typed or pasted: separated by commas, semicolons, spaces or new lines."""
    return [token for token in SEPARATORS.split(text.strip()) if token]


def parse_csv(raw: bytes) -> list[str]:
    """A CSV of interval values: the last column of each row; rows whose last column is not
    a number before the first number (a header) are skipped, later ones are kept so the
    calculator reports them."""
    rows = csv.reader(io.StringIO(raw.decode("utf-8-sig")))
    out: list[str] = []
    for row in rows:
        cells = [c.strip() for c in row if c.strip()]
        if not cells:
            continue
        if not out:
            try:
                Decimal(cells[-1])
            except InvalidOperation:
                continue
        out.append(cells[-1])
    return out


@role_required(*VIEWERS)
def calculator_page(request):
    result = None
    form = CalculatorForm(initial={"interval_minutes": 60, "unit": "kWh",
                                   "rate_schedule": request.GET.get("rate_schedule")})
    if request.method == "POST":
        form = CalculatorForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                if data["rate_schedule"] is not None:
                    rate = data["rate_schedule"]
                elif data["urdb_file"] is not None:
                    rate = data["urdb_file"].read().decode("utf-8")
                else:
                    raise CalculatorError("Choose a rate schedule or upload a URDB file.", field="rate_schedule")
                if data["values_file"] is not None:
                    values = parse_csv(data["values_file"].read())
                else:
                    values = parse_values(data["values"])
                # The form made the typed time aware in UTC (settings.TIME_ZONE); the user
                # typed the utility's local time, which calculate() applies to a naive one.
                start = timezone.make_naive(data["start"], dt.timezone.utc)
                result = calculate(rate=rate, start=start, interval_minutes=data["interval_minutes"], values=values,
                                   values_are_kw=data["unit"] == "kW",
                                   received=parse_values(data["received"]) or None,
                                   time_zone=parse_time_zone(data["time_zone"]),
                                   holidays=parse_holidays(data["holidays"]))
            except CalculatorError as exc:
                field = {"rate": "rate_schedule", "start": "start"}.get(exc.field, exc.field)
                form.add_error(field if field in form.fields else None, str(exc))
            except UnicodeDecodeError:
                form.add_error(None, "The file is not UTF-8 text.")
    return render(request, "billing/hub/calculator.html", {"form": form, "result": result, "tab": "calculator"})
