"""The interval store's narrower encoding (issue 12; docs/performance.md, "Storage after the
migration"): "values" becomes int4[] of value x 10^decimals, "flags" bytea (one byte a slot),
and each row records the `decimals` it was scaled at, copied from the channel's new
`resolution_decimals` (default 3). A slot without a value (NaN before) holds the int4 minimum.

Existing days and their versions are converted in place (set-based; ALTER ... TYPE USING two
session functions). A channel whose stored values need more than 3 decimals gets the
resolution they need (up to 6); a value no resolution up to 6 stores exactly stops the
migration with the channel and the value: nothing is rounded."""

import django.contrib.postgres.fields
import django.core.validators
import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models

NO_VALUE = -2147483648

CONVERT = rf"""
CREATE FUNCTION pg_temp.mdm_fits(x double precision, d int) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT abs(round(x * power(10::float8, d))) <= 2147483647 AND round(x * power(10::float8, d)) / power(10::float8, d) = x
$$;
CREATE FUNCTION pg_temp.mdm_scale(v double precision[], d smallint) RETURNS int4[] LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(array_agg(CASE WHEN x = 'NaN' THEN {NO_VALUE} ELSE round(x * power(10::float8, d))::int4 END ORDER BY i), '{{}}')
    FROM unnest(v) WITH ORDINALITY AS u(x, i)
$$;
CREATE FUNCTION pg_temp.mdm_flag_bytes(f smallint[]) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(string_agg(set_byte('\x00'::bytea, 0, x), ''::bytea ORDER BY i), ''::bytea)
    FROM unnest(f) WITH ORDINALITY AS u(x, i)
$$;

-- The resolution each channel's stored values need (3 unless a value has more decimals).
CREATE TEMP TABLE _mdm_need ON COMMIT DROP AS
SELECT channel_id, max(CASE WHEN pg_temp.mdm_fits(x, 3) THEN 3 WHEN pg_temp.mdm_fits(x, 4) THEN 4
                            WHEN pg_temp.mdm_fits(x, 5) THEN 5 WHEN pg_temp.mdm_fits(x, 6) THEN 6 ELSE 99 END) AS need,
       (array_agg(x) FILTER (WHERE NOT pg_temp.mdm_fits(x, 6)))[1] AS example
FROM (SELECT channel_id, x FROM mdm_interval_day, unnest("values") AS x WHERE x <> 'NaN'
      UNION ALL
      SELECT channel_id, x FROM mdm_interval_day_version, unnest("values") AS x WHERE x <> 'NaN') v
WHERE NOT pg_temp.mdm_fits(x, 3)
GROUP BY channel_id;
DO $$
DECLARE bad record;
BEGIN
    SELECT * INTO bad FROM _mdm_need WHERE need = 99 ORDER BY channel_id LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'Channel % holds the interval value %, which no resolution of 6 decimals or fewer stores exactly in int4: correct it before migrating.', bad.channel_id, bad.example;
    END IF;
END $$;
UPDATE mdm_channel c SET resolution_decimals = n.need FROM _mdm_need n WHERE n.channel_id = c.id;

ALTER TABLE mdm_interval_day DROP CONSTRAINT mdm_interval_day_check;
ALTER TABLE mdm_interval_day ADD COLUMN decimals smallint NOT NULL DEFAULT 3;
ALTER TABLE mdm_interval_day_version ADD COLUMN decimals smallint NOT NULL DEFAULT 3;
UPDATE mdm_interval_day d SET decimals = n.need FROM _mdm_need n WHERE n.channel_id = d.channel_id;
UPDATE mdm_interval_day_version d SET decimals = n.need FROM _mdm_need n WHERE n.channel_id = d.channel_id;
ALTER TABLE mdm_interval_day
    ALTER COLUMN "values" TYPE int4[] USING pg_temp.mdm_scale("values", decimals),
    ALTER COLUMN flags TYPE bytea USING pg_temp.mdm_flag_bytes(flags);
ALTER TABLE mdm_interval_day_version
    ALTER COLUMN "values" TYPE int4[] USING pg_temp.mdm_scale("values", decimals),
    ALTER COLUMN flags TYPE bytea USING pg_temp.mdm_flag_bytes(flags);
ALTER TABLE mdm_interval_day ADD CONSTRAINT mdm_interval_day_slots CHECK (cardinality("values") = length(flags)),
    ADD CONSTRAINT mdm_interval_day_decimals CHECK (decimals BETWEEN 0 AND 6);
DROP TABLE _mdm_need;
DROP FUNCTION pg_temp.mdm_fits(double precision, int);
DROP FUNCTION pg_temp.mdm_scale(double precision[], smallint);
DROP FUNCTION pg_temp.mdm_flag_bytes(smallint[]);
"""

