"""A billing clerk writes a rate in the Billing Hub's rate editor, not in JSON: a new schedule,
then a version with a tiered charge and a TOU energy charge over a TOU schedule painted on its
grid. A bad block limit is shown next to that block's field; once fixed the version is saved and
the bill calculator prices a month on it as hand arithmetic says. The TOU grids (the editor's
and the saved version's) fit a 1280 px window: nothing scrolls sideways."""
from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from billing.models import RateSchedule
from conftest import PASSWORD

SHOTS = Path(os.environ["UTILIS_SCREENSHOTS"]) if os.environ.get("UTILIS_SCREENSHOTS") else None
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, available_apps=list(settings.INSTALLED_APPS)),
]

# The page does not scroll sideways, and no TOU grid scrolls inside its box either.
NO_SIDEWAYS_SCROLL = """document.documentElement.scrollWidth <= window.innerWidth
    && Array.from(document.querySelectorAll("table.tou-grid")).every(
        t => t.getBoundingClientRect().right <= window.innerWidth && t.parentElement.scrollWidth <= t.parentElement.clientWidth)"""


def sign_in(page):
    page.goto("/accounts/login/?next=/billing/rates/")
    page.get_by_label("Username").fill("billing1")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Rate schedules")).to_be_visible()


def add_component(page, kind: str):
    page.get_by_label("Kind of the new component").select_option(kind)
    page.get_by_role("button", name="Add component").click()


def test_a_rate_written_in_the_form_prices_a_bill(browser_page, billing_user):
    page = browser_page(width=1280, height=800)
    console_errors: list[str] = []  # a CSP violation (an inline script) is reported here
    page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
    sign_in(page)
    new = page.get_by_role("region", name="New rate schedule")
    new.get_by_label("Code").fill("E-TOU")
    new.get_by_label("Name").fill("Residential time of use")
    new.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name=re.compile("E-TOU"))).to_be_visible()
    page.get_by_label("Start date").fill("2026-01-01")

    # A tiered charge whose second block's limit is below the first one's.
    add_component(page, "tiered")
    tiered = page.get_by_test_id("component-1")
    tiered.get_by_label("block 1 up to").fill("500")
    tiered.get_by_label("block 1 price").fill("0.10")
    tiered.get_by_role("button", name="Add block").click()
    tiered.get_by_label("block 2 up to").fill("400")
    tiered.get_by_label("block 2 price").fill("0.15")
    tiered.get_by_role("button", name="Add block").click()
    tiered.get_by_label("block 3 price").fill("0.20")

    # A TOU schedule: off_peak everywhere, on_peak painted on 17:00 and 18:00 of weekdays.
    add_component(page, "tou_schedule")
    schedule = page.get_by_test_id("component-2")
    schedule.get_by_label("New TOU period name").fill("on_peak")
    schedule.get_by_role("button", name="Add period").click()
    schedule.get_by_role("button", name="weekday hour 17 all months").click()
    schedule.get_by_role("button", name="weekday hour 18 all months").click()
    expect(schedule.get_by_role("button", name="weekday Jul 17:00 on_peak")).to_be_visible()
    expect(schedule.get_by_role("button", name="weekend Jul 17:00 off_peak")).to_be_visible()
    # The editor's two 12 x 24 grids fit the window.
    assert page.evaluate(NO_SIDEWAYS_SCROLL), page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    page.screenshot(path=str(SHOTS / "rate-editor.png"), full_page=True) if SHOTS else None

    # TOU prices: the periods come from the schedule above.
    add_component(page, "tou")
    tou = page.get_by_test_id("component-3")
    expect(tou.get_by_label("Period 1 name")).to_have_value("off_peak")
    expect(tou.get_by_label("Period 2 name")).to_have_value("on_peak")
    tou.get_by_label("off_peak block 1 price").fill("0.05")
    tou.get_by_label("on_peak block 1 price").fill("0.25")

    page.get_by_role("button", name="Add version").click()
    error = page.get_by_test_id("component-1").locator('[data-error-path="tiers[2].limit"]')
    expect(error).to_have_text("tiers[2].limit must be greater than tiers[1].limit (500)")
    # The message sits with the field it names, and nothing was saved.
    field = page.get_by_test_id("component-1").get_by_label("block 2 up to")
    expect(field).to_have_attribute("aria-invalid", "true")
    assert field.evaluate("(input, error) => input.nextElementSibling === error", error.element_handle())
    assert not RateSchedule.objects.get(code="E-TOU").versions.exists()

    field.fill("800")
    page.get_by_role("button", name="Add version").click()
    expect(page.get_by_text("Version from 2026-01-01 added to E-TOU.")).to_be_visible()
    version = RateSchedule.objects.get(code="E-TOU").versions.get()
    assert [c["kind"] for c in version.components] == ["tiered", "tou_schedule", "tou"]
    assert version.components[0]["params"]["tiers"] == [
        {"limit": "500", "price": "0.10"}, {"limit": "800", "price": "0.15"}, {"price": "0.20"}]
    assert version.components[1]["params"]["weekday"][6][17] == "on_peak"
    assert version.components[1]["params"]["weekend"][6][17] == "off_peak"
    assert version.components[2]["params"]["periods"] == {"off_peak": "0.05", "on_peak": "0.25"}
    # The saved version's grids fit too.
    expect(page.get_by_role("table", name="tou-schedule Weekdays")).to_be_visible()
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    page.screenshot(path=str(SHOTS / "rate-saved.png"), full_page=True) if SHOTS else None

    # The JSON stays for power users: it is the saved version's, and JSON pasted there loads
    # into the form.
    page.get_by_text("Components as JSON (import / export)").click()
    exported = json.loads(page.locator("textarea[name=components]").input_value())
    assert exported == version.components
    exported[2]["params"]["periods"]["on_peak"] = "0.30"
    page.locator("textarea[name=components]").fill(json.dumps(exported))
    page.get_by_role("button", name="Load this JSON into the form").click()
    expect(page.get_by_test_id("component-3").get_by_label("on_peak block 1 price")).to_have_value("0.30")
    assert console_errors == []

    # April 2026 at 1 kWh an hour, no holidays: 720 kWh, of which 22 weekdays x 2 h = 44 on peak.
    # Tiered: 500 x 0.10 + 220 x 0.15 = 83.00; TOU: 44 x 0.25 + 676 x 0.05 = 11.00 + 33.80.
    page.get_by_role("link", name="Try it in the calculator").click()
    page.get_by_label("Start").fill("2026-04-01T00:00")
    page.get_by_label("Holidays").fill("none")
    page.get_by_label("Values", exact=True).fill(",".join(["1"] * 720))
    page.get_by_role("button", name="Calculate").click()
    expect(page.get_by_test_id("month-total")).to_have_text("$127.80")
    assert dt.date(2026, 4, 1).weekday() == 2  # the arithmetic above starts on a Wednesday
