"""The Celery app, its queues and the rule that sends a person's work ahead of batch work.

Queues (docs/operations.md, Queues and workers):

* `interactive`: what a person is waiting for: anything queued while a web request is served
  (an upload in the Meter Hub, a bill run started in the Billing Hub, a bill's PDF), the work it
  fans out into (mdm's and billing's tasks send their follow-ups to the queue they came from),
  and the short beat housekeeping (due moves, the runs sweeper);
* `imports`, `vee`, `billing`: the same kinds of task queued by scripts, commands and beat
  (the demo's preparation, `manage.py bill_run`, rebills of replacement reads), by kind.

`bin/utilis start` runs one worker for `interactive` alone and one for every queue, so a
person's upload never waits behind a backlog of batch work."""
import os
from contextlib import contextmanager
from contextvars import ContextVar

from celery import Celery
from django.core.signals import request_finished, request_started

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

INTERACTIVE, IMPORTS, VEE, BILLING = "interactive", "imports", "vee", "billing"
QUEUES = (INTERACTIVE, IMPORTS, VEE, BILLING)

_for_a_person: ContextVar[bool] = ContextVar("utilis_celery_for_a_person", default=False)


@contextmanager
def queued_for_a_person():
    """Tasks sent inside go to the interactive queue (what a web request does for its user)."""
    token = _for_a_person.set(True)
    try:
        yield
    finally:
        _for_a_person.reset(token)


def _request_started(**kwargs) -> None:
    _for_a_person.set(True)


def _request_finished(**kwargs) -> None:
    _for_a_person.set(False)


# Connected here because every process that sends tasks imports this module (config/__init__).
request_started.connect(_request_started, dispatch_uid="utilis-celery-request-started")
request_finished.connect(_request_finished, dispatch_uid="utilis-celery-request-finished")


def route_for_a_person(name, args, kwargs, options, task=None, **kw):
    """The first of CELERY_TASK_ROUTES: work queued while serving a person goes to the
    interactive queue; otherwise the routes by task name decide (None). A `queue=` given by
    the sender (a task's follow-ups) wins over both."""
    return {"queue": INTERACTIVE} if _for_a_person.get() else None


app = Celery("utilis")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# core.runs' sweeper (core/runs/tasks.py) lives below core's own package.
app.autodiscover_tasks(["core.runs"])
