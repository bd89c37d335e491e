import django.db.models.functions.text
from django.db import migrations, models


class Migration(migrations.Migration):
    """An index on UPPER(serial_number): the hub's case-insensitive serial lookup
    (serial_number__iexact) is an index scan at 1M meters instead of a sequential scan."""

    dependencies = [
        ("mdm", "0008_service_point_foreign_keys"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="meter",
            index=models.Index(django.db.models.functions.text.Upper("serial_number"), name="meter_serial_upper_idx"),
        ),
    ]
