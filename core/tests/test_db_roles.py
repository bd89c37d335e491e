"""The ledger and the audit trail hold at the database: connected as the app role (not the
superuser, not the tables' owner), each known bypass is refused, and normal work still works.

The suite's test database is made and migrated by the configured (superuser) connection; the
`roles` fixture then turns it into the production shape: two test roles (cluster-wide, so named
utilis_test_owner / utilis_test_app and never dropped: other workers' databases use them), the
owner role owns the database and every table, and core.db_roles grants the app role its rights
on the owner's connection (apply_for, as post_migrate and `db_roles_apply` do). `as_app` then
reconnects Django's default connection as the app role, inside a transaction rolled back after
the test."""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import override_settings

from core import db_roles

OWNER, OWNER_PASSWORD = "utilis_test_owner", "utilis-test-owner-pass"
APP, APP_PASSWORD = "utilis_test_app", "utilis-test-app-pass"

CREATE_ROLES = f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{OWNER}') THEN
        CREATE ROLE {OWNER} LOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP}') THEN
        CREATE ROLE {APP} LOGIN;
    END IF;
END
$$;
ALTER ROLE {OWNER} LOGIN NOSUPERUSER NOCREATEROLE PASSWORD '{OWNER_PASSWORD}';
ALTER ROLE {APP} LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB NOBYPASSRLS PASSWORD '{APP_PASSWORD}';
"""


def owner_conninfo(settings_dict: dict[str, Any]) -> str:
    params = {"host": settings_dict.get("HOST") or None, "port": settings_dict.get("PORT") or None,
              "user": OWNER, "password": OWNER_PASSWORD, "dbname": settings_dict["NAME"]}
    return psycopg.conninfo.make_conninfo(**{k: v for k, v in params.items() if v})


@pytest.fixture
def db(django_db_setup: None) -> None:
    """This module's tests need the test database but not pytest-django's transaction on the
    superuser connection (`as_app` opens its own as the app role): pytest-django creates the
    test database for the tests that use a fixture named `db`, so this one stands in for it."""


@pytest.fixture(scope="module")
def roles(django_db_setup: None, django_db_blocker: Any) -> Iterator[db_roles.Applied]:
    with django_db_blocker.unblock():
        assert connection.settings_dict["NAME"].startswith("test_"), "not the test database"
        with connection.cursor() as cursor:
            cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            if not cursor.fetchone()[0]:
                pytest.skip("the role tests create their roles: they need a superuser DATABASE_URL")
            # Roles are cluster-wide: two xdist workers must not create them at the same moment.
            cursor.execute("SELECT pg_advisory_lock(hashtext('utilis_test_roles'))")
            try:
                cursor.execute(CREATE_ROLES)
            finally:
                cursor.execute("SELECT pg_advisory_unlock(hashtext('utilis_test_roles'))")
            cursor.execute(f"ALTER DATABASE {db_roles.quote_ident(connection.settings_dict['NAME'])} OWNER TO {OWNER}")
            cursor.execute(db_roles.take_ownership_sql(OWNER))
        with override_settings(DATABASE_OWNER_URL=owner_conninfo(connection.settings_dict), DATABASE_APP_ROLE=APP):
            done = db_roles.apply_for(connection.settings_dict)
            assert done is not None
            # Idempotent, and what the command does.
            call_command("db_roles_apply", verbosity=0)
        connection.close()
    yield done


@pytest.fixture
def as_app(db: None, roles: db_roles.Applied, django_db_blocker: Any) -> Iterator[None]:
    """Django's default connection, logged in as the app role, in a transaction rolled back after."""
    with django_db_blocker.unblock():
        saved = {key: connection.settings_dict.get(key) for key in ("USER", "PASSWORD")}
        connection.close()
        connection.settings_dict.update(USER=APP, PASSWORD=APP_PASSWORD)
        try:
            with transaction.atomic():
                yield
                transaction.set_rollback(True)
        finally:
            connection.close()
            connection.settings_dict.update(saved)


def sql(statement: str, params: Any = None) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def refused(statement: str, params: Any = None) -> str:
    """Run `statement` in a savepoint; it must fail; the database's message."""
    with pytest.raises(DatabaseError) as failure:
        with transaction.atomic():
            sql(statement, params)
    return str(failure.value)


@pytest.fixture
def account_with_payment(as_app: None) -> tuple[Any, Any]:
    from billing.services import ledger_post_payment
    from cis import services

    customer = services.customer_create(first_name="Roles", last_name="Tester", mailing_address_line1="1 Main St",
                                        mailing_city="Toronto", mailing_region="ON", mailing_postal_code="M4C 1A1")
    account = services.account_open(customer=customer, opened_date=dt.date(2026, 1, 5))
    entry = ledger_post_payment(account_id=account.pk, amount="25.00", received_date=dt.date(2026, 1, 20),
                                reference="R-1")
    return account, entry


def test_the_app_role_is_connected_and_owns_nothing(as_app: None, roles: db_roles.Applied) -> None:
    assert sql("SELECT session_user, current_user") == [(APP, APP)]
    assert sql("SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = %s",
               [APP]) == [(0,)]
    assert "billing_ledgerentry" in roles.append_only and "pghistory_context" in roles.append_only
    assert "cis_accountevent" in roles.append_only and "cis_accountevent" in roles.audited


