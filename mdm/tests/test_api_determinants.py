"""GET /api/mdm/determinants/: billing determinants of a service point over REST."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal as D

import numpy as np
import pytest

from cis.tests.factories import ServicePointFactory
from mdm import services as mdm_services
from mdm.flags import Flag
from mdm.services import StagedDay, interval_days_merge
from mdm.tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db
URL = "/api/mdm/determinants/"
JUNE10, JUNE11, JUNE12 = dt.date(2026, 6, 10), dt.date(2026, 6, 11), dt.date(2026, 6, 12)  # Wednesday, Thursday
NOW = dt.datetime(2026, 6, 20, tzinfo=dt.timezone.utc)
# Period 1 (on-peak) is 17:00-20:00 on weekdays all year; everything else is period 0.
PEAK_GRID = {"weekday": [[1 if 17 <= h < 20 else 0 for h in range(24)] for _ in range(12)],
             "weekend": [[0] * 24 for _ in range(12)]}


@pytest.fixture(autouse=True)
def toronto(settings):
    settings.UTILIS_LOCAL_TIME_ZONE = "America/Toronto"


@pytest.fixture
def service_point():
    """An hourly kWh meter with a CT ratio of 2. June 10: 1 kWh each hour but 2 kWh at 17:00 and
    18:00 (26 kWh). June 11: 1 kWh each hour (24 kWh), hour 3 a linear estimate."""
    sp = ServicePointFactory(sp_number="SP-DET-1")
    channel = ChannelFactory(interval_minutes=60)
    mdm_services.meter_install(meter=channel.meter, service_point_id=sp.pk,
                               installed_at=dt.datetime(2026, 6, 1, 4, tzinfo=dt.timezone.utc), commodity="electric")
    mdm_services.channel_multiplier_set(channel=channel, start_date=dt.date(2026, 6, 1), ct_ratio=D(2))
    d10 = np.ones(24)
    d10[17] = d10[18] = 2.0
    f11 = np.zeros(24, np.int16)
    f11[3] = Flag.ESTIMATED_LINEAR
    interval_days_merge(days=[
        StagedDay(channel.pk, JUNE10, 60, d10, np.zeros(24, np.int16)),
        StagedDay(channel.pk, JUNE11, 60, np.ones(24), f11),
    ], now=NOW)
    return sp


def params(**extra):
    return {"service_point": "SP-DET-1", "start": "2026-06-10", "end": "2026-06-12", **extra}


def test_anonymous_callers_get_401(client, service_point):
    assert client.get(URL, params()).status_code == 401


def test_a_role_without_meter_data_access_gets_403(api_for, field_user, service_point):
    assert api_for(field_user).get(URL, params()).status_code == 403


@pytest.mark.parametrize("bad", [
    {"end": "2026-06-10"},  # end not after start
    {"start": "June"},
    {"tou_schedule": json.dumps({"weekday": [[0] * 24]})},  # one month is not a grid
])
def test_a_bad_query_gets_400(api_for, billing_user, service_point, bad):
    assert api_for(billing_user).get(URL, params(**bad)).status_code == 400


def test_an_unknown_service_point_gets_404(api_for, billing_user, service_point):
    assert api_for(billing_user).get(URL, params(service_point="SP-NOPE")).status_code == 404


def test_determinants_with_multiplier_tou_and_demand(api_for, billing_user, service_point):
    response = api_for(billing_user).get(URL, params(tou_schedule=json.dumps(PEAK_GRID), demand_window=60))

    assert response.status_code == 200
    body = response.json()
    # (26 + 24) kWh x CT 2 = 100 kWh. On-peak 17-19h: (2 + 2 + 1) + (1 + 1 + 1) = 8 x 2 = 16.
    assert D(body["total"]) == D("100")
    assert {k: D(v) for k, v in body["by_tou"].items()} == {"0": D("84"), "1": D("16")}
    # The largest hour is 2 kWh x 2 = 4 kWh in 60 minutes: 4 kW, at 17:00 EDT = 21:00 UTC.
    assert D(body["max_demand_kw"]) == D("4")
    assert body["max_demand_at"].startswith("2026-06-10T21:00:00")
    assert (body["interval_count"], body["missing_intervals"], body["estimated_intervals"]) == (48, 0, 1)
    assert body["complete"] is True
    assert body["service_point"] == service_point.pk


def test_as_of_cuts_the_period_and_the_id_works_too(api_for, billing_user, service_point):
    response = api_for(billing_user).get(
        URL, params(service_point=str(service_point.pk), as_of="2026-06-11", detail="hour")
    )

    assert response.status_code == 200
    body = response.json()
    assert body["period_end"] == "2026-06-11"
    assert D(body["total"]) == D("52")  # June 10 only: 26 x 2
    assert len(body["by_hour"]) == 24
    assert D(body["by_hour"][17]["quantity"]) == D("4")
