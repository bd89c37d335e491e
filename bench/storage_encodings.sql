-- The storage measurement of docs/performance.md (issue 12): 28,000 channel-days of a kept
-- bench/billing.py database in five encodings, their size and a binary COPY out of each.
--   psql -h 127.0.0.1 -U postgres utilis_bench_billing -f bench/storage_encodings.sql
\timing off
DROP TABLE IF EXISTS st_sample, st_f8, st_f8_lz4, st_f4, st_i4, st_i2x;
-- The store holds int4 thousandths + byte flags since mdm migration 0013: the sample is decoded
-- back to the float8[] + int2[] layout first, so every encoding starts from the same rows.
CREATE TABLE st_sample AS SELECT channel_id, local_date, interval_minutes,
  (SELECT array_agg(CASE WHEN x = -2147483648 THEN 'NaN'::float8 ELSE x / power(10::float8, decimals) END ORDER BY o)
     FROM unnest("values") WITH ORDINALITY u(x, o)) AS "values",
  (SELECT array_agg(get_byte(flags, i)::int2 ORDER BY i) FROM generate_series(0, length(flags) - 1) i) AS flags
FROM mdm_interval_day ORDER BY channel_id, local_date LIMIT 28000;
SELECT count(*) rows, round(avg(pg_column_size("values"))) f8_bytes, round(avg(pg_column_size("values"::float4[]))) f4_bytes,
  round(avg(pg_column_size((SELECT array_agg(round(v*1000)::int4) FROM unnest("values") v)))) i4_bytes,
  round(avg(pg_column_size(flags))) flags_i2_bytes,
  bool_and((SELECT bool_and(v::float4::float8 = v) FROM unnest("values") v)) f4_exact,
  bool_and((SELECT bool_and(round(v*1000)/1000 = v) FROM unnest("values") v)) milli_exact,
  round(avg(pg_column_size(ROW(channel_id, local_date, interval_minutes, "values", flags)))) row_bytes
FROM st_sample;
CREATE TABLE st_f8 (channel_id bigint, local_date date, interval_minutes int2, v float8[], f int2[]);
CREATE TABLE st_f8_lz4 (channel_id bigint, local_date date, interval_minutes int2, v float8[] COMPRESSION lz4, f int2[] COMPRESSION lz4) WITH (toast_tuple_target = 128);
CREATE TABLE st_f4 (channel_id bigint, local_date date, interval_minutes int2, v float4[], f int2[]);
CREATE TABLE st_i4 (channel_id bigint, local_date date, interval_minutes int2, v int4[], f int2[]);
CREATE TABLE st_i2x (channel_id bigint, local_date date, interval_minutes int2, v int4[] COMPRESSION lz4, f bytea COMPRESSION lz4) WITH (toast_tuple_target = 128);
INSERT INTO st_f8 SELECT * FROM st_sample;
INSERT INTO st_f8_lz4 SELECT * FROM st_sample;
INSERT INTO st_f4 SELECT channel_id, local_date, interval_minutes, "values"::float4[], flags FROM st_sample;
INSERT INTO st_i4 SELECT channel_id, local_date, interval_minutes, (SELECT array_agg(round(v*1000)::int4 ORDER BY o) FROM unnest("values") WITH ORDINALITY u(v, o)), flags FROM st_sample;
INSERT INTO st_i2x SELECT channel_id, local_date, interval_minutes, (SELECT array_agg(round(v*1000)::int4 ORDER BY o) FROM unnest("values") WITH ORDINALITY u(v, o)),
  (SELECT string_agg(set_byte('\x00'::bytea, 0, f::int), '' ORDER BY o) FROM unnest(flags) WITH ORDINALITY u(f, o)) FROM st_sample;
SELECT t, pg_size_pretty(pg_total_relation_size(t)) total, round(pg_total_relation_size(t)::numeric / 28000) bytes_per_day FROM unnest(ARRAY['st_f8','st_f8_lz4','st_f4','st_i4','st_i2x']) t;
\timing on
\o /dev/null
COPY (SELECT * FROM st_f8) TO STDOUT (FORMAT BINARY);
COPY (SELECT * FROM st_f8_lz4) TO STDOUT (FORMAT BINARY);
COPY (SELECT * FROM st_f4) TO STDOUT (FORMAT BINARY);
COPY (SELECT * FROM st_i4) TO STDOUT (FORMAT BINARY);
COPY (SELECT * FROM st_i2x) TO STDOUT (FORMAT BINARY);
\o
DROP TABLE st_sample, st_f8, st_f8_lz4, st_f4, st_i4, st_i2x;
