"""The Meter Hub pages and the interval chart they draw."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from cis.tests.factories import ServiceAgreementFactory
from conftest import PASSWORD
from mdm import charts
from mdm.flags import Flag
from mdm.selectors import ChannelDay
from mdm.services import interval_days_merge, meter_install
from mdm.services.intervals import StagedDay
from mdm.tests.factories import ChannelFactory

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


def _day(date, values, flags, minutes=15):
    return ChannelDay(1, date, minutes, np.array(values, dtype=float), np.array(flags, dtype=np.int16), 1)


class TestChart:
    def test_day_view_draws_one_bar_per_interval_coloured_by_quality(self):
        day = dt.date(2026, 6, 1)
        values = [1.0] * 96
        flags = [Flag.ACTUAL] * 96
        values[10], flags[10] = 2.0, Flag.ESTIMATED_LINEAR
        values[11], flags[11] = float("nan"), Flag.MISSING
        chart = charts.build_chart(view="day", anchor=day, days={day: _day(day, values, flags)}, unit="kWh")
        kinds = [b.kind for b in chart.bars]
        assert len(chart.bars) == 96
        assert kinds[10] == "estimated" and kinds[11] == "missing" and kinds.count("actual") == 94
        # 94 actual kWh + 2 estimated; the missing slot counts nothing
        assert chart.total == 96.0 and chart.estimated_total == 2.0 and chart.missing_count == 1
        assert chart.max_value == 2.0

    def test_dst_spring_day_has_92_bars(self):
        day = dt.date(2026, 3, 8)
        chart = charts.build_chart(view="day", anchor=day, days={day: _day(day, [0.5] * 92, [0] * 92)}, unit="kWh")
        assert len(chart.bars) == 92 and chart.total == 46.0

    def test_month_view_sums_days_and_splits_out_the_estimated_part(self):
        d1, d2 = dt.date(2026, 2, 1), dt.date(2026, 2, 2)
        flags = [Flag.ACTUAL] * 96
        flags[0] = Flag.ESTIMATED_LIKE_DAY
        days = {d1: _day(d1, [1.0] * 96, [0] * 96), d2: _day(d2, [1.0] * 96, flags)}
        chart = charts.build_chart(view="month", anchor=dt.date(2026, 2, 14), days=days, unit="kWh")
        assert (chart.start, chart.end) == (dt.date(2026, 2, 1), dt.date(2026, 3, 1))
        # day 2 is one stacked pair (95 actual + 1 estimated); 26 days with no data are grey stubs
        assert [b.kind for b in chart.bars[:3]] == ["actual", "actual", "estimated"]
        assert chart.total == 192.0 and chart.estimated_total == 1.0
        assert sum(1 for b in chart.bars if b.kind == "missing") == 26

    def test_week_view_starts_on_monday(self):
        assert charts.period("week", dt.date(2026, 3, 12)) == (dt.date(2026, 3, 9), dt.date(2026, 3, 16))
        assert charts.period("year", dt.date(2026, 3, 12)) == (dt.date(2026, 1, 1), dt.date(2027, 1, 1))


@pytest.fixture
def loaded_meter(settings):
    settings.UTILIS_LOCAL_TIME_ZONE = "America/Toronto"
    agreement = ServiceAgreementFactory()
    channel = ChannelFactory(interval_minutes=15)
    meter_install(meter=channel.meter, service_point_id=agreement.service_point_id,
                  installed_at=dt.datetime(2026, 1, 1, 5, tzinfo=UTC))
    day = dt.date(2026, 3, 10)
    values = np.full(96, 0.25)
    flags = np.zeros(96, dtype=np.int16)
    interval_days_merge(days=[StagedDay(channel.pk, day, 15, values, flags)], now=NOW, import_run_id=None)
    return agreement, channel


@pytest.mark.django_db
class TestPages:
    def test_metering_staff_find_a_meter_by_account_number_and_see_its_chart(self, client, metering_user, loaded_meter):
        agreement, channel = loaded_meter
        client.login(username=metering_user.username, password=PASSWORD)
        found = client.get("/meters/", {"q": agreement.account.account_number})
        assert found.status_code == 302 and found.url.endswith(f"/meters/m/{channel.meter.serial_number}/")
        page = client.get(found.url, {"view": "day", "date": "2026-03-10"}).content.decode()
        assert agreement.service_point.sp_number in page  # installation history names the service point
        assert page.count('class="bar bar--actual"') == 96
        assert "Total 24.0 kWh" in page

    def test_account_360_shows_the_meters_and_usage_panel(self, client, csr, loaded_meter):
        agreement, channel = loaded_meter
        client.login(username=csr.username, password=PASSWORD)
        page = client.get(f"/hub/accounts/{agreement.account.account_number}/").content.decode()
        assert "Meters and usage" in page and channel.meter.serial_number in page

    def test_field_crew_cannot_open_the_meter_hub(self, client, field_user):
        client.login(username=field_user.username, password=PASSWORD)
        assert client.get("/meters/").status_code == 403


@pytest.mark.django_db
def test_quarantine_page_fixes_and_resubmits_a_bad_line(client, metering_user, settings):
    from integrations.cmep.writer import write_cmep_intervals
    from mdm import importing
    from mdm.models import QuarantinedRecord
    from mdm.records import IntervalBlock
    from mdm.selectors import channel_days

    settings.UTILIS_LOCAL_TIME_ZONE = "America/Toronto"
    channel = ChannelFactory(interval_minutes=60, meter__serial_number="E100")
    good = IntervalBlock("E100", "kWh", "delivered", 60, dt.datetime(2026, 6, 10, 5, tzinfo=UTC), (1.5, 2.5), 1)
    typo = IntervalBlock("E1OO", "kWh", "delivered", 60, dt.datetime(2026, 6, 10, 7, tzinfo=UTC), (3.5,), 2)
    # Imported the day after (reads later than the import's time are quarantined as from the future).
    importing.import_file(write_cmep_intervals([good, typo]).encode(), format="cmep", file_name="day.cmep",
                          now=dt.datetime(2026, 6, 11, 12, tzinfo=UTC))
    bad = QuarantinedRecord.objects.get()
    client.login(username=metering_user.username, password=PASSWORD)
    page = client.get("/meters/quarantine/").content.decode()
    assert "day.cmep:2" in page and "MeterID" in page
    client.post(f"/meters/quarantine/{bad.pk}/resubmit/", {"fixed_raw": bad.raw.replace("E1OO", "E100")})
    bad.refresh_from_db()
    assert bad.status == "resubmitted"
    day = channel_days([channel.pk], dt.date(2026, 6, 10), dt.date(2026, 6, 11))[channel.pk][dt.date(2026, 6, 10)]
    assert day.values[:3].tolist() == [1.5, 2.5, 3.5]


@pytest.mark.django_db
def test_import_upload_queues_a_run_and_progress_reports_it(client, metering_user, settings,
                                                            django_capture_on_commit_callbacks):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    ChannelFactory(interval_minutes=60, meter__serial_number="E200")
    client.login(username=metering_user.username, password=PASSWORD)
    from django.core.files.uploadedfile import SimpleUploadedFile

    text = "meter_serial,unit,direction,interval_minutes,interval_end,value\nE200,kWh,delivered,60,2026-06-10T05:00:00Z,1.5\n"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/meters/imports/upload/", {"format": "csv", "file": SimpleUploadedFile("a.csv", text.encode())})
    assert response.status_code == 302
    from mdm.models import ImportRun

    run = ImportRun.objects.get()
    progress = client.get(f"/meters/imports/{run.pk}/progress.json").json()
    assert progress["loaded"] == 1 and progress["status"] == "done"
    assert "a.csv" in client.get("/meters/imports/").content.decode()


@pytest.mark.django_db
def test_a_new_customer_sees_only_usage_of_their_own_agreement(client, csr, settings):
    """Moved in today: the previous occupant's 30 days of usage at the same service point are
    not this account's (main showed "Last 30 days 289.676 kWh" on an account opened today)."""
    from core.clock import utility_today

    settings.UTILIS_LOCAL_TIME_ZONE = "America/Toronto"
    today = utility_today()
    old = ServiceAgreementFactory(start_date=today - dt.timedelta(days=400), end_date=today)
    new = ServiceAgreementFactory(service_point=old.service_point, start_date=today)
    channel = ChannelFactory(interval_minutes=60)
    meter_install(meter=channel.meter, service_point_id=old.service_point_id,
                  installed_at=dt.datetime(2024, 1, 1, 5, tzinfo=UTC))
    staged = [StagedDay(channel.pk, today - dt.timedelta(days=k), 60, np.full(24, 0.5), np.zeros(24, np.int16))
              for k in range(1, 11)]
    interval_days_merge(days=staged, now=NOW, import_run_id=None)
    client.login(username=csr.username, password=PASSWORD)

    page = client.get(f"/hub/accounts/{new.account.account_number}/").content.decode()
    assert channel.meter.serial_number in page  # the meter at their service point is shown
    assert "0 kWh delivered" in page and "over 0 days" in page  # but none of the usage before today

    previous = client.get(f"/hub/accounts/{old.account.account_number}/").content.decode()
    assert "120.0 kWh delivered" in previous  # 10 days x 24 h x 0.5 kWh: the previous occupant's own


