"""Bills, segments and ledger entries point at cis rows with real foreign keys.

The columns keep their names (account_id, agreement_id, service_point_id): only Django's state
changes from a bare bigint to a ForeignKey, and the database gains the constraints (deferred,
as Django creates them). Deleting an account that has bills or ledger entries is then refused
by PostgreSQL itself, whatever issues the DELETE."""
import django.db.models.deletion
from django.db import migrations, models

FKS = [
    ("billing_bill", "account_id", "cis_account"),
    ("billing_ledgerentry", "account_id", "cis_account"),
    ("billing_billsegment", "account_id", "cis_account"),
    ("billing_billsegment", "agreement_id", "cis_serviceagreement"),
    ("billing_billsegment", "service_point_id", "cis_servicepoint"),
]


def _name(table, column):
    return f"{table}_{column}_fk_{column.removesuffix('_id')}"[:63]


ADD = [
    f"ALTER TABLE {t} ADD CONSTRAINT {_name(t, c)} FOREIGN KEY ({c}) REFERENCES {ref} (id) DEFERRABLE INITIALLY DEFERRED"
    for t, c, ref in FKS
]
DROP = [f"ALTER TABLE {t} DROP CONSTRAINT {_name(t, c)}" for t, c, _ in FKS]


def fk(to, *, index=True, event=False):
    if event:
        return models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name="+",
                                 related_query_name="+", to=to, db_index=False)
    return models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to=to, db_index=index)


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0004_history_and_actors"),
        ("cis", "0004_search_indexes_phone_email"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField("ledgerentry", "account_id"),
                migrations.AddField("ledgerentry", "account", fk("cis.account"), preserve_default=False),
                migrations.RemoveField("bill", "account_id"),
                migrations.AddField("bill", "account", fk("cis.account"), preserve_default=False),
                migrations.RemoveField("billsegment", "account_id"),
                migrations.AddField("billsegment", "account", fk("cis.account", index=False), preserve_default=False),
                migrations.RemoveField("billsegment", "agreement_id"),
                migrations.AddField("billsegment", "agreement", fk("cis.serviceagreement", index=False),
                                    preserve_default=False),
                migrations.RemoveField("billsegment", "service_point_id"),
                migrations.AddField("billsegment", "service_point", fk("cis.servicepoint", index=False),
                                    preserve_default=False),
                migrations.RemoveField("billevent", "account_id"),
                migrations.AddField("billevent", "account", fk("cis.account", event=True), preserve_default=False),
            ],
            database_operations=[migrations.RunSQL(ADD, reverse_sql=DROP)],
        ),
    ]
