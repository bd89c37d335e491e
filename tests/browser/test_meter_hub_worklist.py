"""Working the VEE worklist in a real browser: filter it to one meter and rule, go to page 2,
act on an item, and land on the same filtered page (main dropped the filter, so the next click
landed on another meter); an edit that misses the flagged interval leaves the item open.
Also the quarantine's Discard: a confirmation step and a recorded reason."""
from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pytest
from django.conf import settings
from playwright.sync_api import expect

from conftest import PASSWORD
from mdm import importing
from mdm.flags import Flag
from mdm.importing.quarantine import quarantine_discard_reasons
from mdm.models import IntervalDay, QuarantinedRecord, VeeRuleSet, VeeRuleSetAssignment, VeeWorklistItem
from mdm.services import StagedDay, interval_days_merge, vee_run_create, vee_run_execute
from mdm.tests.factories import ChannelFactory, MeterFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, available_apps=list(settings.INSTALLED_APPS)),
]

NOW = dt.datetime(2026, 7, 20, 12, 0, tzinfo=dt.timezone.utc)
FIRST = dt.date(2026, 6, 1)
DAYS = 27  # 27 spikes on meter A: two pages of 25
RULES = {"validations": [{"kind": "spike", "threshold_pct": 300, "min_peak": 0.5}], "estimations": []}
BAD_CSV = (
    "meter_serial,unit,direction,interval_minutes,interval_end,value\n"
    "WKL-A,kWh,delivered,60,2026-06-11T05:00:00Z,abc\n"
)


@pytest.fixture
def worklist(settings, tmp_path):
    """Meters WKL-A and WKL-B (hourly kWh), a 9 kWh spike at hour 10 of every day in June:
    27 spike items for each meter. A bad line waits in the quarantine."""
    settings.MEDIA_ROOT = tmp_path
    settings.UTILIS_LOCAL_TIME_ZONE = "America/Toronto"
    settings.UTILIS_VEE_AFTER_IMPORT = False
    VeeRuleSetAssignment.objects.all().delete()
    rs = VeeRuleSet.objects.create(name="browser worklist", rules=RULES)
    VeeRuleSetAssignment.objects.create(rule_set=rs, scope="default", start_date=dt.date(2020, 1, 1))
    channels = [ChannelFactory(meter=MeterFactory(serial_number=s), interval_minutes=60) for s in ("WKL-A", "WKL-B")]
    values = np.ones(24)
    values[10] = 9.0
    flags = np.zeros(24, dtype=np.int16)
    staged = [StagedDay(c.pk, FIRST + dt.timedelta(days=k), 60, values, flags) for c in channels for k in range(DAYS)]
    interval_days_merge(days=staged, now=NOW)
    run = vee_run_create(channel_ids=[c.pk for c in channels], start_date=FIRST,
                         end_date=FIRST + dt.timedelta(days=DAYS), scope="browser", now=NOW)
    vee_run_execute(vee_run_id=run.pk, now_fn=lambda: NOW)
    importing.import_file(BAD_CSV.encode(), format="csv", now=NOW, file_name="bad.csv")
    return channels


