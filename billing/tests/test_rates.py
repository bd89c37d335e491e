"""Rate schedule services: versions are date-effective and never overlap, components are
checked by the rating engine before saving, and URDB files import (the PySAM samples store
the JSON document as a JSON string: both shapes load)."""
import datetime as dt
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from billing.models import RateSchedule, RateVersion
from billing.services.rates import (
    RateError,
    RateVersionOverlap,
    rate_schedule_create,
    rate_schedule_import_urdb,
    rate_version_add,
    rate_version_supersede,
    rating_versions,
)

pytestmark = pytest.mark.django_db

URDB = Path("/work/shared/standards/urdb")
FLAT = [{"kind": "fixed", "code": "customer", "params": {"amount": "20.00"}},
        {"kind": "flat", "code": "energy", "params": {"price": "0.10"}}]


def test_creates_a_schedule_and_refuses_its_code_twice():
    schedule = rate_schedule_create(code="RES", name="Residential", rate_class="residential")
    assert schedule.source == "manual"
    with pytest.raises(RateError, match="RES already exists"):
        rate_schedule_create(code="RES", name="Again")


def test_overlapping_version_is_refused_with_the_clashing_range():
    schedule = rate_schedule_create(code="RES", name="Residential")
    rate_version_add(schedule=schedule, start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 7, 1), components=FLAT)
    with pytest.raises(RateVersionOverlap) as caught:
        rate_version_add(schedule=schedule, start_date=dt.date(2026, 6, 1), components=FLAT)
    assert "[2026-01-01, 2026-07-01)" in str(caught.value)
    # Half-open ranges: a version starting on the other's end date does not overlap.
    rate_version_add(schedule=schedule, start_date=dt.date(2026, 7, 1), components=FLAT)
    assert schedule.versions.count() == 2


def test_version_with_components_the_engine_refuses_is_not_saved():
    schedule = rate_schedule_create(code="RES", name="Residential")
    with pytest.raises(RateError, match="Component 1 \\(energy\\)"):
        rate_version_add(schedule=schedule, start_date=dt.date(2026, 1, 1),
                         components=[{"kind": "flat", "code": "energy", "params": {}}])
    with pytest.raises(RateError, match="unknown component kind"):
        rate_version_add(schedule=schedule, start_date=dt.date(2026, 1, 1),
                         components=[{"kind": "magic", "code": "x", "params": {}}])
    with pytest.raises(RateError, match="must be after"):
        rate_version_add(schedule=schedule, start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 1, 1),
                         components=FLAT)
    assert not RateVersion.objects.exists()


def test_supersede_copies_the_current_version_and_ends_it_the_day_before():
    schedule = rate_schedule_create(code="RES", name="Residential")
    first = rate_version_add(schedule=schedule, start_date=dt.date(2025, 1, 1), components=FLAT)
    new = rate_version_supersede(schedule=schedule, start_date=dt.date(2026, 5, 1), notes="2026 rate case")
    first.refresh_from_db()
    assert first.end_date == dt.date(2026, 5, 1)
    assert (new.start_date, new.end_date) == (dt.date(2026, 5, 1), None)
    assert new.components == first.components
    codes = [v.code for v in rating_versions(schedule=schedule)]
    assert codes == ["RES@2025-01-01", "RES@2026-05-01"]


def test_supersede_on_the_start_day_of_the_current_version_is_refused():
    schedule = rate_schedule_create(code="RES", name="Residential")
    rate_version_add(schedule=schedule, start_date=dt.date(2025, 1, 1), components=FLAT)
    with pytest.raises(RateError, match="already starts on 2025-01-01"):
        rate_version_supersede(schedule=schedule, start_date=dt.date(2025, 1, 1))


@pytest.mark.parametrize("name", [
    "pysam_urdb_rate_539f6a23ec4f024411ec8beb.json",
    "pysam_urdb_rate_618940545457a35a1c4097ec.json",
])
def test_pysam_sample_stored_as_a_json_string_imports(name):
    text = (URDB / name).read_text()
    assert isinstance(json.loads(text), str)  # the sample really is double-encoded
    schedule = rate_schedule_import_urdb(doc=text)
    label = name.removeprefix("pysam_urdb_rate_").removesuffix(".json")
    assert (schedule.code, schedule.source, schedule.source_ref) == (label, "urdb", label)
    version = schedule.versions.get()
    kinds = [c["kind"] for c in version.components]
    assert "tou" in kinds and "tou_schedule" in kinds


def test_residential_tou_sample_keeps_its_dates_and_customer_charge():
    schedule = rate_schedule_import_urdb(doc=(URDB / "pysam_urdb_rate_618940545457a35a1c4097ec.json").read_text())
    version = schedule.versions.get()
    # startdate 1633068000 = 2021-10-01 06:00 UTC; enddate 1656572400 = 2022-06-30 07:00 UTC
    assert (version.start_date, version.end_date) == (dt.date(2021, 10, 1), dt.date(2022, 6, 30))
    fixed = next(c for c in version.components if c["kind"] == "fixed")
    assert fixed["params"] == {"amount": "5.71"}
    assert schedule.rate_class == "residential"


def test_plain_json_document_imports_under_a_given_code():
    schedule = rate_schedule_import_urdb(doc=(URDB / "pysam_urdbv7.json").read_text(), code="URDB-V7")
    kinds = {c["kind"] for c in schedule.versions.get().components}
    assert {"tou", "tou_demand", "demand", "annual_minimum"} <= kinds


def test_importing_the_same_tariff_twice_is_an_overlap_not_a_second_schedule():
    text = (URDB / "pysam_urdb_rate_539f6a23ec4f024411ec8beb.json").read_text()
    rate_schedule_import_urdb(doc=text)
    with pytest.raises(RateVersionOverlap):
        rate_schedule_import_urdb(doc=text)
    assert RateSchedule.objects.count() == 1 and RateVersion.objects.count() == 1


def test_tariff_with_unsupported_feature_is_refused_and_nothing_saved():
    doc = json.loads(json.loads((URDB / "pysam_urdb_rate_539f6a23ec4f024411ec8beb.json").read_text()))["items"][0]
    doc["coincidentratestructure"] = [[{"rate": 5}]]
    with pytest.raises(RateError, match="coincident"):
        rate_schedule_import_urdb(doc=doc)
    with pytest.raises(RateError, match="Not a URDB tariff"):
        rate_schedule_import_urdb(doc="[1, 2")
    assert not RateSchedule.objects.exists()


def test_import_urdb_command_loads_a_file_and_reports_errors(tmp_path, capsys):
    call_command("import_urdb", str(URDB / "pysam_urdb_rate_618940545457a35a1c4097ec.json"),
                 "--code", "RE-TOU", "--start", "2026-01-01", "--end", "2027-01-01")
    assert "Imported RE-TOU" in capsys.readouterr().out
    version = RateSchedule.objects.get(code="RE-TOU").versions.get()
    assert (version.start_date, version.end_date) == (dt.date(2026, 1, 1), dt.date(2027, 1, 1))
    bad = tmp_path / "bad.json"
    bad.write_text('{"label": "x", "mystery": 1}')
    with pytest.raises(CommandError, match="mystery"):
        call_command("import_urdb", str(bad))
