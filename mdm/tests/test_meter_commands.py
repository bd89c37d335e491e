"""The meter_provision, meter_exchange and meter_remove commands an operator scripts: each does
one service call, prints what it did, and refuses with a precise message (exit status 1)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError

from cis.tests.factories import ServicePointFactory
from mdm.models import Channel, Installation, Meter
from mdm.tests.factories import MeterFactory

pytestmark = pytest.mark.django_db

TORONTO = ZoneInfo("America/Toronto")


@pytest.fixture(autouse=True)
def zone(settings):
    settings.UTILIS_LOCAL_TIME_ZONE = "America/Toronto"


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_provision_with_channels_and_install():
    ServicePointFactory(sp_number="SP00000031")
    out = run("meter_provision", "E77", "--kind", "electric_single_phase", "--channel", "kWh:delivered:15",
              "--channel", "kWh:received:15", "--channel", "kWh", "--install", "SP00000031",
              "--at", "2026-03-10T09:00", "--read", "0", "--reason", "wave 3")
    assert "Meter E77 provisioned with 3 channel(s): kWh delivered 15, kWh received 15, kWh delivered register." in out
    assert "Installed at SP00000031 from 2026-03-10T09:00:00-04:00." in out
    assert list(Channel.objects.filter(meter__serial_number="E77").values_list("channel_number", "interval_minutes")) == [
        (1, 15), (2, 15), (3, None)]
    installation = Installation.objects.get(meter__serial_number="E77")
    assert installation.installed_at == dt.datetime(2026, 3, 10, 9, tzinfo=TORONTO)
    # The system actor, named after the command, with the reason.
    event = apps.get_model("mdm", "MeterEvent").objects.filter(pgh_obj__serial_number="E77", pgh_label="insert").get()
    assert event.pgh_context.metadata["actor"] == "manage.py meter_provision"
    assert event.pgh_context.metadata["reason"] == "wave 3"


def test_provision_twice_fails_unless_exists_ok():
    run("meter_provision", "E78", "--kind", "gas", "--channel", "m3")
    with pytest.raises(CommandError, match="Meter E78 already exists; nothing was created."):
        run("meter_provision", "E78", "--kind", "gas", "--channel", "m3")
    assert "already exists" in run("meter_provision", "E78", "--kind", "gas", "--channel", "m3", "--exists-ok")
    assert Meter.objects.filter(serial_number="E78").count() == 1


@pytest.mark.parametrize("args, message", [
    (["--kind", "gas"], "Give at least one --channel"),
    (["--kind", "gas", "--channel", "parsec"], "unknown unit 'parsec'"),
    (["--kind", "gas", "--channel", "m3:sideways"], "the direction is delivered or received"),
    (["--kind", "gas", "--channel", "m3:delivered:7"], "the interval is 5, 15, 30 or 60 minutes"),
    (["--kind", "gas", "--channel", "m3", "--install", "SP1"], "--install needs --at"),
    (["--kind", "gas", "--channel", "m3", "--install", "SP1", "--at", "noon"], "is not a time"),
    (["--kind", "gas", "--channel", "m3", "--user", "nobody"], "There is no user 'nobody'."),
])
def test_provision_refuses_bad_options_precisely(args, message):
    with pytest.raises(CommandError, match=message):
        run("meter_provision", "E79", *args)
    assert not Meter.objects.exists()


def test_provision_then_install_at_an_unknown_service_point_says_so():
    with pytest.raises(CommandError, match="Provisioned, but not installed: There is no service point NOPE."):
        run("meter_provision", "E80", "--kind", "electric_polyphase", "--channel", "kWh", "--install", "NOPE",
            "--at", "2026-03-10T09:00")


def installed(serial: str, sp_number: str) -> Meter:
    meter = MeterFactory(serial_number=serial)
    Installation.objects.create(meter=meter, service_point=ServicePointFactory(sp_number=sp_number), commodity="electric",
                                installed_at=dt.datetime(2026, 1, 5, 15, tzinfo=dt.timezone.utc))
    return meter


def test_exchange_as_a_named_operator(make_user):
    operator = make_user("shop1")
    installed("OLD", "SP9")
    MeterFactory(serial_number="NEW")
    out = run("meter_exchange", "OLD", "NEW", "--at", "2026-03-10T14:30:00-05:00", "--removal-read", "2345.6",
              "--install-read", "0", "--reason", "failed display", "--user", "shop1")
    assert out.strip() == "Meter OLD out and NEW in at SP9, 2026-03-10T14:30:00-05:00."
    old = Installation.objects.get(meter__serial_number="OLD")
    assert old.removal_read == Decimal("2345.6") and old.removed_at == Installation.objects.get(
        meter__serial_number="NEW").installed_at
    event = apps.get_model("mdm", "InstallationEvent").objects.filter(pgh_obj=old, pgh_label="update").get()
    assert event.pgh_context.metadata["user"] == operator.pk and event.pgh_context.metadata["reason"] == "failed display"


def test_exchange_and_remove_refuse_precisely():
    installed("OLD2", "SP10")
    with pytest.raises(CommandError, match="There is no meter GHOST."):
        run("meter_exchange", "OLD2", "GHOST", "--at", "2026-03-10T00:00", "--reason", "x")
    with pytest.raises(CommandError, match="--removal-read: 'lots' is not a number."):
        run("meter_exchange", "OLD2", "OLD2", "--at", "2026-03-10T00:00", "--removal-read", "lots", "--reason", "x")
    with pytest.raises(CommandError, match="cannot be removed before that"):
        run("meter_remove", "OLD2", "--at", "2025-01-01T00:00", "--reason", "x")
    with pytest.raises(CommandError, match="the following arguments are required: --reason"):
        run("meter_remove", "OLD2", "--at", "2026-03-10T00:00")


def test_remove_with_the_final_read():
    installed("OUT", "SP11")
    out = run("meter_remove", "OUT", "--at", "2026-03-12T08:00", "--read", "555", "--reason", "disconnected")
    assert out.strip() == "Meter OUT removed from SP11 at 2026-03-12T08:00:00-04:00."
    assert Meter.objects.get(serial_number="OUT").status == "removed"
    with pytest.raises(CommandError, match="Meter OUT is not installed anywhere."):
        run("meter_remove", "OUT", "--at", "2026-03-13T08:00", "--reason", "again")


@pytest.mark.parametrize("command", ["meter_provision", "meter_exchange", "meter_remove"])
def test_each_command_explains_itself_in_help(command, capsys):
    with pytest.raises(SystemExit):
        call_command(command, "--help")
    text = capsys.readouterr().out
    assert "--reason" in text and "--user" in text and "audit" in text
