"""The database invariants of the MDM model and the interval store's DST layout."""
from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import numpy as np
import pytest
from django.db import IntegrityError, connection, transaction

from mdm.flags import NOT_PROVIDED, Flag
from mdm.importing.pipeline import stage_blocks
from mdm.models import Channel, ChannelMultiplier, IntervalDay
from mdm.records import IntervalBlock
from mdm.selectors import channel_days, installations_for_service_point, service_point_ids_for_meter_serial
from mdm.services import interval_days_merge, meter_exchange, meter_install
from mdm.services.meters import InstallationOverlapError
from cis.tests.factories import ServicePointFactory
from mdm.tests.factories import ChannelFactory, MeterFactory

UTC = dt.timezone.utc
TORONTO = zoneinfo.ZoneInfo("America/Toronto")
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _service_points():
    """Installations, virtual meters and notices point at real cis service points (foreign
    keys): the ones these tests name by number."""
    for pk in (3, 4, 7, 9, 101, 202):
        ServicePointFactory(pk=pk)


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def test_multiplier_is_ct_times_pt_times_register_constant():
    m = ChannelMultiplier(ct_ratio=Decimal("200"), pt_ratio=Decimal("2.5"), register_constant=Decimal("0.5"))
    assert m.multiplier == Decimal("250")


def test_multipliers_of_a_channel_cannot_overlap_but_may_abut():
    ch = ChannelFactory()
    ChannelMultiplier.objects.create(channel=ch, start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 6, 1), ct_ratio=40)
    ChannelMultiplier.objects.create(channel=ch, start_date=dt.date(2026, 6, 1), ct_ratio=80)
    with pytest.raises(IntegrityError), transaction.atomic():
        ChannelMultiplier.objects.create(channel=ch, start_date=dt.date(2026, 5, 31), end_date=dt.date(2026, 6, 2))


def test_a_meter_is_in_one_place_at_a_time():
    meter = MeterFactory()
    meter_install(meter=meter, service_point_id=101, installed_at=at(2026, 1, 1, 15))
    with pytest.raises(InstallationOverlapError):
        meter_install(meter=meter, service_point_id=202, installed_at=at(2026, 3, 1, 15))


def test_a_service_point_has_one_meter_per_commodity_at_a_time_but_a_water_meter_beside_it():
    meter_install(meter=MeterFactory(), service_point_id=101, installed_at=at(2026, 1, 1, 15))
    with pytest.raises(InstallationOverlapError):
        meter_install(meter=MeterFactory(), service_point_id=101, installed_at=at(2026, 2, 1, 15))
    water = meter_install(meter=MeterFactory(kind="water"), service_point_id=101, installed_at=at(2026, 2, 1, 15))
    assert water.commodity == "water"


def test_meter_exchange_closes_the_old_installation_where_the_new_one_starts():
    old_meter, new_meter = MeterFactory(serial_number="OLD1"), MeterFactory(serial_number="NEW1")
    old = meter_install(meter=old_meter, service_point_id=7, installed_at=at(2025, 5, 1, 12))
    new = meter_exchange(old=old, new_meter=new_meter, at=at(2026, 3, 10, 16, 30),
                         removal_read=Decimal("12345.6"), install_read=Decimal("0"))
    old.refresh_from_db()
    assert old.removed_at == new.installed_at == at(2026, 3, 10, 16, 30)
    period = installations_for_service_point(service_point_id=7, start=at(2026, 3, 1, 5), end=at(2026, 4, 1, 4))
    assert [i.meter.serial_number for i in period] == ["OLD1", "NEW1"]
    assert service_point_ids_for_meter_serial("old1") == [7]


