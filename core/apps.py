from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Utilis core"

    def ready(self) -> None:
        from core import db_roles

        # Once per migrate (sender: this app), after every app's migrations: the grants of the
        # app role, on the owner's connection (core.db_roles).
        post_migrate.connect(db_roles.post_migrate_handler, sender=self, dispatch_uid="core.db_roles")
        db_roles.warn_if_single_role()
