"""Database roles: the owner role owns the schema and every table (migrations run as it); the
app role (web, workers, beat) owns nothing and gets only the rights it needs.

The protection of the ledger and of the audit trail then holds at the database, not only in
triggers a session could skip: the app role cannot `TRUNCATE`, cannot `ALTER TABLE ... DISABLE
TRIGGER` (only a table's owner can), cannot `SET session_replication_role` (superuser only),
and has `SELECT, INSERT` only on the append-only tables, so `SET LOCAL pgtrigger.ignore` no
longer lets it `UPDATE` or `DELETE` them.

`apply()` runs on a connection as the owner role, after every `migrate` (a post_migrate
handler, see core.apps) and from `manage.py db_roles_apply`; it is idempotent. Settings:
`DATABASES["default"]` is the app role, `DATABASE_OWNER_URL` (UTILIS_DATABASE_OWNER_URL) the
owner's connection, `DATABASE_APP_ROLE` (UTILIS_DATABASE_APP_ROLE) the app role's name when
`migrate` runs with DATABASE_URL set to the owner. With no owner URL nothing changes (a
developer's single-role setup).

Raw SQL changes (psql, not through the app) are audited with the database user: an event row
written with no pghistory context gets a context whose metadata is {"db_user": session_user}
(one per transaction), so the audit trail names who changed the row at the database.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from django.apps import apps
from django.conf import settings

logger = logging.getLogger(__name__)

# Append-only tables that are not found from the models themselves (pghistory events and
# tables with a pgtrigger Protect on UPDATE/DELETE are): superseded interval versions.
EXTRA_APPEND_ONLY_TABLES: tuple[str, ...] = ("pghistory_context", "mdm_interval_day_version")
# Tables the app role may read but not write at all.
READ_ONLY_TABLES: tuple[str, ...] = ("django_migrations",)
# Functions the app role calls that must act with the owner's rights (SECURITY DEFINER):
# creating a month partition of the interval store (CREATE TABLE ... PARTITION OF, moving rows
# out of the default partition) and pghistory's context upsert (ON CONFLICT DO UPDATE on
# pghistory_context, which the app role may not UPDATE).
DEFINER_FUNCTIONS: tuple[str, ...] = ("mdm_interval_partition_ensure(date)", "_pgh_attach_context()")

AUDIT_FUNCTION = "utilis_audit_db_user"
AUDIT_TRIGGER = "utilis_audit_db_user"


class Cursor(Protocol):
    def execute(self, query: Any, params: Any = ..., /) -> Any: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class RolesError(RuntimeError):
    """The roles are not set up so that the protection holds (the report says why)."""


@dataclass
class Applied:
    app_role: str
    owner_role: str
    append_only: list[str] = field(default_factory=list)
    no_delete: list[str] = field(default_factory=list)
    definer_functions: list[str] = field(default_factory=list)
    audited: list[str] = field(default_factory=list)


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def url_user(url: str) -> str:
    """The user name of a postgres:// URL (or a key=value conninfo string)."""
    import psycopg

    if "://" in url:
        return urlsplit(url).username or ""
    return str(psycopg.conninfo.conninfo_to_dict(url).get("user") or "")


def owner_url() -> str:
    return str(getattr(settings, "DATABASE_OWNER_URL", "") or "")


def app_role_name(settings_dict: dict[str, Any]) -> str:
    """The app role: DATABASE_APP_ROLE if set, else the user of the default database."""
    return str(getattr(settings, "DATABASE_APP_ROLE", "") or settings_dict.get("USER") or "")


def _protected_operations(meta: Any) -> set[str]:
    """The operations a model's unconditional pgtrigger Protect triggers refuse on every row
    ("UPDATE", "DELETE"). A Protect with a condition refuses only some rows (e.g. an adjustment
    request may be updated while pending): the app role keeps that right, the trigger decides."""
    import pgtrigger

    refused: set[str] = set()
    for trigger in getattr(meta, "triggers", ()):
        if isinstance(trigger, pgtrigger.Protect) and trigger.condition is None:
            operation = str(trigger.operation).upper()
            refused.update(name for name in ("UPDATE", "DELETE") if name in operation)
    return refused


def append_only_tables() -> list[str]:
    """Every pghistory event table, every table with an unconditional pgtrigger Protect on
    UPDATE (the ledger), and EXTRA_APPEND_ONLY_TABLES."""
    import pghistory.models

    tables: set[str] = set(EXTRA_APPEND_ONLY_TABLES)
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.proxy:
            continue
        if issubclass(model, pghistory.models.Event):
            tables.add(meta.db_table)
            continue
        if meta.managed and "UPDATE" in _protected_operations(meta):
            tables.add(meta.db_table)
    return sorted(tables)


def no_delete_tables() -> list[str]:
    """Tables whose rows are never deleted but may be updated (an unconditional Protect on
    DELETE only, e.g. adjustment requests): the app role gets no DELETE on them."""
    tables: set[str] = set()
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.proxy or not meta.managed:
            continue
        if _protected_operations(meta) == {"DELETE"}:
            tables.add(meta.db_table)
    return sorted(tables)


