"""mdm's public write API. Other apps call these; the import pipeline is mdm.importing."""
from mdm.services.intervals import (  # noqa: F401
    MergeCounts,
    StagedDay,
    billed_through_set,
    billed_through_set_many,
    interval_days_merge,
    interval_days_replace,
    interval_partitions_ensure,
    replacement_read_notices_pick_up,
)
from mdm.services.meters import (  # noqa: F401
    InstallationOverlapError,
    MeterError,
    VirtualMeterFormulaError,
    channel_add,
    channel_multiplier_set,
    meter_create,
    meter_exchange,
    meter_install,
    meter_remove,
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

# VEE runs (mdm.vee_runs), imported when first asked for: mdm.vee_runs imports
# mdm.services.intervals, so importing it here would make a cycle.
_LAZY = {name: "mdm.vee_runs" for name in (
    "VeeRunError", "channels_with_data", "vee_run_create", "vee_run_execute", "vee_run_resume", "vee_run_submit",
)}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
