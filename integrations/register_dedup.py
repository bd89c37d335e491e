"""Register reads a file repeats: the same value again is dropped, a different value is an
error on the later one (field "Value"), as for intervals (see interval_series)."""
from __future__ import annotations

import datetime as dt

from mdm.records import ParsedRegisterRead, RecordError


class RegisterDeduplicator:
    def __init__(self) -> None:
        self._seen: dict[tuple[str, str, str, str, dt.datetime], float] = {}

    def add(self, read: ParsedRegisterRead, *, raw: str) -> tuple[bool, RecordError | None]:
        """(keep the read?, the error when it contradicts an earlier read of the file)."""
        key = (read.meter_serial, read.unit, read.direction, read.channel_hint, read.read_at)
        earlier = self._seen.get(key)
        if earlier is None:
            self._seen[key] = read.value
            return True, None
        if earlier == read.value:
            return False, None
        return False, RecordError(
            line=read.source_line,
            field="Value",
            message=(
                f"meter {read.meter_serial} {read.unit} {read.direction}: register read at "
                f"{read.read_at:%Y-%m-%dT%H:%MZ} appears again in this file with value {read.value!r}, "
                f"earlier {earlier!r}"
            ),
            raw=raw,
        )
