"""The Utilis CSV read layout, shared by parser and writer."""
from __future__ import annotations

COLUMNS = (
    "meter_serial",
    "channel",
    "unit",
    "direction",
    "interval_minutes",
    "interval_end",
    "value",
    "quality",
    "read_type",
)
REQUIRED = frozenset({"meter_serial", "unit", "interval_end", "value"})
UNITS = {u.lower(): u for u in ("kWh", "kW", "kVA", "kVAR", "kVARh", "m3", "USgal", "ft3")}
DIRECTIONS = frozenset({"delivered", "received"})
QUALITIES = {"": "", "actual": "", "estimated": "estimated", "missing": "missing"}
READ_TYPES = frozenset({"manual", "ami_daily", "mv90", "install", "removal"})
DEFAULT_READ_TYPE = "ami_daily"
