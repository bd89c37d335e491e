"""Demo meters: seeded generation (pure) and the seed through the real import path."""
from __future__ import annotations

import datetime as dt
import hashlib
import math
import zoneinfo
from decimal import Decimal

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from cis.selectors import ServicePointForMetering, service_points_for_metering
from cis.tests.factories import ServicePointFactory
from demo.meters import DemoMetersExistError, demo_meters_seed
from demo.meters import shapes
from demo.meters.fleet import fleet_plan
from demo.meters.files import demo_day_files
from mdm.flags import Flag
from mdm.models import Channel, ImportRun, Installation, IntervalDay, Meter, QuarantinedRecord, RegisterRead

TZ = zoneinfo.ZoneInfo("America/Toronto")
# Every channel-day gets a fault in these tests, so a small seed shows each kind.
BUSY = shapes.InjectionRates(day_missing=0.1, gap=0.3, spike=0.3, zero_run=0.3)


def _points(n_res: int = 12) -> list[ServicePointForMetering]:
    rows = [("electric", "residential")] * n_res + [("electric", "commercial"), ("electric", "industrial"),
                                                     ("water", "residential"), ("water", "commercial"),
                                                     ("gas", "residential"), ("gas", "commercial"),
                                                     ("streetlight", "streetlight"), ("sewer", "residential")]
    return [ServicePointForMetering(i + 1, f"SP{i + 1:08d}", c, r, "active", "house") for i, (c, r) in enumerate(rows)]


def _files(seed: int, start: dt.date, days: int = 3) -> list[tuple[str, str]]:
    positions = fleet_plan(service_points=_points(), seed=seed, start=start, days=days, tz=TZ)
    return [f for day in demo_day_files(positions=positions, start=start, days=days, seed=seed, tz=TZ, rates=BUSY)
            for f in day.files]


# --- pure -------------------------------------------------------------------------------------


def test_same_seed_gives_byte_identical_files_and_another_seed_does_not():
    first = _files(7, dt.date(2026, 10, 31))
    assert first == _files(7, dt.date(2026, 10, 31))
    assert [name for name, _ in first] == [
        "demo-electric-2026-10-31.cmep", "demo-water-gas-2026-10-31.cmep",
        "demo-electric-2026-11-01.cmep", "demo-water-gas-2026-11-01.cmep",
        "demo-electric-2026-11-02.cmep", "demo-water-gas-2026-11-02.cmep",
    ]
    assert [text for _, text in first] != [text for _, text in _files(8, dt.date(2026, 10, 31))]


def test_a_day_does_not_depend_on_which_other_days_are_generated():
    customers = shapes.customers_draw(shapes.RES_ELECTRIC, 5, seed=3)
    day = dt.date(2026, 7, 15)
    once = shapes.consumption_day(shapes.RES_ELECTRIC, customers, day, TZ, 3, 15)
    shapes.consumption_day(shapes.RES_ELECTRIC, customers, day - dt.timedelta(days=1), TZ, 3, 15)
    assert np.array_equal(once, shapes.consumption_day(shapes.RES_ELECTRIC, customers, day, TZ, 3, 15))


def test_days_have_92_96_100_quarter_hours_around_dst():
    customers = shapes.customers_draw(shapes.RES_ELECTRIC, 2, seed=1)
    for day, slots in ((dt.date(2026, 3, 8), 92), (dt.date(2026, 3, 9), 96), (dt.date(2026, 11, 1), 100)):
        assert shapes.consumption_day(shapes.RES_ELECTRIC, customers, day, TZ, 1, 15).shape == (2, slots)
    gas = shapes.customers_draw(shapes.GAS, 2, seed=1)
    assert shapes.consumption_day(shapes.GAS, gas, dt.date(2026, 11, 1), TZ, 1, 60).shape == (2, 25)


