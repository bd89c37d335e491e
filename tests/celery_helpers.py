"""A real Celery worker for tests: a `celery -A config worker --pool solo` subprocess on the
pytest-django test database and a Redis database of its own.

Use it from any app's tests by importing the fixture into the test module:

    from tests.celery_helpers import celery_worker  # noqa: F401  (pytest fixture)

    @pytest.mark.celery_worker
    def test_runs_on_a_worker(celery_worker):
        result = my_task.delay(run_id=run.pk)
        assert result.get(timeout=60) == ...

The fixture uses `transactional_db` (the worker is another process: it only sees committed
rows), sends tasks through the project's Celery app pointed at the worker's broker, and stops
the worker (by its own pid) when the test ends. The worker consumes every queue of the project
(config.celery.QUEUES: tasks keep their real routes) and a queue of the test's own, where a task
with no route goes.

Redis: the database number in REDIS_URL is the first of a block. Without xdist the tests use
it; xdist worker gwN uses that number + N (mod 16), so parallel test workers never read each
other's queues. The database is flushed before the worker starts.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import kombu.pools
import pytest

from config.celery import QUEUES

ROOT = Path(__file__).resolve().parents[1]
REDIS_DATABASES = 16  # Redis's default `databases` setting
READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0


def database_url_for(settings_dict: dict) -> str:
    """A DATABASE_URL for the database a Django connection is using (after pytest-django
    set up the test database, its NAME is the test database's)."""
    user = quote(settings_dict.get("USER") or "", safe="")
    password = settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{quote(password, safe='')}@" if password else (f"{user}@" if user else "")
    name = quote(settings_dict["NAME"], safe="")
    socket_dir = (settings_dict.get("OPTIONS") or {}).get("host")
    if not settings_dict.get("HOST") and socket_dir:
        # A unix-socket server (the embedded PostgreSQL): the socket folder goes in the query.
        query = {"host": socket_dir, **({"port": settings_dict["PORT"]} if settings_dict.get("PORT") else {})}
        return f"postgres://{auth}/{name}?{urlencode(query)}"
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{name}"


def redis_url_for_test_worker(base_url: str, xdist_worker: str | None) -> str:
    """`base_url` with its database number moved by the xdist worker's index (gw3 -> +3)."""
    parts = urlsplit(base_url)
    path = parts.path.strip("/")
    base_db = int(path) if path.isdigit() else 0
    offset = int(xdist_worker[2:]) if xdist_worker and xdist_worker.startswith("gw") else 0
    return urlunsplit(parts._replace(path=f"/{(base_db + offset) % REDIS_DATABASES}"))


@dataclass
class WorkerProcess:
    process: subprocess.Popen
    node_name: str
    queue: str
    broker_url: str
    database_url: str
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def is_running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int:
        """Warm shutdown (SIGTERM lets the current task finish), then SIGKILL if it hangs.
        Only this worker's own pid is signalled."""
        if self.is_running():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)
        return self.process.returncode


def _drop_connections(app) -> None:
    """Forget the app's broker pool and result backend so the next use connects afresh to
    the URLs now in its configuration."""
    # The same references Celery itself drops after a fork (Celery._after_fork and
    # Control._after_fork), without sending the after-fork signal to its receivers.
    # The pool itself lives in kombu's process-wide registry, keyed by broker URL: closing it
    # without resetting the registry would hand the same closed pool back next time.
    kombu.pools.reset()
    app._pool = None
    amqp = app.__dict__.pop("amqp", None)  # rebuilt on next use, with the current default queue
    if amqp is not None:
        amqp._producer_pool = None
    control = app.__dict__.get("control")
    if control is not None:
        try:
            del control.mailbox.producer_pool
        except AttributeError:
            pass
    app._backend_cache = None
    app._local.__dict__.pop("backend", None)


@contextmanager
def app_pointed_at(app, redis_url: str, queue: str) -> Iterator:
    """Send tasks with no route to `queue` (routed ones keep their queue: the test worker
    consumes those too) and read results through `redis_url` for the duration, then restore.
    The Redis database of its own (redis_url_for_test_worker) keeps other workers away."""
    keys = ("broker_url", "result_backend", "task_always_eager", "task_default_queue")
    saved = {key: app.conf[key] for key in keys}
    app.conf.update(broker_url=redis_url, result_backend=redis_url, task_always_eager=False, task_default_queue=queue)
    _drop_connections(app)
    try:
        yield app
    finally:
        _drop_connections(app)
        app.conf.update(saved)


def consumed_queues(queue: str) -> str:
    """The worker's -Q: the test's own queue and every queue tasks are routed to."""
    return ",".join((queue, *QUEUES))


