"""MultiSpeak 4.1 names and code tables the reading parser maps from."""
from __future__ import annotations

NS = "http://www.multispeak.org/Version_4.1_Release"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"


def q(name: str) -> str:
    return f"{{{NS}}}{name}"


# Elements of type tns:meterReading and the read type each one is
METER_READING_ELEMENTS = {
    "meterReading": "ami_daily",
    "lastRead": "ami_daily",
    "outMeterRead": "removal",
    "outMeterReading": "removal",
    "inMeterRead": "install",
    "inMeterReading": "install",
    "initialRead": "install",
}

# tns:uom -> (Utilis unit, factor). Other uoms (volts, amps, ...) are not consumption and
# are skipped in formattedBlock columns; on a readingValue they are a RecordError.
UOMS: dict[str, tuple[str, float]] = {
    "kWh": ("kWh", 1.0),
    "Wh": ("kWh", 0.001),
    "MWh": ("kWh", 1000.0),
    "kW": ("kW", 1.0),
    "W": ("kW", 0.001),
    "MW": ("kW", 1000.0),
    "kVA": ("kVA", 1.0),
    "kVAR": ("kVAR", 1.0),
    "kVARh": ("kVARh", 1.0),
    "cubic meter": ("m3", 1.0),
    "US gl": ("USgal", 1.0),
    "cubic feet": ("ft3", 1.0),
    "ccf": ("ft3", 100.0),
}

# readingTypeCode/@flowDirection (CIM FlowDirectionKind names)
FLOW_DIRECTIONS = {"": "delivered", "forward": "delivered", "delivered": "delivered",
                   "reverse": "received", "received": "received"}

# interval status codes after statusDelimiter (case-insensitive)
STATUSES = {"": "", "a": "", "actual": "", "ok": "", "r": "",
            "e": "estimated", "est": "estimated", "estimated": "estimated",
            "m": "missing", "n": "missing", "missing": "missing"}

DEFAULT_INTERVAL_DELIMITER = ","
DEFAULT_STATUS_DELIMITER = ":"
DEFAULT_SEPARATOR = ","

TIME_UNITS_MINUTES = {"Minutes": 1.0, "Hours": 60.0, "Seconds": 1 / 60, "Days": 1440.0}


def direction_of_field_name(name: str) -> str:
    """formattedBlock columns and interval channels carry no flowDirection: a field name
    that says received/reverse is the received channel."""
    lowered = name.lower()
    return "received" if ("received" in lowered or "reverse" in lowered) else "delivered"
