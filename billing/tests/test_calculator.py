"""The bill calculator: month-by-month bills from an interval series, saving nothing, and its
REST endpoint. Expected amounts are worked by hand in the comments."""
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest

from billing.calculator import CalculatorError, calculate
from billing.models import Bill, LedgerEntry, RateVersion
from billing.services.rates import rate_schedule_create, rate_version_add
from core.roles import Role

pytestmark = pytest.mark.django_db

TZ = "America/Toronto"
URDB = Path("/work/shared/standards/urdb")
ON_HOURS = range(16, 21)  # 16:00-21:00 on weekdays
WEEKDAY = [["ON" if h in ON_HOURS else "OFF" for h in range(24)] for _ in range(12)]
WEEKEND = [["OFF"] * 24 for _ in range(12)]
TOU_RATE = [
    {"kind": "fixed", "code": "customer", "params": {"amount": "10.00"}, "description": "Customer charge"},
    {"kind": "tou_schedule", "code": "periods", "params": {"weekday": WEEKDAY, "weekend": WEEKEND}},
    {"kind": "tou", "code": "energy", "params": {"periods": {"ON": "0.20", "OFF": "0.10"}}},
    {"kind": "demand", "code": "demand", "params": {"price": "5.00"}},
]


def schedule_with(components, code="TOU-D", start=dt.date(2025, 1, 1)):
    schedule = rate_schedule_create(code=code, name=code)
    rate_version_add(schedule=schedule, start_date=start, components=components)
    return schedule


def line(month, code, tou_period=None):
    return next(ln for ln in month.lines if ln.component_code == code and ln.tou_period == tou_period)


def test_prices_a_dst_month_by_local_hour_and_a_partial_next_month():
    schedule = schedule_with(TOU_RATE)
    # March 2026 in Toronto: 31 days, DST starts Sunday March 8, so 743 local hours.
    # Weekdays: Mar 2-6, 9-13, 16-20, 23-27, 30-31 = 22; ON = 22 x 5 h = 110 kWh at 1 kWh/h.
    # One weekday ON hour (Mon Mar 2 17:00, index 24 + 17) is 3 kWh: ON 112, OFF 633, peak 3 kW.
    # Then 24 hours of April 1 (a Wednesday): ON 5, OFF 19, 1 day of 30 -> factor 1/30.
    values = [1] * (743 + 24)
    values[41] = 3
    result = calculate(rate=schedule.pk, start=dt.datetime(2026, 3, 1), interval_minutes=60, values=values,
                       time_zone=TZ, holidays=frozenset())
    march, april = result.months
    assert (march.period_start, march.period_end) == (dt.date(2026, 3, 1), dt.date(2026, 4, 1))
    assert march.consumption_kwh == Decimal("745") and march.max_demand_kw == Decimal("3")
    assert line(march, "energy", "ON").amount == Decimal("22.40")   # 112 x 0.20
    assert line(march, "energy", "OFF").amount == Decimal("63.30")  # 633 x 0.10
    assert line(march, "demand").amount == Decimal("15.00")          # 3 kW x 5.00
    assert march.total == Decimal("110.70")                           # + 10.00 customer charge
    assert (april.period_start, april.period_end) == (dt.date(2026, 4, 1), dt.date(2026, 4, 2))
    assert line(april, "customer").amount == Decimal("0.33")         # 10.00 / 30
    assert line(april, "customer").proration == Decimal("0.033333")
    assert line(april, "demand").amount == Decimal("0.17")           # 1 kW x 5.00 / 30
    assert april.total == Decimal("3.40")                             # 0.33 + 1.00 + 1.90 + 0.17
    assert result.total == Decimal("114.10")
    assert not Bill.objects.exists() and not LedgerEntry.objects.exists()


def test_holiday_uses_the_weekend_grid():
    schedule = schedule_with(TOU_RATE)
    # Good Friday, April 3 2026, a weekday: as a holiday its 5 ON hours price as OFF.
    day = [1] * 24
    plain = calculate(rate=schedule.pk, start=dt.datetime(2026, 4, 3), interval_minutes=60, values=day,
                      time_zone=TZ, holidays=frozenset())
    holiday = calculate(rate=schedule.pk, start=dt.datetime(2026, 4, 3), interval_minutes=60, values=day,
                        time_zone=TZ, holidays=frozenset({dt.date(2026, 4, 3)}))
    assert line(plain.months[0], "energy", "ON").quantity == Decimal("5")
    assert line(holiday.months[0], "energy", "OFF").quantity == Decimal("24")
    assert holiday.months[0].total == plain.months[0].total - Decimal("0.50")  # 5 kWh x (0.20 - 0.10)


