"""The work list of an import chunk: its parsed records as explicit, versioned JSON.

Chunks wait in the database across deploys, so their format is ours and written down here,
not a pickle of whatever the dataclasses were when the chunk was cut: a record read back
ignores keys it does not know and takes the dataclass's default for keys it lacks.

Format 1 ({"format": 1, "blocks": [...], "registers": [...]}):
- block: {"meter", "unit", "direction", "minutes", "first_end" (ISO 8601 with offset),
  "values" (numbers; null for NaN, "inf"/"-inf" for infinities), "line", "qualities" (list of
  strings, may be empty), "hint"}
- register: {"meter", "unit", "direction", "read_at" (ISO 8601), "value" (as values), "line",
  "read_type", "hint"}
- "as_of" (optional): {source line (string): ISO 8601 instant}, the records' "as of" (CMEP's
  header TimeStamp) for the records that carry one."""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence

from mdm.records import IntervalBlock, ParsedRegisterRead

FORMAT_VERSION = 1


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


def block_to_dict(b: IntervalBlock) -> dict:
    return {
        "meter": b.meter_serial, "unit": b.unit, "direction": b.direction, "minutes": int(b.interval_minutes),
        "first_end": b.first_end_at.isoformat(), "values": [_num(v) for v in b.values], "line": int(b.source_line),
        "qualities": [str(q) for q in b.qualities], "hint": b.channel_hint,
    }


def block_from_dict(d: dict) -> IntervalBlock:
    return IntervalBlock(
        meter_serial=d["meter"], unit=d["unit"], direction=d["direction"], interval_minutes=int(d["minutes"]),
        first_end_at=_instant(d["first_end"]), values=tuple(_float(v) for v in d["values"]),
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
    """Raises PayloadFormatError for a payload of an unknown format version."""
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_VERSION:
        version = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise PayloadFormatError(f"Import chunk payload format {version!r} is not {FORMAT_VERSION}.")
    return ([block_from_dict(d) for d in payload.get("blocks", ())],
            [register_from_dict(d) for d in payload.get("registers", ())])
