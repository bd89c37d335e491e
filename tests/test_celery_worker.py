"""The due-move task on a real Celery worker process (Redis broker, the test database)."""
import datetime as dt
import zoneinfo

import pytest
from django.conf import settings
from django.utils import timezone

from cis.models import Account, Move, ServiceAgreement
from cis.tasks import moves_apply_due
from cis.tests.factories import AccountFactory, ServiceAgreementFactory, ServicePointFactory
from service_orders.models import ServiceOrder
from tests.celery_helpers import celery_worker, database_url_for, redis_url_for_test_worker  # noqa: F401

TASK_TIMEOUT_S = 60


def utility_today() -> dt.date:
    # The task reads the real clock in the utility's zone; the moves below are dated from it.
    return timezone.localdate(timezone=zoneinfo.ZoneInfo(settings.UTILIS_LOCAL_TIME_ZONE))


@pytest.mark.celery_worker
def test_worker_applies_the_due_pending_moves_and_leaves_future_ones(celery_worker):
    today = utility_today()
    yesterday = today - dt.timedelta(days=1)
    # Inserted directly: the move-in service would apply a past-dated move at once.
    sp = ServicePointFactory()
    newcomer = AccountFactory(opened_date=yesterday - dt.timedelta(days=30))
    due_in = Move.objects.create(
        kind=Move.Kind.MOVE_IN, account=newcomer, service_point=sp, effective_date=yesterday, rate_code="RES"
    )
    leaving = ServiceAgreementFactory(start_date=yesterday - dt.timedelta(days=400))
    due_out = Move.objects.create(
        kind=Move.Kind.MOVE_OUT, account=leaving.account, service_point=leaving.service_point,
        effective_date=yesterday, agreement=leaving,
    )
    future = Move.objects.create(
        kind=Move.Kind.MOVE_IN, account=AccountFactory(), service_point=ServicePointFactory(),
        effective_date=today + dt.timedelta(days=7), rate_code="RES",
    )

    result = moves_apply_due.delay()

    assert result.get(timeout=TASK_TIMEOUT_S) == 2, celery_worker.logs()
    for move in (due_in, due_out, future):
        move.refresh_from_db()
    assert due_in.status == Move.Status.COMPLETED and due_out.status == Move.Status.COMPLETED
    assert future.status == Move.Status.PENDING
    started = ServiceAgreement.objects.get(service_point=sp)
    assert (started.account_id, started.start_date, started.end_date) == (newcomer.pk, yesterday, None)
    leaving.refresh_from_db()
    assert leaving.end_date == yesterday
    closed = Account.objects.get(pk=leaving.account_id)
    assert (closed.status, closed.closed_date) == (Account.Status.CLOSED, yesterday)
    assert sorted(ServiceOrder.objects.values_list("order_type", flat=True)) == ["final_read", "initial_read"]
    # The worker wrote through its own connection; the log shows it ran the task.
    assert "cis.tasks.moves_apply_due" in celery_worker.logs()


@pytest.mark.celery_worker
def test_running_the_task_again_on_the_worker_applies_nothing_twice(celery_worker):
    yesterday = utility_today() - dt.timedelta(days=1)
    sp = ServicePointFactory()
    Move.objects.create(
        kind=Move.Kind.MOVE_IN, account=AccountFactory(), service_point=sp, effective_date=yesterday, rate_code="RES"
    )

    first = moves_apply_due.delay().get(timeout=TASK_TIMEOUT_S)
    second = moves_apply_due.apply_async(kwargs={}).get(timeout=TASK_TIMEOUT_S)

    assert (first, second) == (1, 0), celery_worker.logs()
    assert ServiceAgreement.objects.filter(service_point=sp).count() == 1
    assert ServiceOrder.objects.filter(order_type="initial_read").count() == 1


def test_worker_database_url_names_the_test_database():
    settings_dict = {"NAME": "test_utilis_qa", "USER": "postgres", "PASSWORD": "", "HOST": "127.0.0.1", "PORT": "5432"}
    assert database_url_for(settings_dict) == "postgres://postgres@127.0.0.1:5432/test_utilis_qa"
    settings_dict.update(PASSWORD="p@ss:word", HOST="", PORT="")
    assert database_url_for(settings_dict) == "postgres://postgres:p%40ss%3Aword@127.0.0.1:5432/test_utilis_qa"


@pytest.mark.parametrize(
    "base, xdist_worker, expected",
    [
        ("redis://127.0.0.1:6379/4", None, "redis://127.0.0.1:6379/4"),
        ("redis://127.0.0.1:6379/4", "gw0", "redis://127.0.0.1:6379/4"),
        ("redis://127.0.0.1:6379/4", "gw3", "redis://127.0.0.1:6379/7"),
        ("redis://127.0.0.1:6379/14", "gw5", "redis://127.0.0.1:6379/3"),
        ("redis://127.0.0.1:6379", "gw2", "redis://127.0.0.1:6379/2"),
    ],
)
def test_each_xdist_worker_gets_its_own_redis_database(base, xdist_worker, expected):
    assert redis_url_for_test_worker(base, xdist_worker) == expected


def test_worker_database_url_keeps_a_unix_socket_server():
    import dj_database_url

    url = database_url_for({"NAME": "test_utilis", "USER": "postgres", "HOST": "", "PORT": "",
                            "OPTIONS": {"host": "/srv/pg data"}})
    parsed = dj_database_url.parse(url)
    assert (parsed["NAME"], parsed["OPTIONS"]["host"], parsed["HOST"]) == ("test_utilis", "/srv/pg data", "")