def test_kw_values_become_energy_per_interval():
    schedule = schedule_with([{"kind": "flat", "code": "energy", "params": {"price": "0.10"}}], code="FLAT")
    # 96 quarter hours at 4 kW = 1 kWh each = 96 kWh; 9.60 at 0.10.
    result = calculate(rate=schedule, start=dt.datetime(2026, 4, 1), interval_minutes=15, values=[4] * 96,
                       values_are_kw=True, time_zone=TZ, holidays=frozenset())
    assert result.months[0].consumption_kwh == Decimal("96")
    assert result.months[0].max_demand_kw == Decimal("4")
    assert result.total == Decimal("9.60")


def test_net_metering_credit_carries_to_the_next_month():
    schedule = schedule_with([
        {"kind": "net_metering", "code": "net", "params": {"carry": "kwh"}},
        {"kind": "flat", "code": "energy", "params": {"price": "0.10"}},
    ], code="NEM")
    # April: 30 days x 24 h x 1 kWh = 720 delivered, 1000 received -> 0 billed, 280 kWh carried.
    # May 1: 24 delivered, none received; the 280 kWh carried cover it -> 0 billed.
    # May 2..31 would then bill nothing until 256 kWh more are used; the load stops on May 14:
    # May 1-13 = 13 x 24 = 312 delivered - 280 carried = 32 kWh billed = 3.20.
    hours_april, hours_may = 30 * 24, 13 * 24
    values = [1] * (hours_april + hours_may)
    received = [Decimal("1000") / hours_april] * hours_april + [0] * hours_may
    result = calculate(rate=schedule.pk, start=dt.datetime(2026, 4, 1), interval_minutes=60, values=values,
                       received=received, time_zone=TZ, holidays=frozenset())
    april, may = result.months
    assert april.total == Decimal("0.00")
    assert line(may, "energy").quantity == Decimal("32")
    assert may.total == Decimal("3.20")


def test_urdb_document_prices_without_being_saved():
    doc = (URDB / "pysam_urdb_rate_618940545457a35a1c4097ec.json").read_text()
    # 2026-01 hourly at 1 kWh, no holidays. The tariff's dates (2021-2022) do not apply here.
    # January 2026 weekdays: 22; E3 (weekday 14:00-18:00 in winter) = 22 x 4 = 88 kWh at 0.158126.
    result = calculate(rate=doc, start=dt.datetime(2026, 1, 1), interval_minutes=60, values=[1] * 744,
                       time_zone=TZ, holidays=frozenset())
    month = result.months[0]
    assert line(month, "energy", "E3").quantity == Decimal("88")
    assert line(month, "energy", "E3").amount == Decimal("13.92")  # 88 x 0.158126 = 13.915088
    assert line(month, "fixed").amount == Decimal("5.71")
    assert not RateVersion.objects.exists()


@pytest.mark.parametrize("kwargs, field", [
    ({"interval_minutes": 7}, "interval_minutes"),
    ({"values": [1, "x"]}, "values"),
    ({"values": []}, "values"),
    ({"received": [1]}, "received"),
    ({"rate": 999_999}, "rate"),
    ({"start": dt.datetime(2020, 1, 1)}, "start"),
])
def test_bad_input_names_the_field(kwargs, field):
    schedule = schedule_with(TOU_RATE)
    args = {"rate": schedule.pk, "start": dt.datetime(2026, 4, 1), "interval_minutes": 60, "values": [1, 2],
            "time_zone": TZ, "holidays": frozenset()} | kwargs
    with pytest.raises(CalculatorError) as caught:
        calculate(**args)
    assert caught.value.field == field


# --- REST ---------------------------------------------------------------------------------