def test_normal_work_still_works_as_the_app_role(account_with_payment: tuple[Any, Any]) -> None:
    from billing.models import LedgerEntry
    from cis.models import Account

    account, entry = account_with_payment
    assert LedgerEntry.objects.get(pk=entry.pk).amount == Decimal("-25.00")
    events = sql("SELECT e.pgh_label, c.metadata->>'reason' FROM cis_accountevent e "
                 "JOIN pghistory_context c ON c.id = e.pgh_context_id WHERE e.pgh_obj_id = %s", [account.pk])
    assert events and events[0][0] == "insert"
    # Ordinary tables may still be updated and deleted.
    Account.objects.filter(pk=account.pk).update(billing_city="Ottawa")
    assert sql("SELECT count(*) FROM cis_accountevent WHERE pgh_obj_id = %s AND pgh_label = 'update'",
               [account.pk]) == [(1,)]


def test_truncate_of_the_ledger_is_refused(as_app: None) -> None:
    assert "permission denied" in refused("TRUNCATE billing_ledgerentry CASCADE")


def test_update_and_delete_of_a_ledger_row_are_refused_by_permission_even_with_pgtrigger_ignore(
    account_with_payment: tuple[Any, Any],
) -> None:
    _, entry = account_with_payment
    ignore = "SET LOCAL pgtrigger.ignore = 'billing_ledgerentry:pgtrigger_ledger_append_only_179f4'"
    for statement in ("UPDATE billing_ledgerentry SET amount = -1 WHERE id = %s",
                      "DELETE FROM billing_ledgerentry WHERE id = %s"):
        with pytest.raises(DatabaseError) as failure, transaction.atomic():
            sql(ignore)
            sql(statement, [entry.pk])
        assert "permission denied for table billing_ledgerentry" in str(failure.value)
    assert sql("SELECT amount FROM billing_ledgerentry WHERE id = %s", [entry.pk]) == [(Decimal("-25.00"),)]


def test_session_replication_role_replica_is_refused(as_app: None) -> None:
    assert "permission denied" in refused("SET session_replication_role = replica")
    assert "permission denied" in refused("SET LOCAL session_replication_role = replica")


def test_disabling_a_trigger_is_refused(as_app: None) -> None:
    assert "must be owner" in refused("ALTER TABLE billing_ledgerentry DISABLE TRIGGER ALL")
    assert "must be owner" in refused("ALTER TABLE cis_account DISABLE TRIGGER USER")


def test_deleting_audit_rows_is_refused(account_with_payment: tuple[Any, Any]) -> None:
    assert "permission denied for table cis_accountevent" in refused("DELETE FROM cis_accountevent")
    assert "permission denied for table cis_accountevent" in refused("UPDATE cis_accountevent SET pgh_label = 'x'")
    assert "permission denied for table pghistory_context" in refused("DELETE FROM pghistory_context")
    assert "permission denied for table pghistory_context" in refused("UPDATE pghistory_context SET metadata = '{}'")
    assert "permission denied" in refused("TRUNCATE cis_accountevent")


def test_creating_tables_and_functions_is_refused(as_app: None) -> None:
    assert "permission denied for schema public" in refused("CREATE TABLE public.roles_probe (id int)")
    assert "permission denied for schema public" in refused("CREATE TABLE roles_probe (id int)")
    assert "permission denied for schema public" in refused(
        "CREATE FUNCTION public.roles_probe() RETURNS int LANGUAGE sql AS 'SELECT 1'")
    # Temporary tables (the interval store's staging) remain allowed.
    sql("CREATE TEMP TABLE roles_probe_temp (id int) ON COMMIT DROP")


def test_the_app_role_creates_a_month_partition_without_owning_it(as_app: None) -> None:
    from mdm.services.intervals import interval_partitions_ensure

    interval_partitions_ensure(dates=[dt.date(2039, 7, 14)])
    assert sql("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'mdm_interval_day_y2039m07'") == [
        (OWNER,)]
    # The new partition is covered by the default privileges; the app cannot drop it.
    sql("SELECT count(*) FROM mdm_interval_day_y2039m07")
    assert "must be owner" in refused("DROP TABLE mdm_interval_day_y2039m07")


def test_raw_sql_changes_are_audited_with_the_database_user(as_app: None) -> None:
    rows = sql("INSERT INTO billing_rateschedule (code, name, commodity, rate_class, description, source, "
               "source_ref) VALUES ('RAW-1', 'Raw', 'electric', '', '', 'manual', '') RETURNING id")
    (schedule_id,) = rows[0]
    sql("UPDATE billing_rateschedule SET name = 'Raw 2' WHERE id = %s", [schedule_id])
    events = sql("SELECT e.pgh_label, c.metadata::text FROM billing_ratescheduleevent e "
                 "JOIN pghistory_context c ON c.id = e.pgh_context_id WHERE e.pgh_obj_id = %s "
                 "ORDER BY e.pgh_id", [schedule_id])
    assert [label for label, _ in events] == ["insert", "update"]
    assert all(json.loads(metadata) == {"db_user": APP} for _, metadata in events)
    # One context for the transaction, not one per row.
    assert len(set(sql("SELECT pgh_context_id FROM billing_ratescheduleevent WHERE pgh_obj_id = %s",
                       [schedule_id]))) == 1
