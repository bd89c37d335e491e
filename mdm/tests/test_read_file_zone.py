"""Read files whose timestamps carry no offset are read in UTILIS_READ_FILE_TIME_ZONE."""
import datetime as dt

import pytest

from integrations.cmep.writer import write_cmep_intervals
from mdm import importing
from mdm.records import IntervalBlock
from mdm.selectors import channel_days
from mdm.tests.factories import ChannelFactory

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 7, 1, tzinfo=UTC)

pytestmark = pytest.mark.django_db


def test_cmep_local_wall_times_land_in_the_right_local_slot(settings):
    settings.UTILIS_LOCAL_TIME_ZONE = "America/Toronto"
    settings.UTILIS_READ_FILE_TIME_ZONE = "America/Toronto"
    channel = ChannelFactory(interval_minutes=60, meter__serial_number="TZ1")
    # The writer stamps UTC wall times; the head-end here sends Toronto wall time. The block
    # "ends 01:00" as written means 01:00 EDT = 05:00 UTC: the first hour of the local day.
    block = IntervalBlock("TZ1", "kWh", "delivered", 60, dt.datetime(2026, 6, 10, 1, tzinfo=UTC), (7.0,), 1)
    run = importing.import_file(write_cmep_intervals([block]).encode(), format="cmep", file_name="tz.cmep", now=NOW)
    assert run.intervals_loaded == 1
    day = channel_days([channel.pk], dt.date(2026, 6, 10), dt.date(2026, 6, 11))[channel.pk][dt.date(2026, 6, 10)]
    assert day.values[0] == 7.0


def test_by_default_offsetless_times_are_utc(settings):
    settings.UTILIS_LOCAL_TIME_ZONE = "America/Toronto"
    channel = ChannelFactory(interval_minutes=60, meter__serial_number="TZ2")
    # Ends 01:00 UTC = 21:00 EDT the day before: slot 20 of 2026-06-09 (20:00-21:00 local).
    block = IntervalBlock("TZ2", "kWh", "delivered", 60, dt.datetime(2026, 6, 10, 1, tzinfo=UTC), (7.0,), 1)
    importing.import_file(write_cmep_intervals([block]).encode(), format="cmep", file_name="utc.cmep", now=NOW)
    day = channel_days([channel.pk], dt.date(2026, 6, 9), dt.date(2026, 6, 10))[channel.pk][dt.date(2026, 6, 9)]
    assert day.values[20] == 7.0
