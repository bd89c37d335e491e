"""Service orders point at cis accounts and service points with real foreign keys (the
columns keep their names; the database gains the constraints)."""
import django.db.models.deletion
from django.db import migrations, models

FKS = [("account_id", "cis_account"), ("service_point_id", "cis_servicepoint")]
ADD = [
    f"ALTER TABLE service_orders_serviceorder ADD CONSTRAINT service_orders_serviceorder_{c}_fk FOREIGN KEY ({c}) "
    f"REFERENCES {ref} (id) DEFERRABLE INITIALLY DEFERRED"
    for c, ref in FKS
]
DROP = [f"ALTER TABLE service_orders_serviceorder DROP CONSTRAINT service_orders_serviceorder_{c}_fk" for c, _ in FKS]


class Migration(migrations.Migration):
    dependencies = [
        ("service_orders", "0001_initial"),
        ("cis", "0004_search_indexes_phone_email"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField("serviceorder", "account_id"),
                migrations.AddField("serviceorder", "account", models.ForeignKey(
                    blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="cis.account")),
                migrations.RemoveField("serviceorder", "service_point_id"),
                migrations.AddField("serviceorder", "service_point", models.ForeignKey(
                    blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+",
                    to="cis.servicepoint")),
                migrations.RemoveField("serviceorderevent", "account_id"),
                migrations.AddField("serviceorderevent", "account", models.ForeignKey(
                    blank=True, null=True, db_constraint=False, db_index=False, related_name="+", related_query_name="+",
                    on_delete=django.db.models.deletion.DO_NOTHING, to="cis.account")),
                migrations.RemoveField("serviceorderevent", "service_point_id"),
                migrations.AddField("serviceorderevent", "service_point", models.ForeignKey(
                    blank=True, null=True, db_constraint=False, db_index=False, related_name="+", related_query_name="+",
                    on_delete=django.db.models.deletion.DO_NOTHING, to="cis.servicepoint")),
            ],
            database_operations=[migrations.RunSQL(ADD, reverse_sql=DROP)],
        ),
    ]
