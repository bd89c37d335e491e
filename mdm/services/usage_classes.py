"""The usage of each rate class per local day (mdm_usage_class_day), for the portal's "similar
premises" comparison: kept by one set-based statement over the interval store, never a loop
per premise.

A service point counts on a day when
- its rate class (cis) is set, and one of its agreements covers the day (an empty house is not
  a similar premise: vacant days would pull the average down);
- a meter was installed there for the whole local day (a meter exchange day is left out: its
  two meters' partial days are not worth the extra SQL);
- the channel's day is complete: no slot missing (estimates count, as bills count them).
The day's total is the sum of its slots. Rows for the refreshed days are replaced in one
transaction, so a reader never sees half a refresh."""
from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection, transaction

from cis.selectors import service_point_agreement_periods, service_point_rate_classes
from mdm.flags import Flag
from mdm.interval_store import NO_VALUE
from mdm.models import Channel, Installation, IntervalDay, UsageClassDay

REFRESH_DAYS = 7  # the nightly job's days: reads and VEE estimates arrive for days after

_REFRESH = """
WITH sp AS (SELECT * FROM unnest(%(sp_ids)s::bigint[], %(classes)s::text[]) AS t(sp_id, rate_class)),
     occ AS (SELECT * FROM unnest(%(occ_sp)s::bigint[], %(occ_start)s::date[], %(occ_end)s::date[])
             AS t(sp_id, start_date, end_date)),
     days AS (
        SELECT sp.rate_class, i.commodity, c.unit, c.direction, d.local_date, i.service_point_id,
               (SELECT coalesce(sum(v), 0) FROM unnest(d.values) WITH ORDINALITY AS u(v, i)
                 WHERE get_byte(d.flags, i::int - 1) <> %(missing)s AND v <> %(no_value)s
               )::float8 / power(10::float8, d.decimals) AS total,
               (SELECT count(*) FROM unnest(d.values) WITH ORDINALITY AS u(v, i)
                 WHERE get_byte(d.flags, i::int - 1) = %(missing)s OR v = %(no_value)s) AS gaps
          FROM {interval_day} d
          JOIN {channel} c ON c.id = d.channel_id
          JOIN {installation} i ON i.meter_id = c.meter_id
               AND i.installed_at <= (d.local_date::timestamp AT TIME ZONE %(tz)s)
               AND (i.removed_at IS NULL OR i.removed_at >= ((d.local_date + 1)::timestamp AT TIME ZONE %(tz)s))
          JOIN sp ON sp.sp_id = i.service_point_id
         WHERE d.local_date >= %(start)s AND d.local_date < %(end)s
           AND EXISTS (SELECT 1 FROM occ WHERE occ.sp_id = i.service_point_id AND occ.start_date <= d.local_date
                          AND (occ.end_date IS NULL OR occ.end_date > d.local_date))
     ),
     per_sp AS (
        SELECT rate_class, commodity, unit, direction, local_date, service_point_id, sum(total) AS total
          FROM days GROUP BY 1, 2, 3, 4, 5, 6 HAVING max(gaps) = 0
     )
INSERT INTO {usage_class_day} (rate_class, commodity, unit, direction, local_date, premises, total, updated_at)
SELECT rate_class, commodity, unit, direction, local_date, count(*), sum(total), %(now)s
  FROM per_sp GROUP BY 1, 2, 3, 4, 5
"""


def usage_class_days_refresh(*, start_date: dt.date, end_date: dt.date, tz: dt.tzinfo, now: dt.datetime) -> int:
    """Recompute the rate classes' day rows over local dates [start_date, end_date); returns
    how many rows there are now. Idempotent: the same data give the same rows."""
    if end_date <= start_date:
        return 0
    sp_ids = sorted(set(Installation.objects.filter(installed_at__lt=dt.datetime.combine(
        end_date, dt.time(0), tzinfo=tz)).values_list("service_point_id", flat=True)))
    classes = {sp: rc for sp, rc in service_point_rate_classes(service_point_ids=sp_ids).items() if rc}
    periods = service_point_agreement_periods(service_point_ids=list(classes), start_date=start_date,
                                              end_date=end_date)
    occ = [(sp, start, end) for sp, spans in periods.items() for start, end in spans]
    sql = _REFRESH.format(interval_day=IntervalDay._meta.db_table, channel=Channel._meta.db_table,
                          installation=Installation._meta.db_table, usage_class_day=UsageClassDay._meta.db_table)
    params: dict[str, Any] = {
        "sp_ids": list(classes), "classes": list(classes.values()),
        "occ_sp": [o[0] for o in occ], "occ_start": [o[1] for o in occ], "occ_end": [o[2] for o in occ],
        "missing": int(Flag.MISSING), "no_value": NO_VALUE, "tz": str(tz), "start": start_date, "end": end_date, "now": now,
    }
    with transaction.atomic():
        UsageClassDay.objects.filter(local_date__gte=start_date, local_date__lt=end_date).delete()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount
