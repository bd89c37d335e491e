"""Parse the Utilis CSV read layout into interval blocks and register reads.

Rows of one series (meter, channel, unit, direction, interval length) that follow each
other in time form one block even when other channels' rows are interleaved, so a file
written "all channels per timestamp" loads as compactly as one written channel by channel."""
from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from operator import itemgetter
from typing import Protocol

from integrations.csv_reads import layout
from integrations.interval_series import IntervalDeduplicator, IntervalPoint, blocks_from_points
from integrations.local_time import UTC, local_to_utc
from integrations.register_dedup import RegisterDeduplicator
from mdm.records import ParsedRegisterRead, ParseResult, RecordError

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


class _RowRejected(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class Limits(Protocol):
    """What the import will store (mdm.importing.screen.ReadLimits): checked per row here so
    that a bad row is named by its own line, not its block's first."""

    earliest: dt.datetime
    latest: dt.datetime

    def max_for(self, unit: str, *, register: bool = False) -> float: ...

    def time_problem(self, instant: dt.datetime) -> str | None: ...


def parse_csv(text: str, source_name: str, *, tz: dt.tzinfo = UTC, limits: Limits | None = None) -> ParseResult:
    """Parse a CSV read file. `interval_end` with an offset is taken as is; a naive one is
    wall time in `tz` (UTC by default; DST resolved as in local_time, per series).
    `limits` (optional): rows dated outside its window or with values beyond its maxima are
    errors (field interval_end / value). Values that are not finite (`1e400`) always are.

    Never raises for bad content: bad rows are RecordErrors (line = the file line, field =
    the column name) and the good rows of the file are still returned."""
    return _CsvReader(source_name=source_name, tz=tz, limits=limits).read(text)


class _CsvReader:
    def __init__(self, *, source_name: str, tz: dt.tzinfo, limits: Limits | None = None) -> None:
        self.result = ParseResult(source_name=source_name, format="csv")
        self.tz = tz
        self.limits = limits
        self.intervals = IntervalDeduplicator()
        self.registers = RegisterDeduplicator()
        # series -> the open run of consecutive points, with their raw lines
        self._runs: dict[tuple, list[IntervalPoint]] = {}
        self._physical: list[str] = []
        self._aware: dict[str, dt.datetime] = {}
        self._steps: dict[str, dt.timedelta] = {}
        self._pick = itemgetter(*range(len(layout.COLUMNS)))

    def read(self, text: str) -> ParseResult:
        physical = self._physical = text.splitlines()
        reader = csv.reader(io.StringIO(text))
        columns: dict[str, int] | None = None
        rows = iter(reader)
        while True:
            try:
                row = next(rows)
            except StopIteration:
                break
            except csv.Error as exc:  # e.g. an unterminated quote: the rest cannot be split into rows
                self.result.errors.append(RecordError(line=reader.line_num, field="row", message=f"CSV: {exc}",
                                                      raw=physical[reader.line_num - 1] if reader.line_num <= len(physical) else ""))
                break
            lineno = reader.line_num
            raw = physical[lineno - 1] if lineno <= len(physical) else ",".join(row)
            if not any(row) or not "".join(row).strip():
                continue
            if columns is None:
                columns = self._header(row, lineno, raw)
                if columns is None:
                    return self.result
                continue
            try:
                self._row(row, columns, lineno, raw)
            except OverflowError:  # a date-time at the edge of the calendar (year 1, 9999)
                self.result.errors.append(RecordError(
                    line=lineno, field="interval_end", message="interval_end is outside any storable date range", raw=raw))
            except _RowRejected as rejected:
                self.result.errors.append(
                    RecordError(line=lineno, field=rejected.field, message=rejected.message, raw=raw)
                )
        for key in list(self._runs):
            self._flush(key)
        return self.result

    def _header(self, row: list[str], lineno: int, raw: str) -> dict[str, int] | None:
        names = [cell.strip().lower() for cell in row]
        unknown = [n for n in names if n not in layout.COLUMNS]
        missing = sorted(layout.REQUIRED - set(names))
        if unknown or missing:
            parts = []
            if missing:
                parts.append(f"missing column(s) {', '.join(missing)}")
            if unknown:
                parts.append(f"unknown column(s) {', '.join(unknown)}")
            self.result.errors.append(
                RecordError(
                    line=lineno,
                    field="header",
                    message=f"header {'; '.join(parts)}; expected {','.join(layout.COLUMNS)}",
                    raw=raw,
                )
            )
            return None
        columns = {name: i for i, name in enumerate(names)}
        # picks the cells in layout.COLUMNS order; a column the header lacks reads the "" that
        # _row appends at index len(row)
        self._pick = itemgetter(*(columns.get(name, len(names)) for name in layout.COLUMNS))
        return columns

    def _instant(self, text: str, after: dt.datetime | None) -> dt.datetime:
        # every meter of a file repeats the same timestamps: parse each offset-carrying text once
        known = self._aware.get(text)
        if known is not None:
            return known
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            raise _RowRejected("interval_end", f"interval_end {text!r} is not an ISO 8601 date-time") from None
        try:
            if parsed.tzinfo is not None:
                instant = parsed.astimezone(UTC)
            else:
                instant = local_to_utc(parsed, self.tz, after=after)
        except OverflowError:
            raise _RowRejected("interval_end", f"interval_end {text!r} is outside any storable date range") from None
        except ValueError as exc:
            raise _RowRejected("interval_end", f"interval_end {text!r}: {exc}") from None
        if self.limits is not None:
            problem = self.limits.time_problem(instant)
            if problem:
                raise _RowRejected("interval_end", f"interval_end {text!r}: {problem}")
        if parsed.tzinfo is not None and len(self._aware) < 100_000:
            self._aware[text] = instant
        return instant

    def _value(self, text: str, unit: str, *, register: bool) -> float:
        value = float(text)
        if not math.isfinite(value):
            raise _RowRejected("value", f"value {text!r} is not a finite number")
        if self.limits is not None:
            limit = self.limits.max_for(unit, register=register)
            if abs(value) >= limit:
                raise _RowRejected("value", f"value {text!r} {unit} is beyond the largest accepted ({limit:g})")
        return value

    def _row(self, row: list[str], columns: dict[str, int], lineno: int, raw: str) -> None:
        if len(row) != len(columns):
            raise _RowRejected("row", f"row has {len(row)} fields, the header {len(columns)}")
        row.append("")  # what the picker returns for a column the header does not have
        meter, channel, unit_text, direction_text, minutes_text, stamp, value_text, quality_text, read_type = map(
            str.strip, self._pick(row)
        )
        if not meter:
            raise _RowRejected("meter_serial", "meter_serial is blank")
        unit = layout.UNITS.get(unit_text.lower())
        if unit is None:
            raise _RowRejected("unit", f"unit {unit_text!r} is not one of {', '.join(layout.UNITS.values())}")
        direction = direction_text.lower() or "delivered"
        if direction not in layout.DIRECTIONS:
            raise _RowRejected("direction", f"direction {direction_text!r} is not delivered or received")
        quality = layout.QUALITIES.get(quality_text.lower())
        if quality is None:
            raise _RowRejected("quality", f"quality {quality_text!r} is not actual, estimated or missing")
        if value_text and not _NUMBER.fullmatch(value_text):
            raise _RowRejected("value", f"value {value_text!r} is not a number")
        if not stamp:
            raise _RowRejected("interval_end", "interval_end is blank")

        if not minutes_text:
            self._register(meter, unit, direction, channel, stamp, value_text, read_type, lineno, raw)
            return
        step = self._steps.get(minutes_text)
        if step is None:
            if not minutes_text.isdigit() or not 0 < int(minutes_text) <= 1440 or 1440 % int(minutes_text):
                raise _RowRejected(
                    "interval_minutes",
                    f"interval_minutes {minutes_text!r} is not a whole number of minutes dividing a day",
                )
            step = self._steps[minutes_text] = dt.timedelta(minutes=int(minutes_text))
        key = (meter, unit, direction, channel, int(minutes_text))
        run = self._runs.get(key)
        end_at = self._instant(stamp, run[-1].end_at if run else None)
        if quality == "missing" or not value_text:
            point = IntervalPoint(end_at, math.nan, "missing", lineno)
        else:
            point = IntervalPoint(end_at, self._value(value_text, unit, register=False), quality, lineno)
        if run and end_at != run[-1].end_at + step:
            self._flush(key)
            run = None
        if run is None:
            self._runs[key] = [point]
        else:
            run.append(point)

    def _flush(self, key: tuple) -> None:
        run = self._runs.pop(key)
        meter, unit, direction, channel, minutes = key
        (block,) = blocks_from_points(
            meter_serial=meter,
            unit=unit,
            direction=direction,
            interval_minutes=minutes,
            channel_hint=channel,
            points=run,
        )
        lines = [p.line for p in run]
        kept, errors = self.intervals.add(block, raw="", lines=lines)
        self.result.intervals.extend(kept)
        for error in errors:
            # the error's own row, not the first row of its block
            self.result.errors.append(
                RecordError(line=error.line, field=error.field, message=error.message, raw=self._physical[error.line - 1])
            )

    def _register(self, meter, unit, direction, channel, stamp, value_text, read_type, lineno, raw) -> None:
        read_type = read_type.lower() or layout.DEFAULT_READ_TYPE
        if read_type not in layout.READ_TYPES:
            raise _RowRejected("read_type", f"read_type {read_type!r} is not one of {', '.join(sorted(layout.READ_TYPES))}")
        if not value_text:
            raise _RowRejected("value", "a register read needs a value")
        read = ParsedRegisterRead(
            meter_serial=meter,
            unit=unit,
            direction=direction,
            read_at=self._instant(stamp, None),
            value=self._value(value_text, unit, register=True),
            source_line=lineno,
            read_type=read_type,
            channel_hint=channel,
        )
        keep, error = self.registers.add(read, raw=raw)
        if keep:
            self.result.registers.append(read)
        if error is not None:
            self.result.errors.append(error)
