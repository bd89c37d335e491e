"""Billing Hub rate pages (list, URDB upload, a schedule's versions shown readably, a new
version copied from the current one) and the calculator page (pasted values or a CSV)."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile

from billing.hub.calculator import parse_csv, parse_values
from billing.hub.rates import component_view
from billing.models import RateSchedule, RateVersion
from billing.services.rates import rate_schedule_create, rate_version_add
from conftest import PASSWORD

pytestmark = pytest.mark.django_db

URDB = Path("/work/shared/standards/urdb")
TIERED = [{"kind": "fixed", "code": "customer", "params": {"amount": "10.00"}, "description": "Customer charge"},
          {"kind": "tiered", "code": "energy", "params": {"tiers": [{"limit": 500, "price": "0.10"}, {"price": "0.20"}]}}]


@pytest.fixture
def staff(client, billing_user):
    client.login(username=billing_user.username, password=PASSWORD)
    return client


def said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_uploading_a_pysam_urdb_file_imports_it_and_shows_its_tou_grids(staff):
    upload = SimpleUploadedFile("tariff.json", (URDB / "pysam_urdb_rate_618940545457a35a1c4097ec.json").read_bytes())
    response = staff.post("/billing/rates/import/", {"file": upload, "code": "RE-TOU"})
    schedule = RateSchedule.objects.get(code="RE-TOU")
    assert response["Location"] == f"/billing/rates/{schedule.pk}/"
    page = staff.get(response["Location"]).content.decode()
    # Two 12 x 24 grids (weekday, weekend) for energy periods: 576 coloured cells.
    assert page.count('<td style="background: ') == 576
    assert "Weekends and holidays" in page and "5.71" in page
    assert "RE-TOU" in staff.get("/billing/rates/").content.decode()


def test_a_bad_upload_is_refused_with_the_reason(staff):
    upload = SimpleUploadedFile("t.json", b'{"label": "x", "coincidentratestructure": [[{"rate": 1}]]}')
    response = staff.post("/billing/rates/import/", {"file": upload})
    assert said(response)[0].startswith("Not imported: URDB tariff uses unsupported features: coincidentratestructure")
    assert not RateSchedule.objects.exists()


def test_component_view_shows_tiers_and_seasonal_values():
    view = component_view({"kind": "tiered", "code": "energy",
                           "params": {"tiers": [{"limit": 500, "price": "0.10"}, {"price": "0.20"}], "unit": "kWh"}})
    assert view["tiers"] == [{"period": "", "block": 1, "limit": "500", "price": "0.10"},
                             {"period": "", "block": 2, "limit": "no limit", "price": "0.20"}]
    assert view["facts"] == [("unit", "kWh")]
    seasonal = component_view({"kind": "fixed", "code": "c", "params": {"amount": {"by_month": {"2": "5", "1": "4"}}}})
    assert seasonal["facts"] == [("amount", "by month: Jan 4, Feb 5")]


def test_adding_a_version_copies_components_and_ends_the_current_one(staff):
    schedule = rate_schedule_create(code="RES", name="Residential")
    first = rate_version_add(schedule=schedule, start_date=dt.date(2025, 1, 1), components=TIERED)
    page = staff.get(f"/billing/rates/{schedule.pk}/").content.decode()
    assert "&quot;tiered&quot;" in page  # the form is prefilled with the current components
    changed = [TIERED[0], {**TIERED[1], "params": {"tiers": [{"limit": 500, "price": "0.11"}, {"price": "0.22"}]}}]
    response = staff.post(f"/billing/rates/{schedule.pk}/", {"start_date": "2026-05-01", "components": json.dumps(changed),
                                                             "notes": "2026 rates"})
    assert response.status_code == 302
    first.refresh_from_db()
    new = RateVersion.objects.get(schedule=schedule, start_date=dt.date(2026, 5, 1))
    assert first.end_date == dt.date(2026, 5, 1) and new.components[1]["params"]["tiers"][0]["price"] == "0.11"


def test_an_overlapping_version_is_refused_on_the_page(staff):
    schedule = rate_schedule_create(code="RES", name="Residential")
    rate_version_add(schedule=schedule, start_date=dt.date(2025, 1, 1), end_date=dt.date(2026, 1, 1), components=TIERED)
    rate_version_add(schedule=schedule, start_date=dt.date(2026, 6, 1), components=TIERED)
    response = staff.post(f"/billing/rates/{schedule.pk}/", {"start_date": "2026-03-01", "end_date": "2026-07-01",
                                                             "components": json.dumps(TIERED)})
    assert response.status_code == 200
    assert "Version not added: RES: [2026-03-01, 2026-07-01) overlaps" in response.content.decode()
    assert schedule.versions.count() == 2


def test_parsing_pasted_values_and_csv():
    assert parse_values("1, 2;3\n4.5  6") == ["1", "2", "3", "4.5", "6"]
    assert parse_csv(b"time,kwh\n2026-04-01 00:00,1.5\n2026-04-01 01:00,2\n") == ["1.5", "2"]


def test_calculator_page_prices_pasted_values(staff):
    schedule = rate_schedule_create(code="RES", name="Residential")
    rate_version_add(schedule=schedule, start_date=dt.date(2025, 1, 1), components=TIERED)
    # April 2026, 30 days at 1 kWh an hour = 720 kWh: 500 x 0.10 + 220 x 0.20 + 10.00 = 104.00
    response = staff.post("/billing/calculator/", {
        "rate_schedule": schedule.pk, "start": "2026-04-01T00:00", "interval_minutes": 60, "unit": "kWh",
        "values": ",".join(["1"] * 720),
    })
    page = response.content.decode()
    assert 'data-testid="month-total">$104.00<' in page
    assert not RateVersion.objects.exclude(schedule=schedule).exists()


def test_calculator_page_reads_a_csv_and_reports_bad_values(staff):
    schedule = rate_schedule_create(code="RES", name="Residential")
    rate_version_add(schedule=schedule, start_date=dt.date(2025, 1, 1), components=TIERED)
    csv = "start,kwh\n" + "".join(f"2026-04-01 {h:02d}:00,2\n" for h in range(24))
    form = {"rate_schedule": schedule.pk, "start": "2026-04-01T00:00", "interval_minutes": 60, "unit": "kWh"}
    page = staff.post("/billing/calculator/", {**form, "values_file": SimpleUploadedFile("load.csv", csv.encode())})
    # One day of a 30-day standard month: 48 kWh; block 1 is 500/30 = 16.666667 kWh x 0.10 = 1.67,
    # 31.333333 kWh x 0.20 = 6.27; customer charge 10.00 / 30 = 0.33; total 8.27.
    assert 'data-testid="month-total">$8.27<' in page.content.decode()
    bad = staff.post("/billing/calculator/", {**form, "values": "1, two, 3"}).content.decode()
    assert "Value 2 (&#x27;two&#x27;) is not a number." in bad
    seven = staff.post("/billing/calculator/", {**form, "interval_minutes": 7, "values": "1"}).content.decode()
    assert "Select a valid choice" in seven


def test_version_form_shows_components_one_grid_row_per_line():
    from billing.hub.forms import pretty_json

    components = [{"kind": "tou_schedule", "code": "p", "params": {"weekday": [["on", "off"]] * 12,
                                                                  "weekend": [["off", "off"]] * 12}}]
    text = pretty_json(components)
    assert json.loads(text) == components
    assert text.count('["on", "off"]') == 12 and len(text.splitlines()) == 36


def test_creating_a_schedule_then_its_first_version(staff):
    response = staff.post("/billing/rates/new/", {"code": "WTR", "name": "Water", "commodity": "water"})
    schedule = RateSchedule.objects.get(code="WTR")
    assert response["Location"] == f"/billing/rates/{schedule.pk}/"
    staff.post(f"/billing/rates/{schedule.pk}/", {"start_date": "2026-01-01", "components": json.dumps(TIERED)})
    assert schedule.versions.get().start_date == dt.date(2026, 1, 1)
    again = staff.post("/billing/rates/new/", {"code": "WTR", "name": "Water", "commodity": "water"})
    assert said(again)[-1] == "Not created: Rate schedule WTR already exists."