def test_channel_unit_direction_interval_is_unique_per_meter_register_only_included():
    ch = ChannelFactory(interval_minutes=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        Channel.objects.create(meter=ch.meter, unit="kWh", direction="delivered", interval_minutes=None, channel_number=2)


def _round_trip(day: dt.date, n_expected: int):
    """A block of 15-minute values covering the local day exactly, numbered 1..n."""
    ch = ChannelFactory(interval_minutes=15)
    start = dt.datetime.combine(day, dt.time(0), tzinfo=TORONTO).astimezone(UTC)
    n = int((dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=TORONTO).astimezone(UTC) - start)
            .total_seconds() // 900)
    assert n == n_expected
    block = IntervalBlock(ch.meter.serial_number, "kWh", "delivered", 15, start + dt.timedelta(minutes=15),
                          tuple(float(i + 1) for i in range(n)), source_line=1)
    staged, errors = stage_blocks([(block, ch.pk)], tz=TORONTO)
    assert errors == []
    assert [(s.local_date, len(s.values)) for s in staged] == [(day, n_expected)]
    counts = interval_days_merge(days=staged, now=NOW, import_run_id=None)
    assert counts.loaded == n_expected
    stored = channel_days([ch.pk], day, day + dt.timedelta(days=1))[ch.pk][day]
    return stored


@pytest.mark.parametrize("day, slots", [(dt.date(2026, 3, 8), 92), (dt.date(2026, 11, 1), 100), (dt.date(2026, 6, 1), 96)])
def test_dst_days_round_trip_with_nothing_lost_or_doubled(settings, day, slots):
    settings.UTILIS_LOCAL_TIME_ZONE = "America/Toronto"
    stored = _round_trip(day, slots)
    assert stored.values.tolist() == [float(i + 1) for i in range(slots)]
    assert (stored.flags == Flag.ACTUAL).all()
    # Sum 1..n: every value once.
    assert stored.values.sum() == slots * (slots + 1) / 2


def test_spring_day_slot_8_starts_at_three_oclock_daylight_time(settings):
    # 2026-03-08 Toronto: 00:00 EST = 05:00Z; 02:00 EST jumps to 03:00 EDT at 07:00Z.
    # Slot 8 starts at 05:00Z + 2h = 07:00Z, which is 03:00 EDT.
    settings.UTILIS_LOCAL_TIME_ZONE = "America/Toronto"
    ch = ChannelFactory(interval_minutes=15)
    block = IntervalBlock(ch.meter.serial_number, "kWh", "delivered", 15, at(2026, 3, 8, 7, 15), (4.5,), source_line=3)
    staged, _ = stage_blocks([(block, ch.pk)], tz=TORONTO)
    (day,) = staged
    assert day.local_date == dt.date(2026, 3, 8) and len(day.values) == 92
    assert day.values[8] == 4.5 and day.flags[8] == Flag.ACTUAL
    assert np.count_nonzero(day.flags == NOT_PROVIDED) == 91


def test_fall_day_repeated_hour_is_two_slots(settings):
    # 2026-11-01 Toronto: midnight EDT = 04:00Z; 01:00-02:00 local happens at 05:00Z and 06:00Z.
    settings.UTILIS_LOCAL_TIME_ZONE = "America/Toronto"
    ch = ChannelFactory(interval_minutes=60)
    block = IntervalBlock(ch.meter.serial_number, "kWh", "delivered", 60, at(2026, 11, 1, 6), (1.0, 2.0), source_line=1)
    staged, _ = stage_blocks([(block, ch.pk)], tz=TORONTO)
    (day,) = staged
    assert len(day.values) == 25
    assert day.values[1] == 1.0 and day.values[2] == 2.0


def test_a_block_across_local_midnight_splits_into_two_days():
    ch = ChannelFactory(interval_minutes=60)
    # 2026-06-02 03:00Z..05:00Z = 23:00 EDT on the 1st to 01:00 EDT on the 2nd.
    block = IntervalBlock(ch.meter.serial_number, "kWh", "delivered", 60, at(2026, 6, 2, 4), (1.0, 2.0), source_line=1)
    staged, _ = stage_blocks([(block, ch.pk)], tz=TORONTO)
    assert [(s.local_date, float(np.nansum(s.values))) for s in staged] == [
        (dt.date(2026, 6, 1), 1.0), (dt.date(2026, 6, 2), 2.0)
    ]
    assert staged[0].values[23] == 1.0 and staged[1].values[0] == 2.0


def test_rows_land_in_their_month_partition():
    stored = _round_trip(dt.date(2026, 6, 1), 96)
    assert stored.version == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM mdm_interval_day WHERE local_date = '2026-06-01'")
        assert cursor.fetchone()[0] == "mdm_interval_day_y2026m06"
    assert IntervalDay.objects.filter(local_date=dt.date(2026, 6, 1)).count() == 1


def test_partition_created_later_takes_its_rows_out_of_the_default_partition():
    ch = ChannelFactory()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO mdm_interval_day (channel_id, local_date, interval_minutes, \"values\", flags, updated_at)"
            " VALUES (%s, '2031-02-03', 15, ARRAY[1000]::int4[], '\\x00'::bytea, now())", [ch.pk]
        )
        cursor.execute("SELECT mdm_interval_partition_ensure('2031-02-10')")
        cursor.execute("SELECT tableoid::regclass::text FROM mdm_interval_day WHERE local_date = '2031-02-03'")
        assert cursor.fetchone()[0] == "mdm_interval_day_y2031m02"


def test_replacing_a_day_keeps_the_prior_version_with_who_and_why(settings):
    from mdm.models import IntervalDayVersion
    from mdm.selectors import channel_day_history
    from mdm.services import StagedDay, interval_days_replace

    settings.UTILIS_LOCAL_TIME_ZONE = "America/Toronto"
    ch = ChannelFactory(interval_minutes=60)
    day = dt.date(2026, 6, 1)
    first = np.arange(24, dtype=float)
    flags = np.zeros(24, dtype=np.int16)
    counts = interval_days_replace(days=[StagedDay(ch.pk, day, 60, first, flags)], now=NOW, reason="seed")
    assert (counts.days_inserted, counts.days_versioned) == (1, 0)

    edited, edited_flags = first.copy(), flags.copy()
    edited[5], edited_flags[5] = 9.5, Flag.EDITED
    counts = interval_days_replace(days=[StagedDay(ch.pk, day, 60, edited, edited_flags)], now=NOW,
                                   reason="meter read confirmed by phone", changed_by_id=42, vee_run_id=7)
    assert counts.days_versioned == 1
    history = channel_day_history(channel_id=ch.pk, local_date=day)
    assert [(h["version"], h["values"][5], h["flags"][5], h["reason"], h["changed_by_id"]) for h in history] == [
        (1, 5.0, 0, "seed", None), (2, 9.5, 2, "meter read confirmed by phone", 42)
    ]
    # Writing the same arrays again is no change and no new version.
    again = interval_days_replace(days=[StagedDay(ch.pk, day, 60, edited, edited_flags)], now=NOW, reason="same")
    assert again.days_versioned == 0 and IntervalDayVersion.objects.count() == 1


def test_a_replacement_must_cover_the_whole_local_day(settings):
    from mdm.services import StagedDay, interval_days_replace

    settings.UTILIS_LOCAL_TIME_ZONE = "America/Toronto"
    ch = ChannelFactory(interval_minutes=15)
    with pytest.raises(ValueError, match="92 slots expected"):
        interval_days_replace(days=[StagedDay(ch.pk, dt.date(2026, 3, 8), 15, np.zeros(96), np.zeros(96, dtype=np.int16))],
                              now=NOW, reason="x")


def test_virtual_meter_terms_are_checked():
    from mdm.services import VirtualMeterFormulaError, virtual_meter_set

    delivered = ChannelFactory()
    received = ChannelFactory(meter=delivered.meter, direction="received", channel_number=2)
    vm = virtual_meter_set(service_point_id=9, name="net", terms=[
        {"channel_id": delivered.pk, "sign": 1}, {"channel_id": received.pk, "sign": -1}])
    assert vm.formula == {"terms": [{"channel_id": delivered.pk, "sign": 1}, {"channel_id": received.pk, "sign": -1}]}
    with pytest.raises(VirtualMeterFormulaError):
        virtual_meter_set(service_point_id=9, terms=[{"service_point_id": 9, "sign": 1}])
    with pytest.raises(VirtualMeterFormulaError):
        virtual_meter_set(service_point_id=9, terms=[{"channel_id": delivered.pk, "sign": 2}])
    with pytest.raises(VirtualMeterFormulaError):
        virtual_meter_set(service_point_id=9, terms=[{"channel_id": 999999, "sign": 1}])


def test_meter_page_selectors_list_installations_reads_and_open_notices():
    from mdm.models import RegisterRead, ReplacementReadNotice
    from mdm.selectors import meter_installations, register_reads_for_meter, replacement_read_notices_open

    meter = MeterFactory()
    register = ChannelFactory(meter=meter, interval_minutes=None)
    first = meter_install(meter=meter, service_point_id=3, installed_at=at(2025, 1, 1))
    from mdm.services import meter_remove

    meter_remove(installation=first, removed_at=at(2025, 6, 1))
    second = meter_install(meter=meter, service_point_id=4, installed_at=at(2025, 7, 1))
    assert meter_installations(meter=meter) == [second, first]
    for day in (1, 2, 3):
        RegisterRead.objects.create(channel=register, read_at=at(2026, 1, day), value=Decimal(day * 10))
    reads = register_reads_for_meter(meter=meter, start=at(2026, 1, 2), end=at(2026, 1, 3))
    assert [r.value for r in reads] == [Decimal(20)]
    open_one = ReplacementReadNotice.objects.create(service_point_id=4, channel=register, period_start=dt.date(2026, 1, 1),
                                                    period_end=dt.date(2026, 1, 2), reason="x", created_at=NOW)
    ReplacementReadNotice.objects.create(service_point_id=4, channel=register, period_start=dt.date(2026, 1, 1),
                                         period_end=dt.date(2026, 1, 2), reason="y", created_at=NOW, picked_up_at=NOW)
    assert [n.id for n in replacement_read_notices_open(service_point_ids=[4])] == [open_one.pk]


def test_merging_into_a_day_stored_with_another_interval_length_is_refused(settings):
    from mdm.services import StagedDay, interval_days_replace
    from mdm.services.intervals import IntervalLayoutError

    settings.UTILIS_LOCAL_TIME_ZONE = "America/Toronto"
    ch = ChannelFactory(interval_minutes=60)
    day = dt.date(2026, 6, 1)
    interval_days_replace(days=[StagedDay(ch.pk, day, 60, np.ones(24), np.zeros(24, dtype=np.int16))], now=NOW, reason="x")
    with pytest.raises(IntervalLayoutError):
        interval_days_merge(days=[StagedDay(ch.pk, day, 15, np.ones(96), np.zeros(96, dtype=np.int16))], now=NOW)
    assert channel_days([ch.pk], day, day + dt.timedelta(days=1))[ch.pk][day].values.tolist() == [1.0] * 24
