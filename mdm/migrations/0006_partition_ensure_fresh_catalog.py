"""mdm_interval_partition_ensure: check for the partition again with a fresh catalog read.

After waiting on the advisory lock, `to_regclass` could still answer from the session's
catalog cache (a negative entry made by the first check, before another session created the
partition), so two import workers racing for a new month failed with "relation ... already
exists". A query on pg_class takes a new snapshot and sees the committed table."""
from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION mdm_interval_partition_ensure(day date) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    month_start date := date_trunc('month', day)::date;
    month_end date := (date_trunc('month', day) + interval '1 month')::date;
    part text := format('mdm_interval_day_y%sm%s', to_char(month_start, 'YYYY'), to_char(month_start, 'MM'));
BEGIN
    IF to_regclass(part) IS NOT NULL THEN
        RETURN part;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('mdm_interval_partition_ensure'));
    IF EXISTS (
        SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relname = part AND n.nspname = current_schema()
    ) THEN
        RETURN part;
    END IF;
    EXECUTE format('CREATE TEMP TABLE _mdm_moved ON COMMIT DROP AS SELECT * FROM mdm_interval_day_default WHERE local_date >= %L AND local_date < %L', month_start, month_end);
    EXECUTE format('DELETE FROM mdm_interval_day_default WHERE local_date >= %L AND local_date < %L', month_start, month_end);
    EXECUTE format('CREATE TABLE %I PARTITION OF mdm_interval_day FOR VALUES FROM (%L) TO (%L)', part, month_start, month_end);
    EXECUTE 'INSERT INTO mdm_interval_day SELECT * FROM _mdm_moved';
    DROP TABLE _mdm_moved;
    RETURN part;
END;
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("mdm", "0005_seed_large_customer_vee_rule_set")]
    operations = [migrations.RunSQL(FUNCTION, migrations.RunSQL.noop)]