def test_fall_back_day_repeats_the_one_oclock_hour_on_the_clock():
    # 2026-11-01 in Toronto: slots 4-7 are 01:00-01:59 EDT, slots 8-11 01:00-01:59 EST again.
    clock = shapes.day_clock(dt.date(2026, 11, 1), TZ, 15)
    assert clock.clock_hour[4:12].tolist() == [1.125, 1.375, 1.625, 1.875, 1.125, 1.375, 1.625, 1.875]
    # the sun keeps standard time: slot 4 is 00:00 EST + 1 h, slot 8 is 01:00 EST
    assert clock.sun_hour[4] == pytest.approx(0.125)
    assert clock.sun_hour[8] == pytest.approx(1.125)


def test_solar_makes_nothing_at_night_and_most_around_noon():
    panels = shapes.customers_draw(shapes.SOLAR, 50, seed=2)
    gen = shapes.consumption_day(shapes.SOLAR, panels, dt.date(2026, 6, 21), TZ, 2, 15)
    assert gen[:, :16].sum() == 0.0  # 00:00-04:00 EDT
    assert gen[:, 88:].sum() == 0.0  # 22:00-24:00 EDT
    hourly = gen.sum(axis=0).reshape(24, 4).sum(axis=1)
    assert 12 <= int(hourly.argmax()) <= 14  # solar noon is ~13:15 EDT


def test_homes_peak_in_the_evening_and_shops_close_on_sunday():
    homes = shapes.customers_draw(shapes.RES_ELECTRIC, 400, seed=4)
    weekday = shapes.consumption_day(shapes.RES_ELECTRIC, homes, dt.date(2026, 4, 15), TZ, 4, 15).mean(axis=0)
    hourly = weekday.reshape(24, 4).sum(axis=1)
    assert 17 <= int(hourly.argmax()) <= 21
    assert hourly[19] > 1.5 * hourly[3]
    shops = shapes.customers_draw(shapes.COM_ELECTRIC, 100, seed=4)
    wednesday = shapes.consumption_day(shapes.COM_ELECTRIC, shops, dt.date(2026, 4, 15), TZ, 4, 15).mean(axis=0)
    sunday = shapes.consumption_day(shapes.COM_ELECTRIC, shops, dt.date(2026, 4, 19), TZ, 4, 15).mean(axis=0)
    assert wednesday[48:52].mean() > 2.5 * sunday[48:52].mean()  # noon, open vs closed


def test_net_solar_splits_each_interval_into_delivered_or_received():
    delivered, received = shapes.net_solar(np.array([[1.0, 0.5, 0.4]]), np.array([[0.3, 0.8, 0.4]]))
    assert delivered.tolist() == [[pytest.approx(0.7), 0.0, 0.0]]
    assert received.tolist() == [[0.0, pytest.approx(0.3), 0.0]]


def test_inject_puts_each_fault_at_its_slots():
    values = np.array([[1.0, 2.0, 3.0, 4.0]] * 5)
    plan = shapes.Injection(
        kind=np.array([shapes.NONE, shapes.GAP, shapes.SPIKE, shapes.ZERO_RUN, shapes.DAY_MISSING], dtype=np.int8),
        start=np.array([0, 1, 2, 0, 0]), length=np.array([0, 2, 1, 3, 4]),
    )
    out = shapes.inject(values, plan, spike_floor=1.0)
    assert out[0].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert out[1, 0] == 1.0 and np.isnan(out[1, 1:3]).all() and out[1, 3] == 4.0
    assert out[2].tolist() == [1.0, 2.0, 33.0, 4.0]  # 8 x peak 4 + 1
    assert out[3].tolist() == [0.0, 0.0, 0.0, 4.0]
    assert np.isnan(out[4]).all()


def test_faults_come_at_the_documented_rates():
    rates = shapes.InjectionRates()
    plan = shapes.injection_plan(400_000, 96, 15, rates, np.random.default_rng(5))
    share = np.bincount(plan.kind, minlength=5) / 400_000
    # binomial standard error at 400,000 rows is at most 0.00023 (for 2 %), 0.000035 at 0.05 %
    assert share[shapes.DAY_MISSING] == pytest.approx(0.0002, abs=0.0001)
    assert share[shapes.GAP] == pytest.approx(0.02, abs=0.001)
    assert share[shapes.SPIKE] == pytest.approx(0.0005, abs=0.00015)
    assert share[shapes.ZERO_RUN] == pytest.approx(0.0005, abs=0.00015)
    gaps = plan.kind == shapes.GAP
    assert plan.length[gaps].min() == 4 and plan.length[gaps].max() == 32  # 1-8 hours
    assert (plan.start + plan.length <= 96).all()


