"""mdm's public write API. Other apps call these; the import pipeline is mdm.importing.

Meters by serial number (the REST API and the meter_* commands): meter_provision,
meter_install_by_serial, meter_remove_by_serial, meter_exchange_by_serial (checked, audited).

Exceptions: MeterError (with `field`), MeterNotFoundError, MeterExistsError,
InstallationOverlapError, VirtualMeterFormulaError (meters),
MeterOnboardingError, MetersAlreadyOnboardedError (onboarding), RuleSetConfigError (VEE
configuration), IntervalLayoutError and IntervalEncodingError (interval merge: a value the
channel's resolution cannot store), VeeRunError (VEE runs), WorklistError
(worklist actions).

The rate classes' usage per day (the portal's similar premises): usage_class_days_refresh."""
from mdm.services.intervals import (  # noqa: F401
    IntervalEncodingError,
    IntervalLayoutError,
    MergeCounts,
    StagedDay,
    billed_through_set,
    billed_through_set_many,
    channel_resolutions,
    interval_days_merge,
    interval_days_replace,
    interval_partitions_ensure,
    replacement_read_notices_pick_up,
)
from mdm.services.meters import (  # noqa: F401
    InstallationOverlapError,
    MeterError,
    MeterExistsError,
    MeterNotFoundError,
    VirtualMeterFormulaError,
    channel_add,
    channel_multiplier_set,
    meter_create,
    meter_exchange,
    meter_exchange_by_serial,
    meter_install,
    meter_install_by_serial,
    meter_provision,
    meter_remove,
    meter_remove_by_serial,
    register_read_record,
    virtual_meter_set,
)
from mdm.services.onboarding import (  # noqa: F401
    ChannelDirection,
    ChannelSpec,
    ChannelUnit,
    InstallationSpec,
    MeterKind,
    MeterOnboarding,
    MeterOnboardingError,
    MetersAlreadyOnboardedError,
    MeterStatus,
    MultiplierPeriod,
    OnboardingProblem,
    OnboardingResult,
    meters_exist,
    meters_onboard,
    vee_default_rule_sets_ensure,
    vee_run_stored_days,
)
from mdm.vee_config import (  # noqa: F401,E402  (the VEE configuration's names and defaults)
    DEFAULT_RULE_SET_NAME,
    LARGE_RATE_CLASSES,
    LARGE_RULE_SET_NAME,
    RuleSetConfigError,
    default_rules_json,
    large_customer_rules_json,
    rule_set_from_json,
    rule_set_to_json,
)

# The interval store's local-day layout: what slot i of a channel-day row means (92, 96 or 100
# quarter hours around DST). Whoever stages interval days for interval_days_merge, or writes
# a read file for the import, lays its values out by these; mdm.timeutil itself stays private.
from mdm.timeutil import DayLayout, day_layout, day_start_utc, slot_start_utc, slots_in_day  # noqa: F401,E402

# VEE runs on core.runs (mdm/services/vee_runs.py) and the worklist actions (worklist.py).
from mdm.services.vee_runs import (  # noqa: F401,E402
    VeeRunError,
    channels_with_data,
    chunk_size_for,
    import_done_queue_vee,
    vee_run_begin,
    vee_run_chunk_fail,
    vee_run_chunk_process,
    vee_run_create,
    vee_run_execute,
    vee_run_fail,
    vee_run_for_import,
    vee_run_pending_chunks,
    vee_run_resume,
    vee_run_submit,
)
from mdm.services.worklist import (  # noqa: F401,E402
    WorklistError,
    worklist_item_accept,
    worklist_item_dismiss,
    worklist_item_edit,
    worklist_item_rerun,
)
from mdm.services.usage_classes import REFRESH_DAYS, usage_class_days_refresh  # noqa: F401,E402