def test_api_returns_lines_per_month(api_for, billing_user):
    schedule = schedule_with(TOU_RATE)
    response = api_for(billing_user).post("/api/billing/calculator/", {
        "rate_schedule": "TOU-D", "start": "2026-04-01T00:00", "interval_minutes": 60, "values": [1] * 24,
    }, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["rate_code"] == schedule.code
    (month,) = body["months"]
    assert (month["period_start"], month["period_end"]) == ("2026-04-01", "2026-04-02")
    amounts = {(ln["component_code"], ln["tou_period"]): ln["amount"] for ln in month["lines"]}
    assert amounts[("energy", "ON")] == "1.00" and amounts[("energy", "OFF")] == "1.90"
    assert month["total"] == body["total"] == "3.40"


def test_api_start_without_offset_is_local_time(api_for, csr):
    schedule_with(TOU_RATE)
    # 20:00-21:00 local on a weekday is ON; read as UTC it would be 16:00 local, also ON, so
    # use 21:00 local (OFF) whose UTC reading 17:00 would be ON.
    response = api_for(csr).post("/api/billing/calculator/", {
        "rate_schedule": "TOU-D", "start": "2026-04-01T21:00", "interval_minutes": 60, "values": [2],
    }, format="json")
    assert response.status_code == 200
    lines = response.json()["months"][0]["lines"]
    assert [ln["tou_period"] for ln in lines if ln["component_code"] == "energy"] == ["OFF"]


def test_api_accepts_a_urdb_tariff_as_an_object(api_for, make_user):
    client = make_user("partner", Role.API_CLIENT)
    doc = json.loads(json.loads((URDB / "pysam_urdb_rate_618940545457a35a1c4097ec.json").read_text()))["items"][0]
    response = api_for(client).post("/api/billing/calculator/", {
        "urdb": doc, "start": "2026-01-01T00:00", "interval_minutes": 60, "values": [1] * 744,
    }, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["months"][0]["period_end"] == "2026-02-01"


@pytest.mark.parametrize("payload, field", [
    ({"values": [1, "lots"]}, "values"),
    ({"interval_minutes": 7}, "interval_minutes"),
    ({"rate_schedule": "NOPE"}, "rate_schedule"),
    ({"received": [1, 2, 3]}, "received"),
    ({"urdb": {"label": "x", "mystery": 1}}, "rate_schedule"),  # both given
])
def test_api_bad_input_is_a_400_with_field_errors(api_for, billing_user, payload, field):
    schedule_with(TOU_RATE)
    base = {"rate_schedule": "TOU-D", "start": "2026-04-01T00:00", "interval_minutes": 60, "values": [1, 2]}
    response = api_for(billing_user).post("/api/billing/calculator/", base | payload, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_api_unsupported_urdb_is_a_400_on_urdb(api_for, billing_user):
    response = api_for(billing_user).post("/api/billing/calculator/", {
        "urdb": {"label": "x", "mystery": 1}, "start": "2026-04-01T00:00", "interval_minutes": 60, "values": [1],
    }, format="json")
    assert response.status_code == 400
    assert "mystery" in response.json()["urdb"][0]


def test_api_roles(api_for, field_user):
    body = {"rate_schedule": "1", "start": "2026-04-01T00:00", "interval_minutes": 60, "values": [1]}
    assert api_for().post("/api/billing/calculator/", body, format="json").status_code == 401
    assert api_for(field_user).post("/api/billing/calculator/", body, format="json").status_code == 403


def test_calculator_is_in_the_openapi_document(api_for, admin_user_role):
    response = api_for(admin_user_role).get("/api/schema/?format=json")
    schema = response.json()
    operation = schema["paths"]["/api/billing/calculator/"]["post"]
    assert operation["summary"] == "Bill calculator"
    assert "CalculatorResult" in json.dumps(operation["responses"]["200"])


@pytest.mark.parametrize("rate_code", ["T-TIER", "T-TOU", "T-DEMAND"])
def test_api_gives_the_same_lines_as_a_bill_run(api_for, billing_user, rate_code):
    """The calculator and a bill run share billing.rating: the same month of hourly usage on
    the same schedule makes the same lines (February 2026 includes Family Day, a holiday)."""
    from billing.services import runs
    from billing.models import BillLine
    from billing.tests.test_runs_helpers import MAR, NOW, metered_agreement, setup_billing

    cycle = setup_billing()
    metered_agreement(rate_code=rate_code, kwh_per_hour=1.5, spike=(dt.date(2026, 2, 10), 18, 4.0))
    run = runs.bill_run_start(cycle=cycle, bill_date=MAR, now=NOW, enqueue=False)
    for number in runs.bill_run_pending_chunks(bill_run_id=run.pk):
        runs.bill_run_chunk_process(bill_run_id=run.pk, chunk_number=number, now=NOW)
    billed = [(ln.description, ln.quantity, ln.price, ln.amount)
              for ln in BillLine.objects.filter(segment__bill__run=run).order_by("sequence")]
    values = ["1.5"] * (28 * 24)
    values[9 * 24 + 18] = "4.0"  # Feb 10, 18:00 local (no DST change in February)

    response = api_for(billing_user).post("/api/billing/calculator/", {
        "rate_schedule": rate_code, "start": "2026-02-01T00:00", "interval_minutes": 60, "values": values,
    }, format="json")

    (month,) = response.json()["months"]
    calculated = [(ln["description"], None if ln["quantity"] is None else Decimal(ln["quantity"]),
                   None if ln["price"] is None else Decimal(ln["price"]), Decimal(ln["amount"]))
                  for ln in month["lines"]]
    assert calculated == billed
    assert len(billed) >= 2


def test_the_calendar_can_be_given_a_zone_and_holidays_by_code_dates_or_none():
    from billing.calculator import parse_holidays, parse_time_zone

    schedule = schedule_with(TOU_RATE)
    day = [1] * 24
    # Good Friday 2026-04-03 is an Ontario holiday: 24 OFF hours; with "none" it is a weekday (5 ON).
    ontario = calculate(rate=schedule.pk, start=dt.datetime(2026, 4, 3), interval_minutes=60, values=day,
                        time_zone=TZ, holidays=parse_holidays("CA-ON"))
    none = calculate(rate=schedule.pk, start=dt.datetime(2026, 4, 3), interval_minutes=60, values=day,
                     time_zone=TZ, holidays=parse_holidays("none"))
    listed = calculate(rate=schedule.pk, start=dt.datetime(2026, 4, 3), interval_minutes=60, values=day,
                       time_zone=TZ, holidays=parse_holidays(["2026-04-03"]))
    assert line(ontario.months[0], "energy", "OFF").quantity == Decimal("24")
    assert line(none.months[0], "energy", "ON").quantity == Decimal("5")
    assert line(listed.months[0], "energy", "OFF").quantity == Decimal("24")
    # The same local hours in Vancouver: a naive start is local time in the zone given.
    west = calculate(rate=schedule.pk, start=dt.datetime(2026, 4, 6), interval_minutes=60, values=day,
                     time_zone="America/Vancouver", holidays=parse_holidays("none"))
    assert line(west.months[0], "energy", "ON").quantity == Decimal("5")
    assert parse_time_zone("") is None
    with pytest.raises(CalculatorError) as bad_zone:
        parse_time_zone("Mars/Olympus")
    assert bad_zone.value.field == "time_zone"
    for bad in ("XX", "CA-ZZ", ["2026-13-01"]):
        with pytest.raises(CalculatorError) as caught:
            parse_holidays(bad)
        assert caught.value.field == "holidays"


def test_api_takes_time_zone_and_holidays_and_validates_them(api_for, billing_user):
    schedule_with(TOU_RATE, code="TOU-API")
    body = {"rate_schedule": "TOU-API", "start": "2026-04-03T00:00", "interval_minutes": 60, "values": [1] * 24}
    client = api_for(billing_user)
    ontario = client.post("/api/billing/calculator/", body | {"holidays": "CA-ON"}, format="json").json()
    none = client.post("/api/billing/calculator/", body | {"holidays": "none"}, format="json").json()
    dates = client.post("/api/billing/calculator/", body | {"holidays": ["2026-04-03"],
                                                           "time_zone": "America/Vancouver"}, format="json")
    assert Decimal(ontario["total"]) == Decimal(none["total"]) - Decimal("0.50")
    assert dates.status_code == 200 and dates.json()["total"] == ontario["total"]
    bad = client.post("/api/billing/calculator/", body | {"time_zone": "Nowhere/City", "holidays": "XX"},
                      format="json")
    assert bad.status_code == 400 and set(bad.json()) >= {"time_zone", "holidays"}


def test_hub_calculator_takes_time_zone_and_holidays(client, billing_user):
    from conftest import PASSWORD

    schedule = schedule_with(TOU_RATE, code="TOU-HUB")
    client.login(username=billing_user.username, password=PASSWORD)
    form = {"rate_schedule": schedule.pk, "start": "2026-04-03T00:00", "interval_minutes": 60, "unit": "kWh",
            "values": " ".join(["1"] * 24)}
    page = client.post("/billing/calculator/", form | {"holidays": "none"}).content.decode()
    assert 'data-testid="calculator-result"' in page
    page = client.post("/billing/calculator/", form | {"time_zone": "Mars/Olympus"}).content.decode()
    assert "not an IANA time zone" in page
