from django.db import migrations

SEQUENCES = [
    "cis_customer_number_seq",
    "cis_account_number_seq",
    "cis_agreement_number_seq",
    "cis_premise_number_seq",
    "cis_service_point_number_seq",
]


class Migration(migrations.Migration):
    dependencies = [("cis", "0001_initial")]
    operations = [
        migrations.RunSQL(
            [f"CREATE SEQUENCE IF NOT EXISTS {name} START 1000001" for name in SEQUENCES],
            [f"DROP SEQUENCE IF EXISTS {name}" for name in SEQUENCES],
        )
    ]