def _existing_tables(cursor: Cursor, schema: str, names: Iterable[str]) -> list[str]:
    cursor.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND c.relname = ANY(%s) ORDER BY 1",
        [schema, list(names)],
    )
    return [row[0] for row in cursor.fetchall()]


def _check_roles(cursor: Cursor, *, app: str, owner: str) -> None:
    cursor.execute(
        "SELECT rolsuper, rolcreaterole, rolbypassrls, pg_has_role(%s, %s, 'MEMBER') "
        "FROM pg_roles WHERE rolname = %s",
        [app, owner, app],
    )
    row = cursor.fetchone()
    if row is None:
        raise RolesError(f"the app role {app!r} does not exist (create it: see docs/operations.md)")
    superuser, createrole, bypassrls, member = row
    problems = [text for flag, text in (
        (superuser, "is a superuser"), (createrole, "has CREATEROLE"), (bypassrls, "has BYPASSRLS"),
        (member, f"is a member of the owner role {owner!r}"),
    ) if flag]
    if problems:
        raise RolesError(f"the app role {app!r} {', '.join(problems)}: the database protection would not hold")


TAKE_OWNERSHIP_SQL = """
DO $do$
DECLARE
    obj record;
BEGIN
    FOR obj IN
        SELECT c.oid::regclass AS name, c.relkind FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
          AND pg_get_userbyid(c.relowner) <> {owner_literal}
          AND NOT EXISTS (  -- a sequence owned by a column moves with its table
              SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
              AND d.deptype IN ('a', 'i') AND c.relkind = 'S')
        ORDER BY c.relkind = 'S'
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO %I',
            CASE obj.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                 WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
            obj.name, {owner_literal});
    END LOOP;
    FOR obj IN
        SELECT p.oid::regprocedure AS name, p.prokind FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = current_schema() AND pg_get_userbyid(p.proowner) <> {owner_literal}
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                          AND d.objid = p.oid AND d.deptype = 'e')  -- extension members stay
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO %I',
            CASE obj.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END,
            obj.name, {owner_literal});
    END LOOP;
END
$do$;
"""


def take_ownership_sql(owner: str) -> str:
    """SQL (run by a superuser or the current owner) that makes `owner` own every table, view,
    sequence and function of the current schema: for moving a single-role database (tables
    owned by `postgres`) to the two roles."""
    return TAKE_OWNERSHIP_SQL.replace("{owner_literal}", "'" + owner.replace("'", "''") + "'")