# --- through the database ---------------------------------------------------------------------


@pytest.fixture
def utility(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.UTILIS_LOCAL_TIME_ZONE = "America/Toronto"
    for commodity, rate_class in [("electric", "residential")] * 14 + [
        ("electric", "commercial"), ("electric", "industrial"), ("water", "residential"), ("water", "residential"),
        ("gas", "residential"), ("gas", "commercial"), ("streetlight", "streetlight"), ("sewer", "residential"),
    ]:
        ServicePointFactory(commodity=commodity, rate_class=rate_class)
    return service_points_for_metering()


NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.timezone.utc)


def _seed(end_date: dt.date, days: int = 3, rates=BUSY):
    return demo_meters_seed(end_date=end_date, now=NOW, days=days, seed=11, rates=rates, keep_injections=True)


def _stored(serial: str, direction: str, day: dt.date) -> IntervalDay | None:
    channel = Channel.objects.get(meter__serial_number=serial, direction=direction, interval_minutes__isnull=False)
    return IntervalDay.objects.filter(channel=channel, local_date=day).first()


def test_seed_loads_every_file_through_the_import_path_and_quarantines_the_unknown_meter(utility):
    report = _seed(dt.date(2026, 11, 3))

    runs = ImportRun.objects.order_by("id")
    assert [r.file_name for r in runs][:2] == ["demo-electric-2026-10-31.cmep", "demo-water-gas-2026-10-31.cmep"]
    assert runs.count() == report.files == 6
    assert {r.status for r in runs} == {ImportRun.Status.DONE}
    assert sum(r.intervals_loaded for r in runs) == report.intervals_written
    # one meter the MDM does not know (16 electric service points < 2,000) in each electric file
    quarantined = QuarantinedRecord.objects.all()
    assert quarantined.count() == 3
    assert {(q.field, q.file_name[:13]) for q in quarantined} == {("MeterID", "demo-electric")}
    assert all(q.raw.startswith("MEPMD01,20090101,DEMO-AMI,,,,") and ",NEW9000001," in q.raw for q in quarantined)
    # every metered service point has a meter; streetlight and sewer have none
    metered = {sp.id for sp in utility if sp.commodity in ("electric", "water", "gas")}
    assert set(Installation.objects.values_list("service_point_id", flat=True)) == metered


def test_a_second_seed_is_refused(utility):
    _seed(dt.date(2026, 11, 3), days=1)
    with pytest.raises(DemoMetersExistError):
        _seed(dt.date(2026, 11, 3), days=1)


def test_injected_faults_are_stored_at_their_slots(utility):
    report = _seed(dt.date(2026, 11, 3))
    exchanged = set(Installation.objects.filter(removed_at__isnull=False).values_list("service_point_id", flat=True))
    checked = {kind: 0 for kind in (shapes.DAY_MISSING, shapes.GAP, shapes.SPIKE, shapes.ZERO_RUN)}
    for fault in report.injections:
        if fault.service_point_id in exchanged:
            continue  # that day is split between two meters; the exchange test covers it
        row = _stored(fault.serial, fault.direction, fault.local_date)
        inside = slice(fault.start, fault.start + fault.length)
        if fault.kind == shapes.DAY_MISSING:
            assert row is None
        elif fault.kind == shapes.GAP:
            flags = np.array(row.flags)
            assert (flags[inside] == Flag.MISSING).all() and np.isnan(np.array(row.values)[inside]).all()
            outside = np.ones(len(flags), dtype=bool)
            outside[inside] = False
            assert (flags[outside] == Flag.ACTUAL).all()
        elif fault.kind == shapes.SPIKE:
            values = np.array(row.values)
            others = np.delete(values, fault.start)
            # 8 x the day's true peak + at least 0.5 (m3) .. 20 (industrial kWh); the true peak
            # is at least the highest value left
            assert values[fault.start] >= 8 * others.max() + 0.5 - 0.001
        else:
            assert (np.array(row.values)[inside] == 0.0).all()
        checked[fault.kind] += 1
    assert all(count > 0 for count in checked.values()), checked
    assert report.faults == {name: sum(1 for f in report.injections if f.kind == kind)
                             for kind, name in ((1, "missing days"), (2, "gaps"), (3, "spikes"), (4, "zero runs"))
                             if any(f.kind == kind for f in report.injections)}