REVERT = rf"""
CREATE FUNCTION pg_temp.mdm_unscale(v int4[], d smallint) RETURNS double precision[] LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(array_agg(CASE WHEN x = {NO_VALUE} THEN 'NaN'::float8 ELSE x / power(10::float8, d) END ORDER BY i), '{{}}')
    FROM unnest(v) WITH ORDINALITY AS u(x, i)
$$;
CREATE FUNCTION pg_temp.mdm_flag_array(f bytea) RETURNS smallint[] LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(array_agg(get_byte(f, i)::smallint ORDER BY i), '{{}}') FROM generate_series(0, length(f) - 1) AS i
$$;
ALTER TABLE mdm_interval_day DROP CONSTRAINT mdm_interval_day_slots, DROP CONSTRAINT mdm_interval_day_decimals;
ALTER TABLE mdm_interval_day
    ALTER COLUMN "values" TYPE double precision[] USING pg_temp.mdm_unscale("values", decimals),
    ALTER COLUMN flags TYPE smallint[] USING pg_temp.mdm_flag_array(flags);
ALTER TABLE mdm_interval_day_version
    ALTER COLUMN "values" TYPE double precision[] USING pg_temp.mdm_unscale("values", decimals),
    ALTER COLUMN flags TYPE smallint[] USING pg_temp.mdm_flag_array(flags);
ALTER TABLE mdm_interval_day DROP COLUMN decimals, ADD CONSTRAINT mdm_interval_day_check CHECK (cardinality("values") = cardinality(flags));
ALTER TABLE mdm_interval_day_version DROP COLUMN decimals;
DROP FUNCTION pg_temp.mdm_unscale(int4[], smallint);
DROP FUNCTION pg_temp.mdm_flag_array(bytea);
"""


def _stored_day_state(model: str) -> list:
    return [
        migrations.RemoveField(model_name=model, name="flags"),
        migrations.RemoveField(model_name=model, name="values"),
        migrations.AddField(model_name=model, name="decimals", field=models.SmallIntegerField(
            default=3, help_text="The channel's resolution when this version was written.")),
        migrations.AddField(model_name=model, name="scaled", field=django.contrib.postgres.fields.ArrayField(
            base_field=models.IntegerField(), db_column="values", size=None)),
        migrations.AddField(model_name=model, name="flag_bytes", field=models.BinaryField(db_column="flags")),
    ]



class Migration(migrations.Migration):

    dependencies = [
        ('mdm', '0012_meter_channel_installation_history'),
    ]

    operations = [
        pgtrigger.migrations.RemoveTrigger(
            model_name='channel',
            name='insert_insert',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='channel',
            name='update_update',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='channel',
            name='delete_delete',
        ),
        migrations.AddField(
            model_name='channel',
            name='resolution_decimals',
            field=models.PositiveSmallIntegerField(db_default=3, default=3, help_text="Decimals the channel's interval values are stored to (0-6). The interval store keeps each value as an integer of this many decimals; an imported value with more decimals, or beyond ±2,147,483,647 units of this resolution, is refused, never rounded.", validators=[django.core.validators.MaxValueValidator(6)]),
        ),
        migrations.AddField(
            model_name='channelevent',
            name='resolution_decimals',
            field=models.PositiveSmallIntegerField(db_default=3, default=3, help_text="Decimals the channel's interval values are stored to (0-6). The interval store keeps each value as an integer of this many decimals; an imported value with more decimals, or beyond ±2,147,483,647 units of this resolution, is refused, never rounded.", validators=[django.core.validators.MaxValueValidator(6)]),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='channel',
            trigger=pgtrigger.compiler.Trigger(name='insert_insert', sql=pgtrigger.compiler.UpsertTriggerSql(func='INSERT INTO "mdm_channelevent" ("channel_number", "dials", "direction", "id", "interval_minutes", "meter_id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "resolution_decimals", "unit") VALUES (NEW."channel_number", NEW."dials", NEW."direction", NEW."id", NEW."interval_minutes", NEW."meter_id", _pgh_attach_context(), NOW(), \'insert\', NEW."id", NEW."resolution_decimals", NEW."unit"); RETURN NULL;', hash='c5ec618c9c7eb939861ee72dd9d1739494a842cf', operation='INSERT', pgid='pgtrigger_insert_insert_7da6d', table='mdm_channel', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='channel',
            trigger=pgtrigger.compiler.Trigger(name='update_update', sql=pgtrigger.compiler.UpsertTriggerSql(condition='WHEN (OLD.* IS DISTINCT FROM NEW.*)', func='INSERT INTO "mdm_channelevent" ("channel_number", "dials", "direction", "id", "interval_minutes", "meter_id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "resolution_decimals", "unit") VALUES (NEW."channel_number", NEW."dials", NEW."direction", NEW."id", NEW."interval_minutes", NEW."meter_id", _pgh_attach_context(), NOW(), \'update\', NEW."id", NEW."resolution_decimals", NEW."unit"); RETURN NULL;', hash='a98059e73136ace8b0b020292614e3d791ebb0be', operation='UPDATE', pgid='pgtrigger_update_update_00540', table='mdm_channel', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='channel',
            trigger=pgtrigger.compiler.Trigger(name='delete_delete', sql=pgtrigger.compiler.UpsertTriggerSql(func='INSERT INTO "mdm_channelevent" ("channel_number", "dials", "direction", "id", "interval_minutes", "meter_id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "resolution_decimals", "unit") VALUES (OLD."channel_number", OLD."dials", OLD."direction", OLD."id", OLD."interval_minutes", OLD."meter_id", _pgh_attach_context(), NOW(), \'delete\', OLD."id", OLD."resolution_decimals", OLD."unit"); RETURN NULL;', hash='fa065fa5c4e02cd626721849dfc87b9958b712fd', operation='DELETE', pgid='pgtrigger_delete_delete_1a809', table='mdm_channel', when='AFTER')),
        ),
        migrations.AddConstraint(
            model_name='channel',
            constraint=models.CheckConstraint(condition=models.Q(('resolution_decimals__lte', 6)), name='channel_resolution_decimals'),
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(CONVERT, REVERT)],
            state_operations=_stored_day_state("intervalday") + _stored_day_state("intervaldayversion"),
        ),
    ]
