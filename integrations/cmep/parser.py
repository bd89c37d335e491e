"""Parse CMEP MEPMD01 records into interval blocks and register reads.

Hot path: a 100,000-meter day is 100,000 lines of 96 triplets. A record whose DateTimes
after the first are blank (or exactly the regular sequence), whose ProtocolTexts are all
"actual" and whose values are all numbers becomes one IntervalBlock with one str.split,
three slices and one map(float); only the first DateTime is parsed. Anything else falls to
the per-triplet path, which finds the exact triplet and field that is wrong."""
from __future__ import annotations

import datetime as dt
import math
import re

from integrations.cmep import codes
from integrations.interval_series import IntervalDeduplicator, IntervalPoint, blocks_from_points
from integrations.local_time import UTC, local_to_utc
from integrations.register_dedup import RegisterDeduplicator
from mdm.records import IntervalBlock, ParsedRegisterRead, ParseResult, RecordError

HEADER_FIELDS = 14  # MEPMD01 ... Count, then the triplets
_NUMBER = re.compile(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*")
_ACTUAL = codes.ACTUAL_CODES
_STAMP_CACHE_LIMIT = 200_000


def parse_cmep(
    text: str,
    source_name: str,
    *,
    tz: dt.tzinfo = UTC,
    register_read_type: str = "ami_daily",
) -> ParseResult:
    """Parse a CMEP file. `tz` is the zone the file's DateTimes are written in: UTC by
    default; a utility's ZoneInfo for local wall time (DST handled, see local_time), or a
    fixed-offset timezone for "local standard time all year".

    Never raises for bad content: every bad record or triplet is a RecordError in the
    result, and the good ones of the same file are still returned."""
    reader = _CmepReader(source_name=source_name, tz=tz, register_read_type=register_read_type)
    for lineno, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            reader.read_line(lineno, line)
    return reader.result


def _parse_stamp(text: str) -> dt.datetime:
    if len(text) != 12 or not text.isdigit():
        raise ValueError(f"DateTime {text!r} is not CCYYMMDDHHMM")
    try:
        return dt.datetime(int(text[0:4]), int(text[4:6]), int(text[6:8]), int(text[8:10]), int(text[10:12]))
    except ValueError as exc:
        raise ValueError(f"DateTime {text!r} is not a valid date and time ({exc})") from None


class _RecordRejected(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class _CmepReader:
    def __init__(self, *, source_name: str, tz: dt.tzinfo, register_read_type: str) -> None:
        self.result = ParseResult(source_name=source_name, format="cmep")
        self.tz = tz
        self.register_read_type = register_read_type
        self.intervals = IntervalDeduplicator()
        self.registers = RegisterDeduplicator()
        # DateTime text -> (instant, later instant when the wall time repeats at fall-back)
        self._stamps: dict[str, tuple[dt.datetime, dt.datetime | None]] = {}
        self._expected: dict[tuple[dt.datetime, int, int], list[str]] = {}
        self._last_end: dict[tuple, dt.datetime] = {}

    # -- helpers -------------------------------------------------------------------------
    def _error(self, lineno: int, field: str, message: str, raw: str) -> None:
        self.result.errors.append(RecordError(line=lineno, field=field, message=message, raw=raw))

    def _instant(self, text: str, after: dt.datetime | None) -> dt.datetime:
        """Raises ValueError with a message fit for the RecordError."""
        cached = self._stamps.get(text)
        if cached is None:
            naive = _parse_stamp(text)
            first = local_to_utc(naive, self.tz)
            later = local_to_utc(naive, self.tz, after=first)
            cached = (first, later if later != first else None)
            if len(self._stamps) > _STAMP_CACHE_LIMIT:
                self._stamps.clear()
            self._stamps[text] = cached
        first, later = cached
        if later is not None and after is not None and first <= after:
            return later
        return first

    def _regular_stamps(self, first: dt.datetime, minutes: int, count: int) -> list[str]:
        key = (first, minutes, count)
        stamps = self._expected.get(key)
        if stamps is None:
            step = dt.timedelta(minutes=minutes)
            tz = self.tz
            stamps = [(first + i * step).astimezone(tz).strftime("%Y%m%d%H%M") for i in range(count)]
            if len(self._expected) > 10_000:
                self._expected.clear()
            self._expected[key] = stamps
        return stamps

    # -- one record ----------------------------------------------------------------------
    def read_line(self, lineno: int, line: str) -> None:
        fields = line.split(",")
        try:
            header = self._header(fields)
        except _RecordRejected as rejected:
            self._error(lineno, rejected.field, rejected.message, line)
            return
        meter, unit, factor, direction, register, minutes, count, triplets = header
        if register:
            self._registers(lineno, line, meter, unit, factor, direction, minutes, count, triplets)
        else:
            self._intervals(lineno, line, meter, unit, factor, direction, minutes, count, triplets)

    def _header(self, fields: list[str]):
        record_type = fields[0].strip()
        if record_type != codes.RECORD_TYPE:
            raise _RecordRejected("RecordType", f"record type {record_type!r} is not {codes.RECORD_TYPE}")
        if len(fields) < HEADER_FIELDS:
            raise _RecordRejected(
                "Count", f"record has {len(fields)} fields; MEPMD01 needs {HEADER_FIELDS} before the triplets"
            )
        meter = fields[7].strip()
        if not meter:
            raise _RecordRejected("MeterID", "MeterID is blank")
        commodity = fields[9].strip().upper()
        if commodity not in codes.COMMODITIES:
            raise _RecordRejected("Commodity", f"Commodity {fields[9]!r} is not one of E, G, W")
        units = codes.parse_units(fields[10])
        if units is None:
            raise _RecordRejected("Units", f"Units {fields[10]!r} is not a known CMEP units code")
        unit, unit_factor, direction, register = units
        constant_text = fields[11].strip() or "1"
        if not _NUMBER.fullmatch(constant_text) or float(constant_text) == 0:
            raise _RecordRejected(
                "CalculationConstant", f"CalculationConstant {fields[11]!r} is not a non-zero number"
            )
        factor = float(constant_text) * unit_factor
        interval_text = fields[12].strip()
        if len(interval_text) != 8 or not interval_text.isdigit():
            raise _RecordRejected("Interval", f"Interval {fields[12]!r} is not MMDDHHMM")
        if interval_text[0:2] != "00":
            raise _RecordRejected("Interval", f"Interval {interval_text} is in months; only day/hour/minute intervals are read")
        minutes = int(interval_text[2:4]) * 1440 + int(interval_text[4:6]) * 60 + int(interval_text[6:8])
        if minutes and 1440 % minutes:
            raise _RecordRejected("Interval", f"Interval {interval_text} ({minutes} min) does not divide a day")
        if minutes == 0 and not register:
            raise _RecordRejected(
                "Interval", f"Interval 00000000 on interval units {fields[10]!r}; register reads use a REG units code"
            )
        count_text = fields[13].strip()
        if not count_text.isdigit() or int(count_text) == 0:
            raise _RecordRejected("Count", f"Count {fields[13]!r} is not a positive whole number")
        count = int(count_text)
        triplets = fields[HEADER_FIELDS:]
        # a trailing comma after the last value is common and harmless
        if len(triplets) == 3 * count + 1 and not triplets[-1].strip():
            triplets.pop()
        if len(triplets) != 3 * count:
            found = len(triplets) / 3
            shown = int(found) if found == int(found) else round(found, 2)
            raise _RecordRejected("Count", f"Count is {count} but the record holds {shown} triplets")
        return meter, unit, factor, direction, register, minutes, count, triplets

    def _intervals(self, lineno, line, meter, unit, factor, direction, minutes, count, triplets) -> None:
        key = (meter, unit, direction, "", minutes)
        stamps = triplets[0::3]
        first_text = stamps[0].strip()
        block = None
        if first_text and _ACTUAL.issuperset(triplets[1::3]) and "_" not in line:
            block = self._fast_block(lineno, meter, unit, factor, direction, minutes, count, triplets, key, first_text)
        if block is not None:
            self._keep_block(block, line)
            self._last_end[key] = block.first_end_at + dt.timedelta(minutes=minutes * (count - 1))
            return
        points = self._points(lineno, line, factor, minutes, count, triplets, key, register=False)
        for block in blocks_from_points(
            meter_serial=meter, unit=unit, direction=direction, interval_minutes=minutes, channel_hint="", points=points
        ):
            self._keep_block(block, line)
        if points:
            self._last_end[key] = points[-1].end_at

    def _fast_block(self, lineno, meter, unit, factor, direction, minutes, count, triplets, key, first_text):
        try:
            values = tuple(map(float, triplets[2::3]))
            first = self._instant(first_text, self._last_end.get(key))
        except ValueError:
            return None
        total = sum(values)
        if total != total or total in (math.inf, -math.inf):  # nan/inf text, or overflow
            return None
        stamps = triplets[0::3]
        if stamps.count("") != count - 1 and stamps != self._regular_stamps(first, minutes, count):
            return None
        if factor != 1.0:
            values = tuple([v * factor for v in values])
        return IntervalBlock(
            meter_serial=meter,
            unit=unit,
            direction=direction,
            interval_minutes=minutes,
            first_end_at=first,
            values=values,
            source_line=lineno,
        )

    def _keep_block(self, block: IntervalBlock, line: str) -> None:
        kept, errors = self.intervals.add(block, raw=line)
        self.result.intervals.extend(kept)
        self.result.errors.extend(errors)

    def _points(self, lineno, line, factor, minutes, count, triplets, key, *, register: bool) -> list[IntervalPoint]:
        """Each triplet on its own: the slow path that names the exact bad triplet."""
        points: list[IntervalPoint] = []
        step = dt.timedelta(minutes=minutes)
        previous: dt.datetime | None = None  # instant of the previous well-timed triplet
        lost = False  # after a bad DateTime, blank DateTimes have nothing to count from
        for i in range(count):
            stamp, protocol, raw_value = triplets[3 * i], triplets[3 * i + 1], triplets[3 * i + 2]
            where = f"triplet {i + 1}"
            stamp = stamp.strip()
            if stamp:
                try:
                    instant = self._instant(stamp, previous if previous is not None else self._last_end.get(key))
                except ValueError as exc:
                    self._error(lineno, "DateTime", f"{where}: {exc}; triplets timed from it are skipped", line)
                    lost = True
                    continue
                lost = False
                if previous is not None and instant <= previous:
                    self._error(
                        lineno,
                        "DateTime",
                        f"{where}: DateTime {stamp} ({instant:%Y-%m-%dT%H:%MZ}) is not after the previous "
                        f"triplet ({previous:%Y-%m-%dT%H:%MZ}); the rest of the record is not loaded",
                        line,
                    )
                    break
            elif lost:
                continue
            elif previous is None:
                self._error(lineno, "DateTime", f"{where}: the first triplet has no DateTime", line)
                lost = True
                continue
            elif minutes == 0:
                self._error(lineno, "DateTime", f"{where}: blank DateTime but Interval is 00000000", line)
                lost = True
                continue
            else:
                instant = previous + step
            previous = instant

            quality = codes.quality_of(protocol)
            if quality is None:
                self._error(lineno, "ProtocolText", f"{where}: ProtocolText {protocol!r} is not a known quality code", line)
                continue
            value_text = raw_value.strip()
            if quality == "missing" or not value_text:
                if register:
                    self._error(lineno, "Value", f"{where}: a register read needs a value", line)
                    continue
                points.append(IntervalPoint(instant, math.nan, "missing", lineno))
                continue
            if not _NUMBER.fullmatch(value_text):
                self._error(lineno, "Value", f"{where}: Value {raw_value!r} is not a number", line)
                continue
            points.append(IntervalPoint(instant, float(value_text) * factor, quality, lineno))
        return points

    def _registers(self, lineno, line, meter, unit, factor, direction, minutes, count, triplets) -> None:
        key = (meter, unit, direction, "", minutes)
        for point in self._points(lineno, line, factor, minutes, count, triplets, key, register=True):
            read = ParsedRegisterRead(
                meter_serial=meter,
                unit=unit,
                direction=direction,
                read_at=point.end_at,
                value=point.value,
                source_line=lineno,
                read_type=self.register_read_type,
            )
            keep, error = self.registers.add(read, raw=line)
            if keep:
                self.result.registers.append(read)
            if error is not None:
                self.result.errors.append(error)