@pytest.mark.parametrize("end_date, dst_day, quarter_hours, hours", [
    (dt.date(2026, 11, 3), dt.date(2026, 11, 1), 100, 25),
    (dt.date(2026, 3, 10), dt.date(2026, 3, 8), 92, 23),
])
def test_dst_days_store_every_interval_once(utility, end_date, dst_day, quarter_hours, hours):
    _seed(end_date, rates=shapes.InjectionRates(0, 0, 0, 0))
    lengths = {
        (minutes, len(values))
        for minutes, values in IntervalDay.objects.filter(local_date=dst_day).values_list("interval_minutes", "scaled")
    }
    assert lengths == {(15, quarter_hours), (60, hours)}
    # nothing missing or doubled: with no faults every slot of every day is an actual read
    # (but on the exchange day, which two meters share: test_meter_exchange_keeps_...)
    old = Installation.objects.get(removed_at__isnull=False)
    new = Installation.objects.get(service_point_id=old.service_point_id, installed_at=old.removed_at)
    rows = IntervalDay.objects.exclude(channel__meter_id__in=[old.meter_id, new.meter_id],
                                       local_date=old.removed_at.astimezone(TZ).date())
    series = Channel.objects.filter(interval_minutes__isnull=False).exclude(meter_id=new.meter_id).count()
    assert rows.count() == 3 * series - 1  # the exchanged meter's 3 days are 1 + (2 off) + 1
    for flags in rows.values_list("flag_bytes", flat=True):
        assert set(flags) == {Flag.ACTUAL}


def test_daily_register_reads_agree_with_the_intervals(utility):
    _seed(dt.date(2026, 11, 3), rates=shapes.InjectionRates(0, 0, 0, 0))
    old = Installation.objects.get(removed_at__isnull=False)
    new = Installation.objects.get(service_point_id=old.service_point_id, installed_at=old.removed_at)
    meters = Meter.objects.exclude(pk__in=[old.meter_id, new.meter_id])
    checked = 0
    for meter in meters:
        interval_channel = meter.channels.get(direction="delivered", interval_minutes__isnull=False)
        register_channel = (meter.channels.filter(unit=interval_channel.unit, direction="delivered",
                                                  interval_minutes__isnull=True).first() or interval_channel)
        reads = list(RegisterRead.objects.filter(channel=register_channel).order_by("read_at"))
        assert len(reads) == 4  # the period's start and each of the 3 local midnights after
        for day_index, day in enumerate([dt.date(2026, 10, 31), dt.date(2026, 11, 1), dt.date(2026, 11, 2)]):
            row = IntervalDay.objects.get(channel=interval_channel, local_date=day)
            dials = register_channel.dials
            delta = (reads[day_index + 1].value - reads[day_index].value) % Decimal(10 ** dials)
            # each read is rounded to 3 decimals: two roundings differ by at most 0.001
            assert float(delta) == pytest.approx(math.fsum(row.values), abs=0.0011)
        checked += 1
    assert checked >= 18


