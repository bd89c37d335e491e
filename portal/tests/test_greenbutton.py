"""Green Button Download My Data validates against the ESPI schema and names resources stably."""
from __future__ import annotations

import pathlib
import re

import pytest
from django.conf import settings
from django.urls import reverse
from lxml import etree

from integrations.greenbutton import local_time_parameters
from integrations.services import espi_schema

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"
ESPI = "{http://naesb.org/espi}"


def _schema_dir() -> pathlib.Path:
    """The ESPI schema of the project's shared standards (/work/shared/standards, where the other
    standards tests read the MultiSpeak WSDLs and URDB tariffs), else a shared/ beside or above
    the checkout."""
    places = [pathlib.Path("/work/shared/standards/greenbutton-espi")]
    places += [base / "shared" / "standards" / "greenbutton-espi" for base in (settings.BASE_DIR, *settings.BASE_DIR.parents)]
    for candidate in places:
        if (candidate / "espi.xsd").exists():
            return candidate
    pytest.fail("The ESPI schema (shared/standards/greenbutton-espi) is not beside the checkout.", pytrace=False)


@pytest.fixture(scope="module")
def schema():
    return espi_schema(_schema_dir())


@pytest.fixture
def download(client, alice, portal_user):
    client.force_login(portal_user(alice))

    def get(start="2026-02-01", end="2026-02-28"):
        response = client.get(reverse("portal:greenbutton", args=[alice.account.account_number]),
                              {"start": start, "end": end})
        assert response.status_code == 200, response.content[:300]
        return etree.fromstring(response.content)

    return get


def test_the_schema_check_accepts_the_published_sample_and_refuses_a_broken_file(schema):
    sample = etree.parse(str(_schema_dir() / "test_usage_data_01.xml"))
    assert schema.validate(sample), schema.error_log
    broken = etree.parse(str(_schema_dir() / "test_usage_data_01.xml"))
    broken.find(f".//{ESPI}IntervalReading/{ESPI}value").tag = f"{ESPI}amount"
    assert not schema.validate(broken)


def test_download_validates_against_the_espi_schema(download, schema):
    doc = download()
    assert schema.validate(doc), schema.error_log
    kinds = {el.tag.replace(ESPI, "") for el in doc.iterfind(f"{ATOM}entry/{ATOM}content/*")}
    assert kinds == {"UsagePoint", "MeterReading", "ReadingType", "IntervalBlock", "LocalTimeParameters",
                     "ElectricPowerUsageSummary"}


def test_delivered_and_received_are_separate_readings(download):
    doc = download()
    flows = sorted(el.text for el in doc.iter(f"{ESPI}flowDirection"))
    assert flows == ["1", "19"]
    # Alice's received channel: 0.25 kWh an hour, written in Wh (powerOfTenMultiplier -3).
    values = {el.text for el in doc.iter(f"{ESPI}value")}
    assert "250" in values and "1000" in values


def test_one_usage_summary_per_billing_period(download):
    summaries = download().findall(f".//{ESPI}ElectricPowerUsageSummary")
    assert len(summaries) == 2
    assert sorted(s.find(f"{ESPI}billLastPeriod").text for s in summaries) == ["4567000", "5120000"]


def test_ids_are_unique_name_based_and_stable_between_downloads(download):
    first, second = download(), download()
    ids = [el.text for el in first.iter(f"{ATOM}id")]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"urn:uuid:[0-9A-F]{8}-[0-9A-F]{4}-5[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}", i) for i in ids)
    assert ids == [el.text for el in second.iter(f"{ATOM}id")]
    # A shorter range names the same resources the same way.
    shorter = {el.text for el in download(end="2026-02-10").iter(f"{ATOM}id")}
    assert shorter < set(ids)


def test_estimated_intervals_are_marked(download):
    doc = download(start="2026-02-01", end="2026-02-01")
    qualities = [el.text for el in doc.iter(f"{ESPI}quality")]
    assert "8" in qualities  # Feb 1 delivered was estimated
    assert "0" in qualities  # the received channel's values were actual


@pytest.mark.parametrize(("zone", "expected"), [
    # The published sample's North American rules: 2nd Sunday of March and 1st Sunday of November, 02:00.
    ("America/Toronto", ("360E2000", "B40E2000", 3600, -18000)),
    # Southern hemisphere: DST starts on the 1st Sunday of October and ends on the 1st Sunday of April, 02:00 / 03:00.
    ("Australia/Sydney", ("A40E2000", "440E3000", 3600, 36000)),
    ("America/Regina", ("FFFFFFFF", "FFFFFFFF", 0, -21600)),
])
def test_local_time_parameters_encode_the_zones_dst_rules(zone, expected):
    assert local_time_parameters(zone, 2026) == expected
