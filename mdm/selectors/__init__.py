"""mdm's public reads. Other apps, the hubs and the REST API import from here.

Meters and installations     meters.py
The interval store           intervals.py
Imports and the quarantine   imports.py
Billing determinants         determinants.py   (raises DeterminantError for inconsistent data)
Notices for billing          notices.py        (replacement reads, billed-through dates)
VEE results                  vee.py            (the open worklist, a meter's findings)
Rate classes' usage per day  usage_classes.py  (the portal's similar-premises average)

`get` selectors raise the model's DoesNotExist (meter_get); the rest return empty results for
unknown ids. TouGrid and Determinants are the types determinant requests take and give.
"""
from mdm.determinants import DeterminantError, Determinants
from mdm.selectors.determinants import (
    CONSUMPTION_UNITS,
    PeriodDeterminants,
    PeriodRequest,
    determinants_bulk,
    determinants_for_agreement_period,
)
from mdm.selectors.imports import import_run_quarantine, import_runs, open_quarantine
from mdm.selectors.intervals import (
    ChannelDay,
    IntervalPoint,
    channel_day_history,
    channel_days,
    channel_last_day,
    meter_intervals,
)
from mdm.selectors.meters import (
    installations_for_service_point,
    installations_for_service_point_dates,
    meter_get,
    meter_installations,
    meters_find,
    meters_search,
    register_reads_for_meter,
    service_point_ids_for_meter_serial,
)
from mdm.selectors.notices import NoticeRow, billed_through_dates, replacement_read_notices_open
from mdm.selectors.usage_classes import MIN_PREMISES, ClassDay, usage_class_averages
from mdm.selectors.vee import latest_findings_for_meter, worklist_open
from mdm.timeutil import TouGrid

__all__ = [
    "DeterminantError", "Determinants", "TouGrid",
    "CONSUMPTION_UNITS", "PeriodDeterminants", "PeriodRequest", "determinants_bulk",
    "determinants_for_agreement_period",
    "import_run_quarantine", "import_runs", "open_quarantine",
    "ChannelDay", "IntervalPoint", "channel_day_history", "channel_days", "channel_last_day", "meter_intervals",
    "installations_for_service_point", "installations_for_service_point_dates", "meter_get", "meter_installations",
    "meters_find", "meters_search", "register_reads_for_meter", "service_point_ids_for_meter_serial",
    "NoticeRow", "billed_through_dates", "replacement_read_notices_open",
    "latest_findings_for_meter", "worklist_open",
    "MIN_PREMISES", "ClassDay", "usage_class_averages",
]
