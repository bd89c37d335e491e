"""Meters over REST (issue 9): provision a meter with its channels, read it with its record of
installation, install it at a service point, exchange it (old out with its final read, new in
with its first read) and remove it; each error precise, each write audited with who and why."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps

from cis.tests.factories import ServicePointFactory
from mdm.models import Channel, ChannelMultiplier, Installation, Meter
from mdm.tests.factories import MeterFactory

pytestmark = pytest.mark.django_db

TORONTO = ZoneInfo("America/Toronto")
METER = {
    "serial_number": "E9001234", "kind": "electric_single_phase", "manufacturer": "Itron", "model": "Gen5",
    "channels": [{"unit": "kWh", "direction": "delivered", "interval_minutes": 15},
                 {"unit": "kWh", "direction": "received", "interval_minutes": 15},
                 {"unit": "kWh"}],
    "reason": "AMI deployment wave 3",
}


@pytest.fixture(autouse=True)
def zone(settings):
    settings.UTILIS_LOCAL_TIME_ZONE = "America/Toronto"


@pytest.fixture
def metering(api_for, metering_user):
    return api_for(metering_user)


@pytest.fixture
def sp():
    return ServicePointFactory(sp_number="SP00000031")


def installed(serial: str, sp_number: str, at: str = "2026-01-05T10:00:00-05:00", read: str = "100.5"):
    meter = MeterFactory(serial_number=serial)
    sp = ServicePointFactory(sp_number=sp_number)
    Installation.objects.create(meter=meter, service_point=sp, commodity="electric",
                                installed_at=dt.datetime.fromisoformat(at), install_read=Decimal(read))
    Meter.objects.filter(pk=meter.pk).update(status=Meter.Status.INSTALLED)
    return meter, sp


# ---- provisioning -----------------------------------------------------------------------------

def test_provisioning_creates_the_meter_in_stock_with_its_channels_numbered_in_order(metering):
    response = metering.post("/api/mdm/meters/", METER, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["serial_number"] == "E9001234" and body["status"] == "in_stock" and body["installations"] == []
    assert [(c["channel_number"], c["direction"], c["interval_minutes"]) for c in body["channels"]] == [
        (1, "delivered", 15), (2, "received", 15), (3, "delivered", None)]
    assert Channel.objects.filter(meter__serial_number="E9001234").count() == 3


def test_provisioning_the_same_serial_again_answers_409_and_creates_nothing(metering):
    assert metering.post("/api/mdm/meters/", METER, format="json").status_code == 201
    again = metering.post("/api/mdm/meters/", {**METER, "serial_number": "e9001234"}, format="json")
    assert again.status_code == 409
    assert again.json() == {"detail": "Meter E9001234 already exists; nothing was created."}
    assert Meter.objects.count() == 1 and Channel.objects.count() == 3


def test_provisioning_with_multipliers_applies_them_to_every_channel(metering):
    body = {**METER, "serial_number": "CT-1", "multipliers": [{"start_date": "2026-01-01", "ct_ratio": "40"}]}
    assert metering.post("/api/mdm/meters/", body, format="json").status_code == 201
    ratios = set(ChannelMultiplier.objects.filter(channel__meter__serial_number="CT-1").values_list("ct_ratio", flat=True))
    assert ratios == {Decimal("40")} and ChannelMultiplier.objects.count() == 3


@pytest.mark.parametrize("change, field, words", [
    ({"channels": []}, "channels", "at least one channel"),
    ({"channels": [{"unit": "kWh"}, {"unit": "kWh"}]}, "channels", "second kWh delivered channel"),
    ({"channels": [{"unit": "parsecs"}]}, "channels", "not a valid choice"),
    ({"channels": [{"unit": "kWh", "interval_minutes": 7}]}, "channels", "not a valid choice"),
    ({"kind": "steam"}, "kind", "not a valid choice"),
    ({"serial_number": "  "}, "serial_number", "may not be blank"),
    ({"multipliers": [{"start_date": "2026-01-01"}, {"start_date": "2026-02-01"}]}, "multipliers", "overlap"),
])
def test_a_bad_meter_is_a_400_on_the_field(metering, change, field, words):
    response = metering.post("/api/mdm/meters/", {**METER, **change}, format="json")
    assert response.status_code == 400, response.content
    assert words in str(response.json()[field])
    assert not Meter.objects.exists()


def test_csrs_and_billing_staff_read_meters_but_may_not_provision(api_for, csr, billing_user):
    MeterFactory(serial_number="R1")
    for user in (csr, billing_user):
        client = api_for(user)
        assert client.get("/api/mdm/meters/R1/").status_code == 200
        assert client.post("/api/mdm/meters/", METER, format="json").status_code == 403


def test_an_api_client_provisions(api_for, make_user):
    client = api_for(make_user("headend", "api_client"))
    assert client.post("/api/mdm/meters/", METER, format="json").status_code == 201


# ---- install, exchange, remove ----------------------------------------------------------------

def test_install_opens_an_installation_and_the_meter_shows_it(metering, sp):
    MeterFactory(serial_number="E1")
    response = metering.post("/api/mdm/meters/E1/install/", {
        "service_point": "sp00000031", "installed_at": "2026-03-02T09:30", "install_read": "12.5"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["service_point"] == "SP00000031" and body["current"] is True and body["install_read"] == "12.5000"
    # An offset-less time is the utility's local time.
    assert dt.datetime.fromisoformat(body["installed_at"]) == dt.datetime(2026, 3, 2, 9, 30, tzinfo=TORONTO)
    meter = metering.get("/api/mdm/meters/E1/").json()
    assert meter["status"] == "installed" and [i["service_point"] for i in meter["installations"]] == ["SP00000031"]
    listed = metering.get("/api/mdm/meters/?service_point=SP00000031").json()
    assert [m["serial_number"] for m in listed["results"]] == ["E1"]


def test_install_names_what_is_in_the_way(metering):
    installed("OLD1", "SP1")
    MeterFactory(serial_number="NEW1")
    taken = metering.post("/api/mdm/meters/NEW1/install/", {"service_point": "SP1", "installed_at": "2026-03-01T00:00Z"},
                          format="json")
    assert taken.status_code == 409
    assert "Service point SP1 has electric meter OLD1 installed from 2026-01-05" in taken.json()["detail"]
    ServicePointFactory(sp_number="SP2")
    busy = metering.post("/api/mdm/meters/OLD1/install/", {"service_point": "SP2", "installed_at": "2026-03-01T00:00Z"},
                         format="json")
    assert busy.status_code == 409 and "Meter OLD1 is installed at SP1" in busy.json()["detail"]


@pytest.mark.parametrize("body, field, words", [
    ({"service_point": "NOPE", "installed_at": "2026-03-01T00:00Z"}, "service_point", "There is no service point NOPE."),
    ({"service_point": "SPW", "installed_at": "2026-03-01T00:00Z"}, "service_point", "SPW is water; meter E2 measures electric"),
    ({"service_point": "SP00000031", "installed_at": "yesterday"}, "installed_at", "Datetime has wrong format"),
    ({"service_point": "SP00000031", "installed_at": "2026-03-01T00:00Z", "install_read": "-1"}, "install_read",
     "greater than or equal to 0"),
])
def test_a_bad_install_is_a_400_on_the_field(metering, sp, body, field, words):
    ServicePointFactory(sp_number="SPW", commodity="water")
    MeterFactory(serial_number="E2")
    response = metering.post("/api/mdm/meters/E2/install/", body, format="json")
    assert response.status_code == 400, response.content
    assert words in str(response.json()[field])
    assert not Installation.objects.exists()


def test_an_unknown_meter_in_the_url_is_404(metering):
    response = metering.post("/api/mdm/meters/NOPE/install/", {"service_point": "SP1", "installed_at": "2026-03-01T00:00Z"},
                             format="json")
    assert response.status_code == 404 and response.json() == {"detail": "There is no meter NOPE."}


def test_exchange_closes_the_old_meter_and_opens_the_new_one_at_the_same_instant(metering, metering_user):
    installed("OLD2", "SP3")
    MeterFactory(serial_number="NEW2")
    response = metering.post("/api/mdm/meters/OLD2/exchange/", {
        "new_meter": "NEW2", "at": "2026-03-10T14:30:00-05:00", "removal_read": "2345.6", "install_read": "0",
        "reason": "Failed display"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["removed"]["meter"] == "OLD2" and body["removed"]["removal_read"] == "2345.6000"
    assert body["installed"]["meter"] == "NEW2" and body["installed"]["service_point"] == "SP3"
    assert body["removed"]["removed_at"] == body["installed"]["installed_at"]
    assert dict(Meter.objects.values_list("serial_number", "status")) == {"OLD2": "removed", "NEW2": "installed"}
    # Audited: who and why on the installation rows the exchange wrote.
    events = apps.get_model("mdm", "InstallationEvent").objects.filter(pgh_obj__meter__serial_number__in=["OLD2", "NEW2"])
    contexts = {(e.pgh_label, e.pgh_context.metadata.get("user"), e.pgh_context.metadata.get("reason"),
                 e.pgh_context.metadata.get("action")) for e in events.filter(pgh_context__isnull=False).select_related("pgh_context")}
    assert ("update", metering_user.pk, "Failed display", "meter_exchange") in contexts
    assert ("insert", metering_user.pk, "Failed display", "meter_exchange") in contexts


@pytest.mark.parametrize("body, status, field, words", [
    ({"new_meter": "OLD3", "at": "2026-03-10T00:00Z"}, 400, "new_meter", "another meter"),
    ({"new_meter": "GHOST", "at": "2026-03-10T00:00Z"}, 400, "new_meter", "There is no meter GHOST."),
    ({"new_meter": "WAT", "at": "2026-03-10T00:00Z"}, 400, "new_meter", "measures water"),
    ({"new_meter": "NEW3", "at": "2025-12-01T00:00Z"}, 400, "at", "the exchange must be after that"),
    ({"new_meter": "BUSY", "at": "2026-03-10T00:00Z"}, 409, "detail", "Meter BUSY is installed at SP5"),
])
def test_a_bad_exchange_says_why_and_changes_nothing(metering, body, status, field, words):
    installed("OLD3", "SP4")
    installed("BUSY", "SP5")
    MeterFactory(serial_number="NEW3")
    MeterFactory(serial_number="WAT", kind="water")
    response = metering.post("/api/mdm/meters/OLD3/exchange/", body, format="json")
    assert response.status_code == status, response.content
    assert words in str(response.json()[field])
    assert Installation.objects.filter(removed_at__isnull=True).count() == 2


def test_exchange_of_a_meter_not_installed_is_a_400(metering):
    MeterFactory(serial_number="IDLE")
    MeterFactory(serial_number="NEW4")
    response = metering.post("/api/mdm/meters/IDLE/exchange/", {"new_meter": "NEW4", "at": "2026-03-10T00:00Z"},
                             format="json")
    assert response.status_code == 400
    assert response.json() == {"serial_number": ["Meter IDLE is not installed anywhere; install the new meter instead."]}


def test_remove_closes_the_installation_with_the_final_read(metering):
    installed("OUT1", "SP6")
    response = metering.post("/api/mdm/meters/OUT1/remove/", {"removed_at": "2026-03-12T08:00Z", "removal_read": "555"},
                             format="json")
    assert response.status_code == 200, response.content
    assert response.json()["current"] is False and response.json()["removal_read"] == "555.0000"
    assert Meter.objects.get(serial_number="OUT1").status == "removed"
    again = metering.post("/api/mdm/meters/OUT1/remove/", {"removed_at": "2026-03-13T08:00Z"}, format="json")
    assert again.status_code == 400
    assert again.json() == {"serial_number": ["Meter OUT1 is not installed anywhere."]}


def test_remove_before_the_installation_is_a_400(metering):
    installed("OUT2", "SP7")
    response = metering.post("/api/mdm/meters/OUT2/remove/", {"removed_at": "2026-01-01T00:00Z"}, format="json")
    assert response.status_code == 400 and "cannot be removed before that" in response.json()["removed_at"][0]
    assert Installation.objects.get(meter__serial_number="OUT2").removed_at is None


def test_writes_are_refused_to_csrs(api_for, csr):
    installed("OUT3", "SP8")
    response = api_for(csr).post("/api/mdm/meters/OUT3/remove/", {"removed_at": "2026-03-12T08:00Z"}, format="json")
    assert response.status_code == 403


def test_the_openapi_document_has_the_meter_operations_with_their_errors(metering):
    paths = metering.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["paths"]
    assert {"201", "400", "409"} <= set(paths["/api/mdm/meters/"]["post"]["responses"])
    for action in ("install", "exchange"):
        assert {"201", "400", "403", "404", "409"} <= set(paths[f"/api/mdm/meters/{{serial}}/{action}/"]["post"]["responses"])
    assert {"200", "400", "404"} <= set(paths["/api/mdm/meters/{serial}/remove/"]["post"]["responses"])