def test_meter_exchange_keeps_consumption_continuous(utility):
    _seed(dt.date(2026, 11, 3), rates=shapes.InjectionRates(0, 0, 0, 0))
    old = Installation.objects.get(removed_at__isnull=False)
    new = Installation.objects.get(service_point_id=old.service_point_id, installed_at=old.removed_at)
    assert new.install_read == Decimal("0.0000")
    # The exchange is on the middle day (index 1 of 3) at a whole local hour.
    local = old.removed_at.astimezone(TZ)
    assert local.date() == dt.date(2026, 11, 1) and local.minute == 0
    old_channel = old.meter.channels.get(direction="delivered", interval_minutes__isnull=False)
    new_channel = new.meter.channels.get(direction="delivered", interval_minutes__isnull=False)
    minutes = old_channel.interval_minutes
    cut = int((old.removed_at - dt.datetime(2026, 11, 1, tzinfo=TZ)).total_seconds() // 60) // minutes
    old_day = IntervalDay.objects.get(channel=old_channel, local_date=local.date())
    new_day = IntervalDay.objects.get(channel=new_channel, local_date=local.date())
    # the old meter reads up to the exchange, the new one from it: every slot exactly once
    assert set(old_day.flags[:cut]) == {Flag.ACTUAL} and set(old_day.flags[cut:]) == {Flag.MISSING}
    assert set(new_day.flags[:cut]) == {Flag.MISSING} and set(new_day.flags[cut:]) == {Flag.ACTUAL}
    register = (old.meter.channels.filter(direction="delivered", interval_minutes__isnull=True, unit=old_channel.unit)
                .first() or old_channel)
    midnight_read = RegisterRead.objects.get(channel=register, read_at=dt.datetime(2026, 11, 1, tzinfo=TZ))
    assert float(old.removal_read - midnight_read.value) == pytest.approx(math.fsum(old_day.values[:cut]), abs=0.0011)
    # the new meter's first midnight read is what it measured since the exchange
    new_register = (new.meter.channels.filter(direction="delivered", interval_minutes__isnull=True,
                                              unit=new_channel.unit).first() or new_channel)
    first_read = RegisterRead.objects.get(channel=new_register, read_at=dt.datetime(2026, 11, 2, tzinfo=TZ))
    assert float(first_read.value) == pytest.approx(math.fsum(new_day.values[cut:]), abs=0.0011)


def test_ct_rated_meters_get_their_multiplier(utility):
    _seed(dt.date(2026, 11, 3), days=1)
    industrial = next(sp for sp in utility if sp.rate_class == "industrial" and sp.commodity == "electric")
    meter = Installation.objects.get(service_point_id=industrial.id, removed_at__isnull=True).meter
    assert meter.kind == Meter.Kind.ELECTRIC_POLYPHASE
    ratios = {m.ct_ratio for ch in meter.channels.all() for m in ch.multipliers.all()}
    assert len(ratios) == 1 and ratios.pop() in {Decimal(80), Decimal(160), Decimal(240)}
    assert {(c.unit, c.interval_minutes) for c in meter.channels.all()} == {("kWh", 15), ("kWh", None), ("kW", None)}


def test_command_seeds_and_refuses_a_second_time(utility, capsys):
    call_command("seed_meters", "--days", "1", "--end-date", "2026-06-02", "--workers", "0", "--seed", "5")
    out = capsys.readouterr().out
    assert "imported demo-electric-2026-06-01.cmep" in out and "Seeded 21 meters" in out
    assert ImportRun.objects.count() == 2
    with pytest.raises(CommandError, match="already exist"):
        call_command("seed_meters", "--days", "1", "--end-date", "2026-06-02", "--workers", "0")


def test_import_runs_hold_the_generated_files(utility):
    report = _seed(dt.date(2026, 11, 3), days=1)
    positions = fleet_plan(service_points=utility, seed=11, start=dt.date(2026, 11, 2), days=1, tz=TZ)
    files = next(demo_day_files(positions=positions, start=dt.date(2026, 11, 2), days=1, seed=11, tz=TZ, rates=BUSY)).files
    assert [r.sha256 for r in ImportRun.objects.filter(pk__in=report.import_run_ids).order_by("id")] == [
        hashlib.sha256(text.encode()).hexdigest() for _, text in files
    ]
