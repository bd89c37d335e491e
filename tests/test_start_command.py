"""Ctrl-C on the start command stops everything it started, the embedded servers included.

`bin/utilis run` starts exactly the processes of `bin/utilis start` (bin/services.py's embedded
PostgreSQL and Redis, the two Celery workers, beat, gunicorn, the sandbox card gateway) with the
same clean-up (bin/utilis records each background process as it starts and stops those), without the
minutes of install, migrations and demo data. The test starts it in a session of its own, as a
terminal runs a foreground command, and sends SIGINT to that process group, as Ctrl-C does."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
READY_TIMEOUT_S = 240.0  # initdb and six Django processes booting: ~30 s quiet, minutes on a loaded machine
START_READY_TIMEOUT_S = 900.0  # start adds install, migrations, a small demo and collectstatic
STOP_TIMEOUT_S = 60.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _processes_of(marker: str) -> dict[int, str]:
    """pid -> command line of every process whose command line, environment or working folder
    names `marker` (the run's own UTILIS_LOCAL_DIR: its children inherit it, the embedded
    PostgreSQL has its data folder below it on its command line, the embedded Redis, which
    writes its title over its environment, works in a folder below it)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            environ = (entry / "environ").read_bytes()
            state = next((line for line in (entry / "status").read_text().splitlines() if line.startswith("State:")), "")
            cwd = os.readlink(entry / "cwd")
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if "zombie" in state:
            continue  # exited, only waiting for its parent to read its status
        if marker in cmdline or cwd.startswith(marker) or f"UTILIS_LOCAL_DIR={marker}".encode() in environ.split(b"\0"):
            found[int(entry.name)] = cmdline
    return found


def _kinds(processes: dict[int, str]) -> set[str]:
    kinds = set()
    for cmdline in processes.values():
        for kind in ("postgres", "redis-server", "celery", "gunicorn", "sandbox_server"):
            if kind in cmdline:
                kinds.add(kind)
    return kinds


READY = {"run": "Ctrl-C stops everything", "start": "Press Ctrl-C to stop"}


@pytest.mark.celery_worker  # starts real worker processes: run in the serial pass, not next to xdist
@pytest.mark.parametrize("command_name", ["run", "start"])
def test_ctrl_c_on_the_start_command_leaves_no_server_worker_or_web_process_behind(tmp_path, command_name):
    """`run` is quick; `start` also installs, migrates, loads a small demo utility and leaves
    `manage.py demo_prepare` working in the background, which Ctrl-C must stop too."""
    # Not below pytest's own temporary folder: as root the embedded PostgreSQL runs as a user of
    # its own, who must traverse every parent folder, and any pytest session starting meanwhile
    # (another checkout's) takes the group and other bits off /tmp/pytest-of-root again.
    local = tempfile.mkdtemp(prefix="utilis-start-test-")
    env = {key: value for key, value in os.environ.items()
           if key not in {"DATABASE_URL", "REDIS_URL", "UTILIS_DATABASE_OWNER_URL", "UTILIS_DATABASE_APP_ROLE",
                          "UTILIS_DATABASE_SUPERUSER_URL"}}
    env.update(UTILIS_EMBEDDED="1", UTILIS_LOCAL_DIR=local, UTILIS_PYTHON=sys.executable, UTILIS_PORT=str(_free_port()),
               UTILIS_WEB_WORKERS="1", UTILIS_DEMO_ACCOUNTS="60", UTILIS_SANDBOX_GATEWAY_PORT=str(_free_port()),
               UTILIS_DEBUG="false", UTILIS_SECRET_KEY=os.environ.get("UTILIS_SECRET_KEY") or "x" * 60)
    log_path = tmp_path / "run.log"
    # Through a pipe, as `bin/utilis start | tee log`: Ctrl-C ends the reader too, and the clean-up
    # must go on writing into a closed pipe.
    command = f"bash {ROOT / 'bin' / 'utilis'} {command_name} 2>&1 | cat >{log_path}"
    run = subprocess.Popen(["bash", "-c", command], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                           start_new_session=True)
    log_path.touch()
    try:
        ready_timeout = START_READY_TIMEOUT_S if command_name == "start" else READY_TIMEOUT_S
        deadline = time.monotonic() + ready_timeout
        while READY[command_name] not in log_path.read_text():
            assert run.poll() is None, f"bin/utilis {command_name} exited with {run.returncode}:\n{log_path.read_text()}"
            assert time.monotonic() < deadline, f"not running within {ready_timeout}s:\n{log_path.read_text()}"
            time.sleep(0.5)
        # Given everything the start command runs, embedded servers included
        started = _processes_of(local)
        assert _kinds(started) == {"postgres", "redis-server", "celery", "gunicorn", "sandbox_server"}, started
        assert sum("celery" in c and " worker " in f"{c} " for c in started.values()) >= 2, started
        if command_name == "start":
            assert any("demo_prepare" in c for c in started.values()), started

        # When one of its processes has ended on its own already (beat crashed), and then Ctrl-C
        # reaches the command's process group
        beat = next(pid for pid, cmdline in started.items() if "celery" in cmdline and " beat " in cmdline)
        os.kill(beat, signal.SIGKILL)
        time.sleep(1)
        os.killpg(run.pid, signal.SIGINT)
        run.wait(timeout=STOP_TIMEOUT_S)

        # Then nothing of that run is left
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while _processes_of(local) and time.monotonic() < deadline:
            time.sleep(0.3)
        assert _processes_of(local) == {}, log_path.read_text()
        assert not (Path(local) / "services.json").read_text().strip("{} \n"), "bin/services.py down did not finish"
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait(timeout=30)
        for pid in _processes_of(local):  # only this test's own processes
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(local, ignore_errors=True)
