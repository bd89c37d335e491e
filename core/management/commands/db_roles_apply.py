"""Apply the app role's grants (core.db_roles) now: what runs after every migrate. Idempotent."""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections

from core import db_roles


class Command(BaseCommand):
    help = ("Grant the app role (DATABASES default) its rights, as the owner role "
            "(UTILIS_DATABASE_OWNER_URL): SELECT/INSERT only on the ledger and the audit tables.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)
        parser.add_argument(
            "--take-ownership", action="store_true",
            help="First make the owner role own every table, sequence and function of the schema, on the "
                 "--database connection (which must then be a superuser or the current owner): moves a "
                 "single-role database to the two roles.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        url = db_roles.owner_url()
        if not url:
            raise CommandError("UTILIS_DATABASE_OWNER_URL is not set: a single-role setup has nothing to apply")
        connection = connections[options["database"]]
        if options["take_ownership"]:
            with connection.cursor() as cursor:
                cursor.execute(db_roles.take_ownership_sql(db_roles.url_user(url)))
            self.stdout.write(f"the owner role {db_roles.url_user(url)} owns the schema's objects")
        try:
            with connection.cursor() as cursor:
                done = db_roles.apply_for(connection.settings_dict, using_cursor=cursor)
        except db_roles.RolesError as exc:
            raise CommandError(str(exc)) from exc
        assert done is not None
        self.stdout.write(
            f"granted to {done.app_role} as {done.owner_role}: {len(done.append_only)} append-only tables "
            f"(SELECT, INSERT), security-definer functions: {', '.join(done.definer_functions) or 'none'}, "
            f"raw-SQL audit on {len(done.audited)} event tables"
        )
