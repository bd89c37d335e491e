"""Every task has a queue, and a person's work goes to the interactive one (config.celery):
one queue made a user's upload and a bill run wait 12 minutes behind the demo's backlog."""
from __future__ import annotations

from unittest import mock

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from config.celery import BILLING, IMPORTS, INTERACTIVE, QUEUES, VEE, app, queued_for_a_person
from conftest import PASSWORD
from mdm.importing import import_run_submit
from mdm.tests.factories import ChannelFactory

NAME_ROUTES = settings.CELERY_TASK_ROUTES[1]
CSV = "meter_serial,unit,direction,interval_minutes,interval_end,value\nE200,kWh,delivered,60,2026-06-10T05:00:00Z,1.5\n"


def _queue(name: str, **options) -> str:
    queue = app.amqp.router.route(options, name)["queue"]
    return queue if isinstance(queue, str) else queue.name


def _project_tasks() -> list[str]:
    app.loader.import_default_modules()
    return sorted(name for name in app.tasks if not name.startswith("celery."))


def test_every_task_of_the_project_is_routed_by_name_to_one_of_the_queues():
    tasks = _project_tasks()
    assert {"mdm.tasks.import_file_task", "billing.tasks.bill_run_chunk", "core.runs.sweep"} <= set(tasks)
    assert sorted(NAME_ROUTES) == tasks
    assert {route["queue"] for route in NAME_ROUTES.values()} <= set(QUEUES)
    assert settings.CELERY_TASK_DEFAULT_QUEUE == INTERACTIVE


def test_batch_work_queued_outside_a_request_goes_to_the_queue_of_its_kind():
    assert _queue("mdm.tasks.import_file_task") == IMPORTS
    assert _queue("mdm.tasks.import_chunk") == IMPORTS
    assert _queue("mdm.tasks.vee_after_import_task") == VEE
    assert _queue("mdm.tasks.vee_run_chunk") == VEE
    assert _queue("billing.tasks.bill_run_chunk") == BILLING
    assert _queue("billing.tasks.bill_documents_render") == BILLING
    # short housekeeping never waits behind a backlog
    assert _queue("cis.tasks.moves_apply_due") == INTERACTIVE
    assert _queue("core.runs.sweep") == INTERACTIVE


def test_work_queued_for_a_person_goes_to_the_interactive_queue_unless_the_sender_names_one():
    with queued_for_a_person():
        assert _queue("mdm.tasks.import_file_task") == INTERACTIVE
        assert _queue("billing.tasks.bill_run_chunk") == INTERACTIVE
        assert _queue("billing.tasks.bill_documents_render") == INTERACTIVE
        # a task's follow-ups name the queue it came from (mdm.tasks, vee_runs)
        assert _queue("mdm.tasks.import_chunk", queue=IMPORTS) == IMPORTS
    assert _queue("mdm.tasks.import_file_task") == IMPORTS


def _sent_queues(publish: mock.MagicMock) -> list[tuple[str, str]]:
    out = []
    for call in publish.call_args_list:
        queue = call.kwargs["queue"]
        out.append((call.args[1], queue if isinstance(queue, str) else queue.name))
    return out


@pytest.mark.django_db(transaction=True)  # the upload's task is sent when its transaction commits
def test_an_upload_in_the_meter_hub_is_queued_interactive_and_a_scripted_one_by_kind(client, metering_user):
    ChannelFactory(interval_minutes=60, meter__serial_number="E200")
    client.login(username=metering_user.username, password=PASSWORD)
    with mock.patch.object(app.amqp, "send_task_message") as publish:
        response = client.post("/meters/imports/upload/", {"format": "csv", "file": SimpleUploadedFile("a.csv", CSV.encode())})
        assert response.status_code == 302
        assert _sent_queues(publish) == [("mdm.tasks.import_file_task", INTERACTIVE)]

        publish.reset_mock()
        import_run_submit(content=CSV.replace("1.5", "2.5").encode(), file_name="b.csv", format="csv",
                          now=timezone.now())
        assert _sent_queues(publish) == [("mdm.tasks.import_file_task", IMPORTS)]
