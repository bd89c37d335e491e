"""A metering clerk's day in a real browser: find a meter, see its chart with actual and
estimated bars, resolve a VEE worklist item, and fix and resubmit a bad record from the import
quarantine; then check what the database holds."""
from __future__ import annotations

import datetime as dt
import math
import re

import numpy as np
import pytest
from django.conf import settings
from playwright.sync_api import expect

from conftest import PASSWORD
from mdm import importing
from mdm.flags import Flag
from mdm.models import IntervalDay, QuarantinedRecord, VeeRuleSet, VeeRuleSetAssignment, VeeWorklistItem
from mdm.services import StagedDay, interval_days_merge
from mdm.tests.factories import ChannelFactory, MeterFactory
from mdm.services import vee_run_create, vee_run_execute

# available_apps (every installed app) makes the flush after the test TRUNCATE ... CASCADE:
# the partitioned interval table references mdm_channel (see test_csr_hub.py).
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, available_apps=list(settings.INSTALLED_APPS)),
]

NOW = dt.datetime(2026, 6, 20, 12, 0, tzinfo=dt.timezone.utc)
JUNE10, JUNE11 = dt.date(2026, 6, 10), dt.date(2026, 6, 11)
RULES = {
    "validations": [{"kind": "gaps"}, {"kind": "spike", "threshold_pct": 300, "min_peak": 0.5}],
    "estimations": [{"kind": "linear", "max_gap_minutes": 180}],
}
# June 11, local hour 0 (EDT) ends at 05:00Z; its value is not a number.
BAD_CSV = (
    "meter_serial,unit,direction,interval_minutes,interval_end,value\n"
    "BRW-001,kWh,delivered,60,2026-06-11T05:00:00Z,abc\n"
)


@pytest.fixture
def metered(settings, tmp_path):
    """Meter BRW-001 (hourly kWh). June 10: 1 kWh an hour, hours 5-6 missing, hour 10 a 9 kWh
    spike; VEE has run (the gap estimated, the spike on the worklist). A file with a bad line
    waits in the quarantine."""
    settings.MEDIA_ROOT = tmp_path
    settings.UTILIS_VEE_AFTER_IMPORT = False  # no broker consumer here; VEE is run by hand below
    VeeRuleSetAssignment.objects.all().delete()
    rs = VeeRuleSet.objects.create(name="browser test", rules=RULES)
    VeeRuleSetAssignment.objects.create(rule_set=rs, scope="default", start_date=dt.date(2020, 1, 1))
    channel = ChannelFactory(meter=MeterFactory(serial_number="BRW-001"), interval_minutes=60)
    values = np.ones(24)
    values[5] = values[6] = math.nan
    values[10] = 9.0
    flags = np.where(np.isnan(values), Flag.MISSING, Flag.ACTUAL).astype(np.int16)
    interval_days_merge(days=[StagedDay(channel.pk, JUNE10, 60, values, flags)], now=NOW)
    run = vee_run_create(channel_ids=[channel.pk], start_date=JUNE10, end_date=JUNE11, scope="browser", now=NOW)
    vee_run_execute(vee_run_id=run.pk, now_fn=lambda: NOW)
    importing.import_file(BAD_CSV.encode(), format="csv", now=NOW, file_name="bad.csv")
    return channel


def sign_in(page):
    page.goto("/meters/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/meters/"))
    page.get_by_label("Username").fill("meter1")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_metering_clerk_reads_the_chart_works_the_worklist_and_the_quarantine(browser_page, metering_user, metered):
    channel = metered
    page = browser_page()
    sign_in(page)

    # Find the meter by serial: one hit goes straight to its page.
    search = page.get_by_label("Meter serial, service point or account number")
    search.fill("BRW-001")
    search.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("BRW-001")

    # The chart of the day: 22 actual hours and the 2 VEE estimates, drawn differently.
    page.get_by_label("Day", exact=True).check()
    expect(page).to_have_url(re.compile(r"view=day"))
    chart = page.locator("svg").filter(has=page.locator("rect.bar"))
    expect(chart.locator("rect.bar--estimated")).to_have_count(2)
    assert chart.locator("rect.bar--actual").count() >= 21
    expect(page.locator("#vee-results")).to_contain_text("spike")
    page.screenshot(path="/tmp/meter_hub_chart.png", full_page=True)

    # The worklist: accept the spike as a real reading, with a reason.
    page.get_by_role("navigation", name="Meter Hub").get_by_role("link", name="VEE worklist").click()
    item = page.locator("article.worklist-item")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("highest interval 800% above the third highest")
    item.get_by_label("Reason").fill("Customer ran a kiln")
    item.get_by_role("button", name="Accept").click()
    expect(page.get_by_text("Accepted.")).to_be_visible()
    expect(page.locator("article.worklist-item")).to_have_count(0)

    # The quarantine: fix the value and resubmit.
    page.get_by_role("navigation", name="Meter Hub").get_by_role("link", name="Import quarantine").click()
    record = page.locator("article.quarantine-record")
    expect(record).to_contain_text("bad.csv:2")
    record.get_by_label("Corrected record").fill("BRW-001,kWh,delivered,60,2026-06-11T05:00:00Z,1.5")
    record.get_by_role("button", name="Fix and resubmit").click()
    expect(page.get_by_text(re.compile(r"Line 2 of bad.csv fixed and loaded"))).to_be_visible()

    # What the database holds.
    spike = VeeWorklistItem.objects.get()
    assert (spike.status, spike.resolved_by_id, spike.reason) == ("accepted", metering_user.pk, "Customer ran a kiln")
    june10 = IntervalDay.objects.get(channel_id=channel.pk, local_date=JUNE10)
    assert (june10.values[10], june10.flags[10], june10.changed_by_id) == (9.0, Flag.EDITED, metering_user.pk)
    assert june10.flags[5] == june10.flags[6] == Flag.ESTIMATED_LINEAR
    assert QuarantinedRecord.objects.get().status == QuarantinedRecord.Status.RESUBMITTED
    june11 = IntervalDay.objects.get(channel_id=channel.pk, local_date=JUNE11)
    assert (june11.values[0], june11.flags[0]) == (1.5, Flag.ACTUAL)
