-- The store itself after mdm migration 0013 (docs/performance.md, "Storage after the migration"):
-- one month partition of a kept bench/mdm_import.py database rewritten clean (no dead
-- versions), in today's layout and in the layout before 0013, primary key included.
--   psql -h 127.0.0.1 -U postgres utilis_h_storage_bench30 -f bench/storage_store.sql
\timing off
DROP TABLE IF EXISTS st_now, st_before;
CREATE TABLE st_now (LIKE mdm_interval_day_y2026m06 INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE st_now ADD PRIMARY KEY (channel_id, local_date);
INSERT INTO st_now SELECT * FROM mdm_interval_day_y2026m06;
CREATE TABLE st_before AS SELECT channel_id, local_date, interval_minutes,
  (SELECT array_agg(CASE WHEN x = -2147483648 THEN 'NaN'::float8 ELSE x / power(10::float8, decimals) END ORDER BY o)
     FROM unnest("values") WITH ORDINALITY u(x, o)) AS "values",
  (SELECT array_agg(get_byte(flags, i)::int2 ORDER BY i) FROM generate_series(0, length(flags) - 1) i) AS flags,
  version, updated_at, import_run_id, vee_run_id, changed_by_id, reason
FROM st_now;
ALTER TABLE st_before ADD PRIMARY KEY (channel_id, local_date);
VACUUM ANALYZE st_now;
VACUUM ANALYZE st_before;
SELECT t, count, pg_size_pretty(pg_total_relation_size(t)) total,
       round(pg_total_relation_size(t)::numeric / count) bytes_per_day_with_pk,
       round(pg_relation_size(t)::numeric / count) heap_bytes_per_day
FROM (SELECT 'st_before' t, (SELECT count(*) FROM st_before) count UNION ALL SELECT 'st_now', (SELECT count(*) FROM st_now)) x;
\timing on
\o /dev/null
COPY (SELECT channel_id, local_date, interval_minutes, version, "values", flags FROM st_before) TO STDOUT (FORMAT BINARY);
COPY (SELECT channel_id, local_date, interval_minutes, version, decimals, "values", flags FROM st_now) TO STDOUT (FORMAT BINARY);
COPY (SELECT channel_id, local_date, interval_minutes, version, "values", flags FROM st_before) TO STDOUT (FORMAT BINARY);
COPY (SELECT channel_id, local_date, interval_minutes, version, decimals, "values", flags FROM st_now) TO STDOUT (FORMAT BINARY);
\o
DROP TABLE st_now, st_before;
