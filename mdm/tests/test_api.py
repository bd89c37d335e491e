"""The MDM REST API: upload a read file, poll it, read the quarantine, meters and intervals."""
from __future__ import annotations


import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from config.celery import app as celery_app
from mdm.models import ImportRun, QuarantinedRecord
from mdm.tests.factories import ChannelFactory, MeterFactory

pytestmark = pytest.mark.django_db

CSV = (
    "meter_serial,unit,direction,interval_minutes,interval_end,value\n"
    "E100,kWh,delivered,60,2026-06-10T05:00:00Z,1.5\n"
    "E100,kWh,delivered,60,2026-06-10T06:00:00Z,2.5\n"
    "NOPE,kWh,delivered,60,2026-06-10T06:00:00Z,2.5\n"
)


@pytest.fixture(autouse=True)
def isolated(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.UTILIS_LOCAL_TIME_ZONE = "America/Toronto"


@pytest.fixture
def eager(settings):
    """Celery tasks run in-process (the Celery app has read its config already, so set both)."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    before = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = before


@pytest.fixture
def channel():
    return ChannelFactory(meter=MeterFactory(serial_number="E100"), unit="kWh", interval_minutes=60)


def upload(client, content: str = CSV, name: str = "reads.csv", fmt: str = "csv"):
    return client.post(
        "/api/mdm/imports/", {"file": SimpleUploadedFile(name, content.encode()), "format": fmt}, format="multipart"
    )


def test_upload_answers_202_with_an_id_and_the_poll_shows_done(api_for, metering_user, channel, eager,
                                                                 django_capture_on_commit_callbacks):
    client = api_for(metering_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client)
    assert response.status_code == 202
    run_id = response.json()["id"]
    assert response.json()["status"] == "queued"

    poll = client.get(f"/api/mdm/imports/{run_id}/")
    assert poll.status_code == 200
    body = poll.json()
    assert (body["status"], body["intervals_loaded"], body["quarantined"]) == ("done", 2, 1)
    assert body["progress_done"] == body["progress_total"] == 2  # blocks: E100 (two rows in a row), NOPE

    quarantine = client.get(f"/api/mdm/imports/{run_id}/quarantine/").json()["results"]
    assert [(q["line"], q["field"]) for q in quarantine] == [(4, "MeterID")]


def test_uploading_the_same_file_again_is_answered_as_a_duplicate(api_for, metering_user, channel, eager,
                                                                  django_capture_on_commit_callbacks):
    client = api_for(metering_user)
    with django_capture_on_commit_callbacks(execute=True):
        first = upload(client).json()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = upload(client, name="resent.csv").json()
    assert callbacks == []  # nothing queued
    assert again["duplicate_of"] == first["id"] and again["status"] == "done" and again["intervals_loaded"] == 0


def test_head_end_api_clients_may_upload_but_csrs_only_read(api_for, make_user, csr, channel):
    head_end = make_user("headend", "api_client")
    assert upload(api_for(head_end)).status_code == 202
    assert upload(api_for(csr), name="other.csv", content=CSV + "\n").status_code == 403
    assert api_for(csr).get("/api/mdm/imports/").status_code == 200
    assert upload(api_for(None)).status_code == 401


def test_unknown_format_is_a_400(api_for, metering_user):
    assert upload(api_for(metering_user), fmt="edi").status_code == 400
    assert not ImportRun.objects.exists()


def test_quarantine_resubmit_and_discard_over_rest(api_for, metering_user, csr, channel, eager,
                                                   django_capture_on_commit_callbacks):
    client = api_for(metering_user)
    text = CSV + "E100,kWh,delivered,60,2026-06-10T07:00:00Z,x\n"
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, content=text)
    unknown, bad_value = QuarantinedRecord.objects.order_by("line")
    url = f"/api/mdm/quarantine/{bad_value.pk}/resubmit/"
    assert api_for(csr).post(url, {"fixed_raw": "E100,kWh,delivered,60,2026-06-10T07:00:00Z,3.5"}).status_code == 403
    ok = client.post(url, {"fixed_raw": "E100,kWh,delivered,60,2026-06-10T07:00:00Z,3.5"}, format="json")
    assert ok.status_code == 200 and ok.json()["status"] == "resubmitted"
    again = client.post(url, {"fixed_raw": "E100,kWh,delivered,60,2026-06-10T07:00:00Z,3.5"}, format="json")
    assert again.status_code == 409
    gone = client.post(f"/api/mdm/quarantine/{unknown.pk}/discard/")
    assert gone.status_code == 200 and gone.json()["status"] == "discarded"


def test_meter_search_and_intervals_with_utc_bounds_and_flags(api_for, csr, metering_user, channel, eager,
                                                              django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        upload(api_for(metering_user))
    client = api_for(csr)
    found = client.get("/api/mdm/meters/", {"serial": "e1"}).json()["results"]
    assert [m["serial_number"] for m in found] == ["E100"]
    assert found[0]["channels"][0]["interval_minutes"] == 60

    body = client.get("/api/mdm/meters/E100/intervals/", {"start": "2026-06-10"}).json()
    assert body["time_zone"] == "America/Toronto"
    (ch,) = body["channels"]
    assert len(ch["intervals"]) == 24
    first, second, third = ch["intervals"][:3]
    # Local midnight of 2026-06-10 (EDT) is 04:00Z.
    assert (first["start"], first["end"], first["value"], first["flag"]) == (
        "2026-06-10T04:00:00Z", "2026-06-10T05:00:00Z", 1.5, "actual")
    assert (second["value"], third["value"], third["flag"]) == (2.5, None, "missing")
    assert client.get("/api/mdm/meters/E100/intervals/", {"start": "2026-06-10", "end": "2026-06-01"}).status_code == 400
    assert client.get("/api/mdm/meters/NOPE/intervals/", {"start": "2026-06-10"}).status_code == 404


@pytest.mark.parametrize("model", ["meter", "channel", "installation", "importrun", "quarantinedrecord",
                                   "replacementreadnotice", "virtualmeter", "billedthrough", "registerread"])
def test_admin_change_lists_open(client, django_user_model, channel, model):
    admin = django_user_model.objects.create_superuser("root", "root@example.test", "pw-utilis-1")
    client.force_login(admin)
    assert client.get(f"/admin/mdm/{model}/").status_code == 200