def sign_in(page):
    page.goto("/meters/")
    page.get_by_label("Username").fill("meter1")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_actions_keep_the_worklists_filter_and_page(browser_page, metering_user, worklist):
    meter_a, meter_b = worklist
    assert VeeWorklistItem.objects.filter(status="open").count() == 2 * DAYS
    page = browser_page()
    sign_in(page)
    page.goto("/meters/worklist/")

    # Filter to meter A's spikes, then page 2 (items 26 and 27).
    page.get_by_label("Meter", exact=True).fill("WKL-A")
    page.get_by_label("Rule", exact=True).select_option("spike")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text(f"{DAYS} items")).to_be_visible()
    page.get_by_role("link", name="Next").click()
    expect(page).to_have_url(re.compile(r"meter=WKL-A.*page=2"))
    items = page.locator("article.worklist-item")
    expect(items).to_have_count(2)

    # Dismiss the first one: back on page 2 of the same filtered list, meter A only.
    first = items.first
    first_label = first.get_attribute("aria-label")
    first.get_by_label("Reason").fill("Known event")
    first.get_by_role("button", name="Dismiss").click()
    expect(page.get_by_text("Dismissed.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/meters/worklist/\?status=open&meter=WKL-A&rule=spike&page=2$"))
    expect(page.get_by_text(f"{DAYS - 1} items")).to_be_visible()
    items = page.locator("article.worklist-item")
    expect(items).to_have_count(1)
    expect(items.first).to_contain_text("WKL-A")
    assert items.first.get_attribute("aria-label") != first_label

    # An edit of hour 3 does not touch the flagged hour 10: the item stays open, same page.
    item = items.first
    item.locator("summary").click()
    item.get_by_label("First interval").fill("3")
    item.get_by_label("Values").fill("1.0")
    item.get_by_label("Reason").fill("register read")
    item.get_by_role("button", name="Save edit").click()
    expect(page.get_by_text(re.compile(r"the item stays open: flagged interval 10"))).to_be_visible()
    expect(page).to_have_url(re.compile(r"meter=WKL-A&rule=spike&page=2$"))
    expect(page.locator("article.worklist-item")).to_have_count(1)

    # Editing the flagged hour settles it.
    item = page.locator("article.worklist-item").first
    item.locator("summary").click()
    item.get_by_label("First interval").fill("10")
    item.get_by_label("Values").fill("1.0")
    item.get_by_label("Reason").fill("head-end glitch")
    item.get_by_role("button", name="Save edit").click()
    expect(page.get_by_text("Edited 1 interval.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"meter=WKL-A&rule=spike"))
    expect(page.get_by_text(f"{DAYS - 2} items")).to_be_visible()

    # Meter B was never touched.
    assert VeeWorklistItem.objects.filter(channel=meter_b, status="open").count() == DAYS
    assert VeeWorklistItem.objects.filter(channel=meter_a, status="open").count() == DAYS - 2
    assert VeeWorklistItem.objects.filter(channel=meter_a, status="edited").count() == 1
    assert VeeWorklistItem.objects.filter(channel=meter_a, status="dismissed").count() == 1
    edited_day = VeeWorklistItem.objects.get(channel=meter_a, status="edited").local_date
    row = IntervalDay.objects.get(channel=meter_a, local_date=edited_day)
    assert row.flags[3] == row.flags[10] == Flag.EDITED


def test_discarding_a_quarantined_record_asks_for_confirmation_and_a_reason(browser_page, metering_user, worklist):
    page = browser_page()
    sign_in(page)
    page.goto("/meters/quarantine/")
    record = page.locator("article.quarantine-record")
    expect(record).to_contain_text("bad.csv:2")
    record.get_by_role("link", name="Discard…").click()

    # The confirmation step: nothing is discarded yet, and a reason is required.
    expect(page.get_by_role("heading", level=1)).to_contain_text("Discard line 2 of bad.csv?")
    assert QuarantinedRecord.objects.get().status == "open"
    page.get_by_role("button", name="Discard for good").click()  # empty reason: the browser refuses
    assert QuarantinedRecord.objects.get().status == "open"
    page.get_by_label("Reason").fill("Test meter, never installed")
    page.get_by_role("button", name="Discard for good").click()
    expect(page.get_by_text("Line 2 of bad.csv discarded: Test meter, never installed")).to_be_visible()

    rec = QuarantinedRecord.objects.get()
    assert (rec.status, rec.resolved_by_id) == ("discarded", metering_user.pk)
    assert quarantine_discard_reasons(record_ids=[rec.pk]) == {rec.pk: "Test meter, never installed"}
    page.goto("/meters/quarantine/?status=discarded")
    expect(page.locator("article.quarantine-record")).to_contain_text("Test meter, never installed")
    expect(page.locator("article.quarantine-record")).to_contain_text(re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d E[DS]T"))
