"""CMEP code tables shared by the parser and the writer.

Direction: MEPMD01 has no direction field, so Utilis reads a "-R" suffix on the Units code
as received (exported) energy: "KWH-R" interval, "KWHREG-R" register. Without it the
channel is delivered. See docs/import-formats.md."""
from __future__ import annotations

RECORD_TYPE = "MEPMD01"
RECORD_VERSION = "20090101"
REGISTER_SUFFIX = "REG"
RECEIVED_SUFFIX = "-R"

# CMEP units code -> (Utilis unit, factor the file value is multiplied by)
UNITS: dict[str, tuple[str, float]] = {
    "KWH": ("kWh", 1.0),
    "KW": ("kW", 1.0),
    "KVARH": ("kVARh", 1.0),
    "KVAR": ("kVAR", 1.0),
    "KVA": ("kVA", 1.0),
    "M3": ("m3", 1.0),
    "GAL": ("USgal", 1.0),
    "CF": ("ft3", 1.0),
    "FT3": ("ft3", 1.0),
    # hundred cubic feet: stored as ft3 so gas and water channels share one unit
    "CCF": ("ft3", 100.0),
    "HCF": ("ft3", 100.0),
}
# the writer's code for each Utilis unit (ft3 is written as CF, never scaled back to CCF)
UNIT_CODES: dict[str, str] = {"kWh": "KWH", "kW": "KW", "kVARh": "KVARH", "kVAR": "KVAR", "kVA": "KVA",
                              "m3": "M3", "USgal": "GAL", "ft3": "CF"}

COMMODITIES = frozenset({"E", "G", "W"})

# ProtocolText quality codes. Anything else is a RecordError (field "ProtocolText"): an
# unknown code must not load as if it were an actual read.
ACTUAL_CODES = frozenset({"", "00", "R0", "R", "A"})
ESTIMATED_PREFIX = "E"  # E, E0, ES, EA ... estimated by the head-end
MISSING_PREFIXES = ("N", "M")  # N, N0, M ... no value; any value given is ignored

WRITER_CODES = {"": "R0", "estimated": "ES", "missing": "N"}


def quality_of(code: str) -> str | None:
    """'' actual, 'estimated', 'missing', or None for a code we do not know."""
    code = code.strip().upper()
    if code in ACTUAL_CODES:
        return ""
    if code.startswith(ESTIMATED_PREFIX):
        return "estimated"
    if code.startswith(MISSING_PREFIXES):
        return "missing"
    return None


def parse_units(code: str) -> tuple[str, float, str, bool] | None:
    """(unit, factor, direction, is_register) for a Units code, or None if unknown.

    Accepts the suffixes in either order: KWHREG-R and KWH-RREG."""
    code = code.strip().upper()
    direction = "delivered"
    register = False
    if code.endswith(RECEIVED_SUFFIX):
        direction, code = "received", code[: -len(RECEIVED_SUFFIX)]
    if code.endswith(REGISTER_SUFFIX):
        register, code = True, code[: -len(REGISTER_SUFFIX)]
    if direction == "delivered" and code.endswith(RECEIVED_SUFFIX):
        direction, code = "received", code[: -len(RECEIVED_SUFFIX)]
    found = UNITS.get(code)
    if found is None:
        return None
    return found[0], found[1], direction, register


def units_code(unit: str, direction: str, *, register: bool) -> str:
    code = UNIT_CODES[unit]
    if register:
        code += REGISTER_SUFFIX
    if direction == "received":
        code += RECEIVED_SUFFIX
    return code
