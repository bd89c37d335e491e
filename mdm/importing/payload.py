"""The work list of an import chunk: its parsed records as explicit, versioned JSON.

Chunks wait in the database across deploys, so their format is ours and written down here,
not a pickle of whatever the dataclasses were when the chunk was cut: a record read back
ignores keys it does not know and takes the dataclass's default for keys it lacks.

Format 2, written now ({"format": 2, "blocks": [...], "registers": [...]}):
- block: {"meter", "unit", "direction", "minutes", "first_end" (ISO 8601 with offset),
  "f8" (the values as IEEE 754 float64, little-endian, in base64: NaN and the infinities as
  themselves, every value exactly as parsed), "line", "qualities" (list of strings, may be
  empty), "hint"}
- register: {"meter", "unit", "direction", "read_at" (ISO 8601), "value" (as values), "line",
  "read_type", "hint"}
- "as_of" (optional): {source line (string): ISO 8601 instant}, the records' "as of" (CMEP's
  header TimeStamp) for the records that carry one.

Format 1 (still read: chunks cut before the change may be waiting) is format 2 with the block's
values as JSON numbers under "values" (null for NaN, "inf"/"-inf" for infinities). Writing a
day of 100,000 meters that way meant 9.6M float reprs in Python, 9.6M numerics parsed by
PostgreSQL's jsonb and 9.6M floats read back per load; as bytes each side is one call
(docs/performance.md, "import + VEE").

A payload is ours, but it is read from the database: a block whose "f8" is not base64 of whole
float64s is refused (PayloadFormatError), never read as something else."""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import math
from collections.abc import Mapping, Sequence

import numpy as np

from mdm.records import IntervalBlock, ParsedRegisterRead

FORMAT_VERSION = 2
_READS = (1, 2)  # the formats payload_unpack reads
_F8 = np.dtype("<f8")


class PayloadFormatError(ValueError):
    """A chunk payload in a format this code does not read."""


def _num(x: float):
    x = float(x)
    if math.isfinite(x):
        return x
    return None if math.isnan(x) else ("inf" if x > 0 else "-inf")


def _float(v) -> float:
    if v is None:
        return math.nan
    return float(v)  # numbers, and the strings "inf" / "-inf"


def _instant(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _f8_pack(values: Sequence[float]) -> str:
    return base64.b64encode(np.asarray(values, dtype=_F8).tobytes()).decode("ascii")


def _f8_unpack(text: str) -> tuple[float, ...]:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, TypeError, ValueError) as exc:
        raise PayloadFormatError(f"Import chunk block values are not base64: {exc}") from None
    if len(raw) % _F8.itemsize:
        raise PayloadFormatError(f"Import chunk block values are {len(raw)} bytes, not whole float64s.")
    return tuple(np.frombuffer(raw, dtype=_F8).tolist())


def block_to_dict(b: IntervalBlock) -> dict:
    """A block in format 2 (FORMAT_VERSION)."""
    return {
        "meter": b.meter_serial, "unit": b.unit, "direction": b.direction, "minutes": int(b.interval_minutes),
        "first_end": b.first_end_at.isoformat(), "f8": _f8_pack(b.values), "line": int(b.source_line),
        "qualities": [str(q) for q in b.qualities], "hint": b.channel_hint,
    }


def block_from_dict(d: dict, version: int = FORMAT_VERSION) -> IntervalBlock:
    values = _f8_unpack(d["f8"]) if version >= 2 else tuple(_float(v) for v in d["values"])
    return IntervalBlock(
        meter_serial=d["meter"], unit=d["unit"], direction=d["direction"], interval_minutes=int(d["minutes"]),
        first_end_at=_instant(d["first_end"]), values=values,
        source_line=int(d.get("line", 0)), qualities=tuple(d.get("qualities") or ()), channel_hint=d.get("hint", ""),
    )


def register_to_dict(r: ParsedRegisterRead) -> dict:
    return {
        "meter": r.meter_serial, "unit": r.unit, "direction": r.direction, "read_at": r.read_at.isoformat(),
        "value": _num(r.value), "line": int(r.source_line), "read_type": r.read_type, "hint": r.channel_hint,
    }


def register_from_dict(d: dict) -> ParsedRegisterRead:
    extra = {"read_type": d["read_type"]} if d.get("read_type") else {}
    return ParsedRegisterRead(
        meter_serial=d["meter"], unit=d["unit"], direction=d["direction"], read_at=_instant(d["read_at"]),
        value=_float(d["value"]), source_line=int(d.get("line", 0)), channel_hint=d.get("hint", ""), **extra,
    )


def payload_pack(blocks: Sequence[IntervalBlock], registers: Sequence[ParsedRegisterRead],
                 as_of: Mapping[int, dt.datetime] | None = None) -> dict:
    payload = {"format": FORMAT_VERSION, "blocks": [block_to_dict(b) for b in blocks],
               "registers": [register_to_dict(r) for r in registers]}
    if as_of:
        payload["as_of"] = {str(line): at.isoformat() for line, at in as_of.items()}
    return payload


def payload_as_of(payload: dict) -> dict[int, dt.datetime]:
    """The records' "as of" by source line (CMEP header TimeStamps); {} when none was given."""
    found = payload.get("as_of") if isinstance(payload, dict) else None
    return {int(line): _instant(at) for line, at in (found or {}).items()}


def payload_unpack(payload: dict) -> tuple[list[IntervalBlock], list[ParsedRegisterRead]]:
    """Reads formats 1 and 2. Raises PayloadFormatError for a payload of another format
    version, or whose block values are not base64 of float64s."""
    version = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
    if version not in _READS or isinstance(version, bool):
        raise PayloadFormatError(f"Import chunk payload format {version!r} is not one of {', '.join(map(str, _READS))}.")
    return ([block_from_dict(d, version) for d in payload.get("blocks", ())],
            [register_from_dict(d) for d in payload.get("registers", ())])