def test_local_datetime_filter_shows_the_utility_zone_labelled(settings):
    from django.template import Context, Template

    settings.UTILIS_LOCAL_TIME_ZONE = "America/Toronto"
    tpl = Template('{% load localtime %}{{ a|local_datetime }}|{{ b|local_datetime:"seconds" }}|{{ a|local_time }}|'
                   '{{ c|local_date }}|{{ none|local_datetime|default:"—" }}')
    out = tpl.render(Context({
        "a": dt.datetime(2026, 3, 2, 19, 5, tzinfo=UTC),  # 14:05 EST
        "b": dt.datetime(2026, 7, 2, 18, 5, 9, tzinfo=UTC),  # 14:05:09 EDT
        "c": dt.datetime(2026, 3, 3, 3, 0, tzinfo=UTC),  # still March 2 in Toronto
        "none": None,
    }))
    assert out == "2026-03-02 14:05 EST|2026-07-02 14:05:09 EDT|14:05 EST|2026-03-02|—"


def test_hub_templates_show_no_datetime_through_the_utc_date_filter():
    """Every instant on a page goes through local_datetime / local_time / local_date: a
    `|date:"... H:i"` would print UTC with no label."""
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[2]
    offenders = []
    for path in [*root.glob("*/templates/**/*.html"), *root.glob("templates/**/*.html")]:
        text = path.read_text()
        offenders += [f"{path.relative_to(root)}: {m}" for m in re.findall(r"\|date:['\"][^'\"]*[HGgis][^'\"]*['\"]", text)]
    assert offenders == []
