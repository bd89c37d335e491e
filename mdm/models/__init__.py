"""mdm's tables, by concern (private to mdm: other apps use mdm.services and mdm.selectors).

devices.py     meters, channels, multipliers, installations, virtual meters
imports.py     read-file imports (core.runs), chunks, the quarantine
intervals.py   register reads, the interval store and its versions, billed-through, notices,
               the usage of each rate class per day (the portal's similar premises)
vee.py         VEE rule sets and assignments, VEE runs (core.runs), findings, the worklist
"""
from core.commodities import Commodity
from mdm.models.devices import Channel, ChannelMultiplier, Installation, Meter, TstzRange, VirtualMeter
from mdm.models.imports import ImportChunk, ImportRun, QuarantinedRecord
from mdm.models.intervals import (
    BilledThrough, IntervalDay, IntervalDayVersion, RegisterRead, ReplacementReadNotice, UsageClassDay,
)
from mdm.models.vee import VeeFinding, VeeRuleSet, VeeRuleSetAssignment, VeeRun, VeeRunChunk, VeeWorklistItem

__all__ = [
    "Commodity", "Channel", "ChannelMultiplier", "Installation", "Meter", "TstzRange", "VirtualMeter",
    "ImportChunk", "ImportRun", "QuarantinedRecord",
    "BilledThrough", "IntervalDay", "IntervalDayVersion", "RegisterRead", "ReplacementReadNotice", "UsageClassDay",
    "VeeFinding", "VeeRuleSet", "VeeRuleSetAssignment", "VeeRun", "VeeRunChunk", "VeeWorklistItem",
]
