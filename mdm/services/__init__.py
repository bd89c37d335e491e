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
