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
from dataclasses import dataclass, field

from integrations.cmep import codes
from integrations.interval_series import IntervalDeduplicator, IntervalPoint, blocks_from_points
from integrations.local_time import UTC, local_to_utc
from integrations.register_dedup import RegisterDeduplicator
from mdm.records import IntervalBlock, ParsedRegisterRead, ParseResult, RecordError

HEADER_FIELDS = 14  # MEPMD01 ... Count, then the triplets
_NUMBER = re.compile(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*")
_ACTUAL = codes.ACTUAL_CODES
_STAMP_CACHE_LIMIT = 200_000
_PURPOSES = {"", "OK", "RESEND", "SUMMARY"}


@dataclass
class CmepParseResult(ParseResult):
    """A ParseResult that also gives each record's "as of": its header TimeStamp (UTC), by
    source line. The import pipeline uses it so an older record never replaces a newer one."""

    as_of: dict[int, dt.datetime] = field(default_factory=dict)


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
        if line and not line.isspace():
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



def _record_spec(commodity_text: str, units_text: str, constant_field: str, interval_field: str, count_field: str):
    """(unit, factor, direction, is_register, interval minutes, count) from a record's
    Commodity..Count fields. Raises _RecordRejected naming the bad field."""
    commodity = commodity_text.strip().upper()
    if commodity not in codes.COMMODITIES:
        raise _RecordRejected("Commodity", f"Commodity {commodity_text!r} is not one of E, G, W")
    units = codes.parse_units(units_text)
    if units is None:
        raise _RecordRejected("Units", f"Units {units_text!r} is not a known CMEP units code")
    unit, unit_factor, direction, register = units
    constant_text = constant_field.strip() or "1"
    if not _NUMBER.fullmatch(constant_text) or float(constant_text) == 0:
        raise _RecordRejected(
            "CalculationConstant", f"CalculationConstant {constant_field!r} is not a non-zero number"
        )
    factor = float(constant_text) * unit_factor
    interval_text = interval_field.strip()
    if len(interval_text) != 8 or not interval_text.isdigit():
        raise _RecordRejected("Interval", f"Interval {interval_field!r} is not MMDDHHMM")
    if interval_text[0:2] != "00":
        raise _RecordRejected("Interval", f"Interval {interval_text} is in months; only day/hour/minute intervals are read")
    minutes = int(interval_text[2:4]) * 1440 + int(interval_text[4:6]) * 60 + int(interval_text[6:8])
    if minutes and 1440 % minutes:
        raise _RecordRejected("Interval", f"Interval {interval_text} ({minutes} min) does not divide a day")
    if minutes == 0 and not register:
        raise _RecordRejected(
            "Interval", f"Interval 00000000 on interval units {units_text!r}; register reads use a REG units code"
        )
    count_text = count_field.strip()
    if not count_text.isdigit() or int(count_text) == 0:
        raise _RecordRejected("Count", f"Count {count_field!r} is not a positive whole number")
    count = int(count_text)
    return unit, factor, direction, register, minutes, count


class _CmepReader:
    def __init__(self, *, source_name: str, tz: dt.tzinfo, register_read_type: str) -> None:
        self.result = CmepParseResult(source_name=source_name, format="cmep")
        self.tz = tz
        self.register_read_type = register_read_type
        self.intervals = IntervalDeduplicator()
        self.registers = RegisterDeduplicator()
        # DateTime text -> (instant, later instant when the wall time repeats at fall-back)
        self._stamps: dict[str, tuple[dt.datetime, dt.datetime | None]] = {}
        self._expected: dict[tuple[dt.datetime, int, int], list[str]] = {}
        # series -> (first end, minutes to the last end) of its latest record; the instant is
        # only worked out when a later record starts in a repeated fall-back hour
        self._last_end: dict[tuple, tuple[dt.datetime, int]] = {}
        self._specs: dict[tuple[str, ...], tuple] = {}

    # -- helpers -------------------------------------------------------------------------
    def _error(self, lineno: int, field: str, message: str, raw: str) -> None:
        self.result.errors.append(RecordError(line=lineno, field=field, message=message, raw=raw))

    def _instant(self, text: str, after: dt.datetime | None) -> dt.datetime:
        """Raises ValueError with a message fit for the RecordError."""
        cached = self._stamps.get(text)
        if cached is None:
            naive = _parse_stamp(text)
            try:
                first = local_to_utc(naive, self.tz)
                second = local_to_utc(naive, self.tz, after=first)
            except OverflowError:
                raise ValueError(f"DateTime {text!r} is outside any storable date range") from None
            cached = (first, second if second != first else None)
            if len(self._stamps) > _STAMP_CACHE_LIMIT:
                self._stamps.clear()
            self._stamps[text] = cached
        first, later = cached
        if later is not None and after is not None and first <= after:
            return later
        return first

    def _after(self, key: tuple) -> dt.datetime | None:
        last = self._last_end.get(key)
        return None if last is None else last[0] + dt.timedelta(minutes=last[1])

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
        try:
            self._read_line(lineno, line)
        except OverflowError:  # times at the edge of the calendar (year 1, year 9999)
            self._error(lineno, "DateTime", "a DateTime of this record is outside any storable date range", line)

    def _read_line(self, lineno: int, line: str) -> None:
        fields = line.split(",")
        try:
            header = self._header(fields)
        except _RecordRejected as rejected:
            self._error(lineno, rejected.field, rejected.message, line)
            return
        meter, unit, factor, direction, register, minutes, count, fields = header
        try:
            as_of = self._as_of(fields)
        except _RecordRejected as rejected:
            self._error(lineno, rejected.field, rejected.message, line)
            return
        if as_of is not None:
            self.result.as_of[lineno] = as_of
        if register:
            self._registers(lineno, line, meter, unit, factor, direction, minutes, count, fields)
        else:
            self._intervals(lineno, line, meter, unit, factor, direction, minutes, count, fields)

    def _as_of(self, fields: list[str]) -> dt.datetime | None:
        """The header fields Utilis does not load, validated: RecordVersion (CCYYMMDD), the
        TimeStamp (CCYYMMDDHHMM in tz: the record's "as of"), Purpose. Raises _RecordRejected."""
        version = fields[1].strip()
        if len(version) != 8 or not version.isdigit():
            raise _RecordRejected("RecordVersion", f"RecordVersion {fields[1]!r} is not CCYYMMDD")
        purpose = fields[8].strip().upper()
        if purpose not in _PURPOSES:
            raise _RecordRejected("Purpose", f"Purpose {fields[8]!r} is not OK, RESEND or SUMMARY")
        stamp = fields[6].strip()
        if not stamp:
            raise _RecordRejected("TimeStamp", "TimeStamp is blank")
        try:
            return self._instant(stamp, None)
        except ValueError as exc:
            raise _RecordRejected("TimeStamp", str(exc).replace("DateTime", "TimeStamp")) from None

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
        # Commodity..Count repeat on every line of a file: checked once per distinct combination
        spec_key = (fields[9], fields[10], fields[11], fields[12], fields[13])
        spec = self._specs.get(spec_key)
        if spec is None:
            spec = _record_spec(*spec_key)
            self._specs[spec_key] = spec
        unit, factor, direction, register, minutes, count = spec
        # a trailing comma after the last value is common and harmless
        if len(fields) == HEADER_FIELDS + 3 * count + 1 and not fields[-1].strip():
            fields.pop()
        if len(fields) != HEADER_FIELDS + 3 * count:
            found = (len(fields) - HEADER_FIELDS) / 3
            shown = int(found) if found == int(found) else round(found, 2)
            raise _RecordRejected("Count", f"Count is {count} but the record holds {shown} triplets")
        # the triplets stay in `fields` (offset HEADER_FIELDS): copying 300 strings per line shows
        return meter, unit, factor, direction, register, minutes, count, fields

    def _intervals(self, lineno, line, meter, unit, factor, direction, minutes, count, fields) -> None:
        key = (meter, unit, direction, "", minutes)
        first_text = fields[HEADER_FIELDS].strip()
        block = None
        # float() reads "1_000" as 1000; such a value must go to the checked path
        underscored = "_" in line and any("_" in value for value in fields[HEADER_FIELDS + 2 :: 3])
        if first_text and _ACTUAL.issuperset(fields[HEADER_FIELDS + 1 :: 3]) and not underscored:
            block = self._fast_block(lineno, meter, unit, factor, direction, minutes, count, fields, key, first_text)
        if block is not None:
            self._keep_block(block, line)
            self._last_end[key] = (block.first_end_at, minutes * (count - 1))
            return
        points = self._points(lineno, line, factor, minutes, count, fields, key, register=False)
        for block in blocks_from_points(
            meter_serial=meter, unit=unit, direction=direction, interval_minutes=minutes, channel_hint="", points=points
        ):
            self._keep_block(block, line)
        if points:
            self._last_end[key] = (points[-1].end_at, 0)

    def _fast_block(self, lineno, meter, unit, factor, direction, minutes, count, fields, key, first_text):
        try:
            values = tuple(map(float, fields[HEADER_FIELDS + 2 :: 3]))
            cached = self._stamps.get(first_text)
            if cached is not None and cached[1] is None:
                first = cached[0]
            else:
                first = self._instant(first_text, self._after(key))
        except ValueError:
            return None
        total = sum(values)
        if total != total or total in (math.inf, -math.inf):  # nan/inf text, or overflow
            return None
        stamps = fields[HEADER_FIELDS::3]
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

    def _points(self, lineno, line, factor, minutes, count, fields, key, *, register: bool) -> list[IntervalPoint]:
        """Each triplet on its own: the slow path that names the exact bad triplet."""
        points: list[IntervalPoint] = []
        step = dt.timedelta(minutes=minutes)
        previous: dt.datetime | None = None  # instant of the previous well-timed triplet
        lost = False  # after a bad DateTime, blank DateTimes have nothing to count from
        for i in range(count):
            at = HEADER_FIELDS + 3 * i
            stamp, protocol, raw_value = fields[at], fields[at + 1], fields[at + 2]
            where = f"triplet {i + 1}"
            stamp = stamp.strip()
            if stamp:
                try:
                    instant = self._instant(stamp, previous if previous is not None else self._after(key))
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
            value = float(value_text) * factor
            if not math.isfinite(value):
                self._error(lineno, "Value", f"{where}: Value {raw_value!r} is not a finite number", line)
                continue
            points.append(IntervalPoint(instant, value, quality, lineno))
        return points

    def _registers(self, lineno, line, meter, unit, factor, direction, minutes, count, fields) -> None:
        key = (meter, unit, direction, "", minutes)
        for point in self._points(lineno, line, factor, minutes, count, fields, key, register=True):
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
