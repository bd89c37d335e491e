"""Installations, virtual meters, billed-through dates and replacement-read notices point at
cis service points with real foreign keys. The columns keep their names (service_point_id):
only Django's state changes from a bare bigint, and the database gains the constraints
(deferred, as Django creates them), so a meter can never be installed at a service point
that does not exist, and a service point with meter history cannot be deleted."""
import django.db.models.deletion
from django.db import migrations, models

TABLES = ["mdm_installation", "mdm_virtualmeter", "mdm_billedthrough", "mdm_replacementreadnotice"]
ADD = [
    f"ALTER TABLE {t} ADD CONSTRAINT {t}_service_point_id_fk FOREIGN KEY (service_point_id) "
    "REFERENCES cis_servicepoint (id) DEFERRABLE INITIALLY DEFERRED"
    for t in TABLES
]
DROP = [f"ALTER TABLE {t} DROP CONSTRAINT {t}_service_point_id_fk" for t in TABLES]
PROTECT = django.db.models.deletion.PROTECT


class Migration(migrations.Migration):
    dependencies = [
        ("mdm", "0007_core_runs"),
        ("cis", "0004_search_indexes_phone_email"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField("installation", "service_point_id"),
                migrations.AddField("installation", "service_point", models.ForeignKey(
                    on_delete=PROTECT, related_name="+", to="cis.servicepoint"), preserve_default=False),
                migrations.RemoveField("virtualmeter", "service_point_id"),
                migrations.AddField("virtualmeter", "service_point", models.OneToOneField(
                    on_delete=PROTECT, related_name="+", to="cis.servicepoint"), preserve_default=False),
                migrations.RemoveField("billedthrough", "service_point_id"),
                migrations.AddField("billedthrough", "service_point", models.OneToOneField(
                    on_delete=PROTECT, related_name="+", to="cis.servicepoint"), preserve_default=False),
                migrations.RemoveField("replacementreadnotice", "service_point_id"),
                migrations.AddField("replacementreadnotice", "service_point", models.ForeignKey(
                    on_delete=PROTECT, related_name="+", to="cis.servicepoint"), preserve_default=False),
            ],
            database_operations=[migrations.RunSQL(ADD, reverse_sql=DROP)],
        ),
    ]
