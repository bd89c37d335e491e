"""Bill runs on core.runs: the account counters become the engine's progress counters (same
values, renamed), in the run table and its history table. 0009 adds the engine's other
fields and recreates the history triggers over the new column names."""
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("billing", "0007_notice_decision")]

    operations = [
        migrations.RenameField("billrun", "total_accounts", "progress_total"),
        migrations.RenameField("billrun", "done_accounts", "progress_done"),
        migrations.RenameField("billrunevent", "total_accounts", "progress_total"),
        migrations.RenameField("billrunevent", "done_accounts", "progress_done"),
    ]