def _die_with_parent() -> None:
    """In the child before exec: on Linux, have the kernel send SIGTERM to the worker when the
    test process dies, so a killed pytest run cannot leave a worker on the test database."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def flush_redis_db(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        client.flushdb()
    finally:
        client.close()


def start_worker(
    *, app, database_url: str, redis_url: str, queue: str, log_path: Path, extra_env: dict | None = None,
    ready_timeout: float = READY_TIMEOUT_S,
) -> WorkerProcess:
    """Start the worker subprocess consuming `queue` (and the routed queues) and wait until it is ready (its log says
    so); `app` must already point at `redis_url`. Raises RuntimeError with the worker's log if
    it dies or is not ready in time."""
    from django.conf import settings

    node_name = f"{queue}@localhost"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "UTILIS_CELERY_EAGER": "false",
        "UTILIS_LOCAL_TIME_ZONE": settings.UTILIS_LOCAL_TIME_ZONE,
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
        **(extra_env or {}),
    }
    log = open(log_path, "w")
    process = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "-l", "info",
            "-n", node_name, "-Q", consumed_queues(queue), "--without-gossip", "--without-mingle", "--without-heartbeat",
        ],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent,
    )
    log.close()  # the child holds its own copy of the descriptor
    worker = WorkerProcess(
        process=process, node_name=node_name, queue=queue, broker_url=redis_url, database_url=database_url, log_path=log_path
    )
    try:
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if not worker.is_running():
                raise RuntimeError(f"Celery worker exited with {process.returncode}:\n{worker.logs()}")
            # The worker logs "<node> ready." once its consumer listens on the queue. A
            # control ping is not used: on a loaded 2-core machine its replies often come
            # after the ping's window, and each retry only queues more pings.
            if f"{node_name} ready." in worker.logs():
                return worker
            time.sleep(0.2)
        raise RuntimeError(f"Celery worker was not ready within {ready_timeout}s:\n{worker.logs()}")
    except BaseException:
        worker.stop()  # never leave a worker behind on the test database
        raise


@pytest.fixture
def celery_worker(transactional_db, tmp_path) -> Iterator[WorkerProcess]:
    """A running worker on the test database; tasks sent with `.delay()` go to it."""
    from django.conf import settings
    from django.db import connection

    from config.celery import app

    redis_url = redis_url_for_test_worker(settings.REDIS_URL, os.environ.get("PYTEST_XDIST_WORKER"))
    queue = f"utilis-test-{uuid.uuid4().hex[:10]}"
    flush_redis_db(redis_url)
    with app_pointed_at(app, redis_url, queue):
        worker = start_worker(
            app=app, database_url=database_url_for(connection.settings_dict), redis_url=redis_url, queue=queue,
            log_path=tmp_path / "celery-worker.log",
        )
        try:
            yield worker
        finally:
            worker.stop()


# ---- a prefork worker that a test kills (SIGKILL) mid-run ------------------------------------

PREFORK_READY_TIMEOUT_S = 180  # a loaded 2-core box can take over a minute to boot a prefork worker


def start_prefork_worker(app, *, redis_url: str, queue: str, log_path: Path, extra_env: dict | None = None,
                         ready_timeout: float = PREFORK_READY_TIMEOUT_S) -> subprocess.Popen:
    """A `--pool prefork --concurrency 1` worker in a session of its own, so `kill_group` takes
    its pool child down with it (as when a machine dies). `app` must point at `redis_url`
    (app_pointed_at). Returns once the worker answers a ping; raises RuntimeError with its log."""
    from django.conf import settings
    from django.db import connection

    node = f"{queue}-{uuid.uuid4().hex[:6]}@localhost"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_URL": database_url_for(connection.settings_dict),
           "REDIS_URL": redis_url, "UTILIS_CELERY_EAGER": "false", "PYTHONUNBUFFERED": "1",
           "UTILIS_LOCAL_TIME_ZONE": settings.UTILIS_LOCAL_TIME_ZONE, "PYTHONPATH": str(ROOT), **(extra_env or {})}
    with open(log_path, "a") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "prefork", "--concurrency", "1",
             "-l", "info", "-n", node, "-Q", consumed_queues(queue), "--without-gossip", "--without-mingle",
             "--without-heartbeat"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=_die_with_parent,  # a killed pytest leaves no worker behind
        )
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(log_path.read_text())
        if app.control.ping(destination=[node], timeout=0.5):
            return proc
    kill_group(proc)
    raise RuntimeError("worker did not answer:\n" + log_path.read_text())


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the process group this test created (start_new_session) and reap it."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def stop_group(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            kill_group(proc)
