"""The interval store: mdm_interval_day, range-partitioned by month on local_date.

Django cannot declare partitioning, so the table is SQL here; the model state is declared
beside it (SeparateDatabaseAndState) and the model is managed, so test flushes truncate it.
The primary key (channel_id, local_date) contains the partition key, as PostgreSQL requires.
Monthly partitions are created on demand by mdm_interval_partition_ensure(date); the DEFAULT
partition catches anything loaded before its month's partition exists."""
import django.contrib.postgres.fields
import django.db.models.deletion
from django.db import migrations, models

CREATE = r"""
CREATE TABLE mdm_interval_day (
    channel_id bigint NOT NULL REFERENCES mdm_channel (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    local_date date NOT NULL,
    interval_minutes smallint NOT NULL CHECK (interval_minutes IN (5, 15, 30, 60)),
    "values" double precision[] NOT NULL,
    flags smallint[] NOT NULL,
    version integer NOT NULL DEFAULT 1,
    updated_at timestamptz NOT NULL,
    import_run_id bigint NULL,
    vee_run_id bigint NULL,
    changed_by_id bigint NULL,
    reason text NOT NULL DEFAULT '',
    CHECK (cardinality("values") = cardinality(flags)),
    PRIMARY KEY (channel_id, local_date)
) PARTITION BY RANGE (local_date);

CREATE TABLE mdm_interval_day_default PARTITION OF mdm_interval_day DEFAULT;

-- Creates the month's partition holding `day` if it is missing. Serialised by an advisory
-- lock so parallel import workers do not race; rows of that month already sitting in the
-- DEFAULT partition are moved into the new partition.
CREATE FUNCTION mdm_interval_partition_ensure(day date) RETURNS text
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
    IF to_regclass(part) IS NOT NULL THEN
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

DROP = """
DROP FUNCTION IF EXISTS mdm_interval_partition_ensure(date);
DROP TABLE IF EXISTS mdm_interval_day CASCADE;
"""


class Migration(migrations.Migration):
    dependencies = [("mdm", "0001_initial")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(CREATE, DROP)],
            state_operations=[
                migrations.CreateModel(
                    name="IntervalDay",
                    fields=[
                        ("pk", models.CompositePrimaryKey("channel_id", "local_date", blank=True, editable=False,
                                                          primary_key=True, serialize=False)),
                        ("channel", models.ForeignKey(on_delete=django.db.models.deletion.DO_NOTHING,
                                                      related_name="+", to="mdm.channel")),
                        ("local_date", models.DateField()),
                        ("interval_minutes", models.SmallIntegerField()),
                        ("values", django.contrib.postgres.fields.ArrayField(base_field=models.FloatField(), size=None)),
                        ("flags", django.contrib.postgres.fields.ArrayField(base_field=models.SmallIntegerField(), size=None)),
                        ("version", models.IntegerField(default=1)),
                        ("updated_at", models.DateTimeField()),
                        ("import_run_id", models.BigIntegerField(null=True)),
                        ("vee_run_id", models.BigIntegerField(null=True)),
                        ("changed_by_id", models.BigIntegerField(null=True)),
                        ("reason", models.TextField(default="")),
                    ],
                    options={"db_table": "mdm_interval_day"},
                ),
            ],
        ),
    ]