def _audit_function_sql(schema: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION {quote_ident(schema)}.{AUDIT_FUNCTION}() RETURNS trigger
LANGUAGE plpgsql SET search_path = {quote_ident(schema)}, pg_temp AS $fn$
DECLARE
    ctx uuid;
BEGIN
    -- An event written with no pghistory context (raw SQL, outside the app) gets one that
    -- names the database user; one context per transaction.
    IF NEW.pgh_context_id IS NULL THEN
        ctx := NULLIF(current_setting('utilis.audit_sql_context', true), '')::uuid;
        IF ctx IS NULL OR NOT EXISTS (SELECT 1 FROM pghistory_context WHERE id = ctx) THEN
            ctx := gen_random_uuid();
            INSERT INTO pghistory_context (id, metadata, created_at, updated_at)
            VALUES (ctx, jsonb_build_object('db_user', session_user::text), now(), now());
            PERFORM set_config('utilis.audit_sql_context', ctx::text, true);
        END IF;
        NEW.pgh_context_id := ctx;
    END IF;
    RETURN NEW;
END
$fn$;
"""


def apply(cursor: Cursor, *, app_role: str, tables: Sequence[str] | None = None) -> Applied:
    """Grant the app role what it needs on the current schema; run as the owner role."""
    cursor.execute("SELECT current_user, current_schema()")
    owner, schema = cursor.fetchone()
    if app_role == owner:
        raise RolesError(
            f"the app role is the owner {owner!r}: set DATABASE_URL to the app role and "
            "UTILIS_DATABASE_OWNER_URL to the owner (or UTILIS_DATABASE_APP_ROLE when migrating)"
        )
    _check_roles(cursor, app=app_role, owner=owner)
    app, schema_q = quote_ident(app_role), quote_ident(schema)
    done = Applied(app_role=app_role, owner_role=owner)

    # Nobody but the owner creates objects in the schema (PostgreSQL < 15 lets PUBLIC).
    cursor.execute("SELECT pg_has_role(current_user, n.nspowner, 'USAGE') FROM pg_namespace n WHERE nspname = %s",
                   [schema])
    if cursor.fetchone()[0]:
        cursor.execute(f"REVOKE CREATE ON SCHEMA {schema_q} FROM PUBLIC")
    cursor.execute(f"REVOKE CREATE ON SCHEMA {schema_q} FROM {app}")
    cursor.execute(f"GRANT USAGE ON SCHEMA {schema_q} TO {app}")

    # Ordinary tables: read and write rows; never TRUNCATE, REFERENCES or TRIGGER.
    cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema_q} TO {app}")
    cursor.execute(f"REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA {schema_q} FROM {app}, PUBLIC")
    # Sequences: next ids, and setval (UPDATE) for the conversion load, which reserves a block of
    # ids and moves number sequences past converted numbers. A sequence holds no business data.
    cursor.execute(f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {schema_q} TO {app}")
    # Tables and partitions the owner creates later (migrations, a new month's partition).
    cursor.execute(f"ALTER DEFAULT PRIVILEGES FOR ROLE {quote_ident(owner)} IN SCHEMA {schema_q} "
                   f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app}")
    cursor.execute(f"ALTER DEFAULT PRIVILEGES FOR ROLE {quote_ident(owner)} IN SCHEMA {schema_q} "
                   f"GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {app}")

    # Append-only: the ledger, every audit event table, pghistory's context.
    for table in _existing_tables(cursor, schema, append_only_tables() if tables is None else tables):
        cursor.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {schema_q}.{quote_ident(table)} FROM {app}, PUBLIC")
        cursor.execute(f"GRANT SELECT, INSERT ON {schema_q}.{quote_ident(table)} TO {app}")
        done.append_only.append(table)
    for table in _existing_tables(cursor, schema, no_delete_tables() if tables is None else ()):
        cursor.execute(f"REVOKE DELETE, TRUNCATE ON {schema_q}.{quote_ident(table)} FROM {app}, PUBLIC")
        done.no_delete.append(table)
    for table in _existing_tables(cursor, schema, READ_ONLY_TABLES):
        cursor.execute(f"REVOKE INSERT, UPDATE, DELETE ON {schema_q}.{quote_ident(table)} FROM {app}")

    # Functions that need the owner's rights run as the owner, callable by the app only.
    for signature in DEFINER_FUNCTIONS:
        cursor.execute(
            "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = %s AND p.oid = to_regprocedure(%s) AND pg_get_userbyid(p.proowner) = current_user",
            [schema, f"{schema}.{signature}"],
        )
        row = cursor.fetchone()
        if row is None:
            logger.warning("db roles: function %s is missing or not owned by %s; not made SECURITY DEFINER",
                           signature, owner)
            continue
        cursor.execute(f"ALTER FUNCTION {schema_q}.{signature} SECURITY DEFINER SET search_path = {schema_q}, pg_temp")
        cursor.execute(f"REVOKE EXECUTE ON FUNCTION {schema_q}.{signature} FROM PUBLIC")
        cursor.execute(f"GRANT EXECUTE ON FUNCTION {schema_q}.{signature} TO {app}")
        done.definer_functions.append(signature)

    # Raw SQL changes are audited with the database user.
    cursor.execute(_audit_function_sql(schema))
    cursor.execute(
        "SELECT c.relname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind IN ('r', 'p') "
        "AND a.attname = 'pgh_context_id' AND NOT a.attisdropped AND c.relname = ANY(%s) ORDER BY 1",
        [schema, done.append_only],
    )
    for (table,) in cursor.fetchall():
        cursor.execute(f"CREATE OR REPLACE TRIGGER {AUDIT_TRIGGER} BEFORE INSERT ON {schema_q}.{quote_ident(table)} "
                       f"FOR EACH ROW EXECUTE FUNCTION {schema_q}.{AUDIT_FUNCTION}()")
        done.audited.append(table)
    return done


def apply_for(settings_dict: dict[str, Any], *, using_cursor: Cursor | None = None) -> Applied | None:
    """apply() for the database of `settings_dict` (Django's connection settings), on the owner's
    connection from DATABASE_OWNER_URL; None (nothing done) when no owner URL is configured.
    `using_cursor` is used when the caller's connection already is the owner's."""
    url = owner_url()
    if not url:
        return None
    app_role = app_role_name(settings_dict)
    if using_cursor is not None and settings_dict.get("USER") == url_user(url):
        return apply(using_cursor, app_role=app_role)
    import psycopg

    conninfo = psycopg.conninfo.make_conninfo(url, dbname=settings_dict["NAME"])
    with psycopg.connect(conninfo, connect_timeout=10) as conn, conn.cursor() as cursor:
        done = apply(cursor, app_role=app_role)
    return done


def post_migrate_handler(sender: Any, using: str = "default", **kwargs: Any) -> None:
    from django.db import connections

    connection = connections[using]
    if connection.vendor != "postgresql" or not owner_url():
        return
    with connection.cursor() as cursor:
        done = apply_for(connection.settings_dict, using_cursor=cursor)
    if done is not None:
        logger.info("db roles: %s granted to %s (%d append-only tables)", done.owner_role, done.app_role,
                    len(done.append_only))


def warn_if_single_role() -> None:
    """At start-up with DEBUG off: the app without an owner role has no database-level protection."""
    import sys

    if "mypy" in sys.modules:  # django-stubs loads the apps to type-check: no start-up
        return
    if not settings.DEBUG and not owner_url():
        logger.warning(
            "UTILIS_DATABASE_OWNER_URL is not set: the app connects as the role that owns the tables, so "
            "the ledger and the audit trail are protected only by triggers a session can skip "
            "(see docs/operations.md, Database roles)"
        )
