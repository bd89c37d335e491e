"""Parse MultiSpeak 4.1 reading payloads into interval blocks and register reads.

Accepts a SOAP envelope or a bare payload; finds, wherever they are nested:
- tns:meterReading elements (meterReading, outMeterRead, inMeterRead, ...): each
  readingValue is a register read;
- tns:intervalData (intervalData, IntervalDataNotification/intervalReads, GetLP... results):
  profiles give the interval length and channel units, each block one meter's values;
- tns:formattedBlock: rows of delimited values described by valSyntax.

Streams with lxml.iterparse and frees each element once read, so a large response does not
sit in memory twice. Line numbers are the source lines of the offending elements."""
from __future__ import annotations

import datetime as dt
import io
import math
import re
from dataclasses import dataclass, replace
from xml.sax.saxutils import escape as xml_escape

from lxml import etree

from integrations.interval_series import IntervalDeduplicator, IntervalPoint, blocks_from_points
from integrations.local_time import UTC, local_to_utc
from integrations.multispeak import vocabulary as v
from integrations.register_dedup import RegisterDeduplicator
from mdm.records import IntervalBlock, ParsedRegisterRead, ParseResult, RecordError

_NUMBER = re.compile(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*")
# The quarantine keeps a payload staff can fix and resubmit; only a pathological element is cut.
_RAW_LIMIT = 200_000


@dataclass(frozen=True)
class _Channel:
    unit: str
    factor: float
    direction: str


@dataclass(frozen=True)
class _Profile:
    minutes: int
    channels: dict[int, _Channel]


class _Rejected(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def parse_multispeak(xml: bytes, source_name: str, *, tz: dt.tzinfo = UTC) -> ParseResult:
    """Parse a MultiSpeak 4.1 payload. xs:dateTime values with an offset are taken as is;
    ones without are wall time in `tz` (UTC by default).

    A document that is not well-formed XML is one RecordError (field "xml") with lxml's line;
    otherwise every bad element is a RecordError and the good ones are still returned."""
    reader = _MultiSpeakReader(source_name=source_name, tz=tz)
    if reader.read(xml):
        return reader.result
    # Not well-formed (an entity reference in an attribute, a stray "<", a NUL...): parse again
    # recovering, quarantine each element holding an error and keep the good ones around it.
    # Still no entity expansion, no DTD, no network.
    errors = _error_lines(xml)
    reader = _MultiSpeakReader(source_name=source_name, tz=tz)
    reader.read(xml, bad_lines=errors)
    for line, message in sorted(errors.items()):
        reader._error(line, "xml", f"not well-formed XML: {message}", "")
    return reader.result


def _iterparse(xml: bytes, *, recover: bool, tag=None):
    return etree.iterparse(
        io.BytesIO(xml), events=("end",), tag=tag, resolve_entities=False, no_network=True, load_dtd=False,
        huge_tree=True, recover=recover,
    )


def _error_lines(xml: bytes) -> dict[int, str]:
    """Line -> lxml's message, for every well-formedness error of the document."""
    events = _iterparse(xml, recover=True)
    try:
        for _event, elem in events:
            elem.clear()
    except etree.XMLSyntaxError as exc:  # unrecoverable: the rest of the document is lost
        return {exc.lineno or 0: exc.msg}
    found: dict[int, str] = {}
    for entry in events.error_log:
        found.setdefault(entry.line, entry.message)
    return found or {0: "the document could not be read"}


def _last_line(elem) -> int:
    last = elem.sourceline or 0
    for child in elem.iter():
        if child.sourceline and child.sourceline > last:
            last = child.sourceline
    return last


def _text(elem, name: str) -> str:
    child = elem.find(v.q(name))
    return (child.text or "").strip() if child is not None else ""


def _raw(elem) -> str:
    text = etree.tostring(elem, encoding="unicode", with_tail=False)
    return text if len(text) <= _RAW_LIMIT else text[:_RAW_LIMIT] + "..."


def _meter_serial(elem) -> str:
    meter = elem.find(v.q("meterID"))
    if meter is None:
        return ""
    # meterNo is the number on the meter; the element text is the sender's id for it
    return (meter.get("meterNo") or meter.text or "").strip()


def _is_nil(elem) -> bool:
    return elem.get("{http://www.w3.org/2001/XMLSchema-instance}nil") in ("true", "1")


class _MultiSpeakReader:
    def __init__(self, *, source_name: str, tz: dt.tzinfo) -> None:
        self.result = ParseResult(source_name=source_name, format="multispeak")
        self.tz = tz
        self.intervals = IntervalDeduplicator()
        self.registers = RegisterDeduplicator()
        self._reset_interval_data()

    def _reset_interval_data(self) -> None:
        self.profiles: dict[str, _Profile] = {}
        self.profile_xml: dict[str, str] = {}
        self.interval_delimiter = v.DEFAULT_INTERVAL_DELIMITER
        self.status_delimiter = v.DEFAULT_STATUS_DELIMITER

    def _error(self, line: int | None, field: str, message: str, raw: str) -> None:
        self.result.errors.append(RecordError(line=line or 0, field=field, message=message, raw=raw))

    def _instant(self, text: str, field: str) -> dt.datetime:
        if not text:
            raise _Rejected(field, f"{field} is missing")
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            raise _Rejected(field, f"{field} {text!r} is not an xs:dateTime") from None
        try:
            if parsed.tzinfo is not None:
                return parsed.astimezone(UTC)
            return local_to_utc(parsed, self.tz)
        except OverflowError:
            raise _Rejected(field, f"{field} {text!r} is outside any storable date range") from None
        except ValueError as exc:
            raise _Rejected(field, f"{field} {text!r}: {exc}") from None

    # -- driving ---------------------------------------------------------------------------
    def read(self, xml: bytes, bad_lines: dict[int, str] | None = None) -> bool:
        """Parse strictly (False when the document is not well-formed: nothing kept), or,
        given the error lines, recovering: an element spanning one of them is quarantined
        whole (field xml) and its line taken out of `bad_lines`."""
        tags = [v.q(name) for name in v.METER_READING_ELEMENTS] + [
            v.q("statusDelimiter"),
            v.q("intervalDelimiter"),
            v.q("profile"),
            v.q("block"),
            v.q("blocks"),
            v.q("formattedBlock"),
        ]
        events = _iterparse(xml, recover=bad_lines is not None, tag=tags)
        try:
            for _event, elem in events:
                if bad_lines:
                    first, last = elem.sourceline or 0, _last_line(elem)
                    inside = [line for line in bad_lines if first <= line <= last]
                    if inside:
                        message = "; ".join(bad_lines.pop(line) for line in sorted(inside))
                        self._error(first, "xml", f"not well-formed XML in this element: {message}", _raw(elem))
                        elem.clear()
                        continue
                self._element(elem)
        except etree.XMLSyntaxError as exc:
            if bad_lines is None:
                return False
            bad_lines.setdefault(exc.lineno or 0, exc.msg)
        return True

    def _element(self, elem) -> None:
        name = etree.QName(elem).localname
        if name == "statusDelimiter":
            self.status_delimiter = elem.text or v.DEFAULT_STATUS_DELIMITER
            return
        if name == "intervalDelimiter":
            self.interval_delimiter = elem.text or v.DEFAULT_INTERVAL_DELIMITER
            return
        if name == "profile":
            self._profile(elem)
            return
        if name == "blocks":
            # one intervalData ends: its profiles and delimiters do not carry to the next
            self._reset_interval_data()
            return
        if _is_nil(elem):
            return
        if name == "block":
            self._guarded(elem, self._block, self._interval_payload)
        elif name == "formattedBlock":
            self._guarded(elem, self._formatted_block, _raw)
        else:
            self._guarded(elem, lambda e: self._meter_reading(e, v.METER_READING_ELEMENTS[name]), _raw)
        # free what has been read: a large payload is mostly these elements
        elem.clear(keep_tail=True)
        parent = elem.getparent()
        while elem.getprevious() is not None and parent is not None:
            del parent[0]

    def _guarded(self, elem, handler, raw) -> None:
        try:
            handler(elem)
        except _Rejected as rejected:
            self._error(elem.sourceline, rejected.field, rejected.message, raw(elem))

    # An error's raw text is a payload that parses on its own, so a fixed record can be
    # resubmitted: the whole meterReading (it names the meter), or an intervalData holding the
    # block with its profile and delimiters, or a formattedBlock holding the one row.
    def _interval_payload(self, block) -> str:
        profile = self.profile_xml.get(_text(block, "profileID"), "")
        return (
            f'<intervalData xmlns="{v.NS}"><statusDelimiter>{xml_escape(self.status_delimiter)}</statusDelimiter>'
            f"<intervalDelimiter>{xml_escape(self.interval_delimiter)}</intervalDelimiter>"
            f"<profiles>{profile}</profiles><blocks>{_raw(block)}</blocks></intervalData>"
        )

    # -- meterReading / readingValue: register reads ---------------------------------------
    def _meter_reading(self, elem, read_type: str) -> None:
        meter = _meter_serial(elem)
        if not meter:
            raise _Rejected("meterID", "meterID is missing or blank")
        values = elem.find(v.q("readingValues"))
        for reading in values.iterfind(v.q("readingValue")) if values is not None else ():
            try:
                self._reading_value(reading, meter, read_type, elem)
            except _Rejected as rejected:
                self._error(reading.sourceline, rejected.field, rejected.message, _raw(elem))

    def _reading_value(self, reading, meter: str, read_type: str, meter_reading) -> None:
        uom = _text(reading, "units")
        found = v.UOMS.get(uom)
        if found is None:
            raise _Rejected("units", f"units {uom!r} is not a metered quantity Utilis stores")
        unit, factor = found
        value_text = _text(reading, "value")
        if not _NUMBER.fullmatch(value_text):
            raise _Rejected("value", f"value {value_text!r} is not a number")
        type_code = reading.find(v.q("readingTypeCode"))
        flow = (type_code.get("flowDirection") or "").strip().lower() if type_code is not None else ""
        direction = v.FLOW_DIRECTIONS.get(flow)
        if direction is None:
            raise _Rejected("flowDirection", f"flowDirection {flow!r} is not forward or reverse")
        read = ParsedRegisterRead(
            meter_serial=meter,
            unit=unit,
            direction=direction,
            read_at=self._instant(_text(reading, "timeStamp"), "timeStamp"),
            value=float(value_text) * factor,
            source_line=reading.sourceline,
            read_type=read_type,
            channel_hint=_text(reading, "fieldName") or _text(reading, "name"),
        )
        keep, error = self.registers.add(read, raw=_raw(meter_reading))
        if keep:
            self.result.registers.append(read)
        if error is not None:
            self.result.errors.append(error)

    # -- intervalData ----------------------------------------------------------------------
    def _profile(self, elem) -> None:
        profile_id = elem.get("profileID") or ""
        length = elem.find(v.q("intervalLength"))
        try:
            if length is None or not _NUMBER.fullmatch(length.text or ""):
                raise _Rejected("intervalLength", f"profile {profile_id!r} has no numeric intervalLength")
            per_unit = v.TIME_UNITS_MINUTES.get(length.get("units") or "Minutes")
            minutes_float = float(length.text) * per_unit if per_unit else -1
            if minutes_float <= 0 or minutes_float != int(minutes_float) or 1440 % int(minutes_float):
                raise _Rejected(
                    "intervalLength",
                    f"profile {profile_id!r}: intervalLength {length.text} {length.get('units')} "
                    "is not a whole number of minutes dividing a day",
                )
            channels: dict[int, _Channel] = {}
            for channel in elem.iterfind(f"{v.q('channels')}/{v.q('channel')}"):
                index_text = _text(channel, "index")
                uom = _text(channel, "units")
                if not index_text.isdigit():
                    raise _Rejected("index", f"profile {profile_id!r}: channel index {index_text!r} is not a number")
                found = v.UOMS.get(uom)
                if found is None:
                    continue  # voltage, temperature ...: blocks' values for it are skipped
                channels[int(index_text)] = _Channel(
                    unit=found[0], factor=found[1], direction=v.direction_of_field_name(_text(channel, "fieldName"))
                )
        except _Rejected as rejected:
            self._error(elem.sourceline, rejected.field, rejected.message, _raw(elem))
            return
        self.profiles[profile_id] = _Profile(minutes=int(minutes_float), channels=channels)
        self.profile_xml[profile_id] = _raw(elem)

    def _block(self, elem) -> None:
        profile_id = _text(elem, "profileID")
        profile = self.profiles.get(profile_id)
        if profile is None:
            raise _Rejected("profileID", f"profileID {profile_id!r} is not a profile of this intervalData")
        meter = _meter_serial(elem)
        if not meter:
            raise _Rejected("meterID", "meterID is missing or blank")
        start = self._instant(_text(elem, "intervalStart"), "intervalStart")
        first_end = start + dt.timedelta(minutes=profile.minutes)
        for ch in elem.iterfind(f"{v.q('dB')}/{v.q('chs')}/{v.q('ch')}"):
            index_text = _text(ch, "idx")
            if not index_text.isdigit():
                self._error(ch.sourceline, "idx", f"idx {index_text!r} is not a channel number", self._interval_payload(elem))
                continue
            channel = profile.channels.get(int(index_text))
            if channel is None:
                continue  # a channel the profile does not map to a stored unit
            self._channel_values(ch, meter, profile, channel, index_text, first_end, elem)

    def _channel_values(self, ch, meter, profile, channel, index_text, first_end, block_elem) -> None:
        data = _text(ch, "d")
        items = data.split(self.interval_delimiter) if data else []
        block = None
        if items and self.status_delimiter not in data:
            try:
                values = tuple(map(float, items))
            except ValueError:
                values = None
            if values is not None and all(map(math.isfinite, values)) and "_" not in data:
                if channel.factor != 1.0:
                    values = tuple([x * channel.factor for x in values])
                block = IntervalBlock(
                    meter_serial=meter, unit=channel.unit, direction=channel.direction,
                    interval_minutes=profile.minutes, first_end_at=first_end, values=values,
                    source_line=ch.sourceline, channel_hint=index_text,
                )
        blocks = (
            [block] if block is not None
            else self._slow_channel(ch, meter, profile, channel, index_text, first_end, items, block_elem)
        )
        for one in blocks:
            kept, errors = self.intervals.add(one, raw="")
            self.result.intervals.extend(kept)
            # the block's XML is only serialised for the quarantine when something is wrong
            self.result.errors.extend(replace(e, raw=self._interval_payload(block_elem)) for e in errors)

    def _slow_channel(self, ch, meter, profile, channel, index_text, first_end, items, block_elem) -> list[IntervalBlock]:
        step = dt.timedelta(minutes=profile.minutes)
        points = []
        for i, item in enumerate(items):
            value_text, _sep, status = item.partition(self.status_delimiter)
            quality = v.STATUSES.get(status.strip().lower())
            where = f"channel {index_text} interval {i + 1}"
            if quality is None:
                self._error(ch.sourceline, "d", f"{where}: status {status!r} is not a known status",
                            self._interval_payload(block_elem))
                continue
            value_text = value_text.strip()
            end_at = first_end + i * step
            if quality == "missing" or not value_text:
                points.append(IntervalPoint(end_at, math.nan, "missing", ch.sourceline))
            elif _NUMBER.fullmatch(value_text):
                points.append(IntervalPoint(end_at, float(value_text) * channel.factor, quality, ch.sourceline))
            else:
                self._error(ch.sourceline, "d", f"{where}: value {value_text!r} is not a number",
                            self._interval_payload(block_elem))
        return blocks_from_points(
            meter_serial=meter, unit=channel.unit, direction=channel.direction,
            interval_minutes=profile.minutes, channel_hint=index_text, points=points,
        )

    # -- formattedBlock --------------------------------------------------------------------
    def _formatted_block(self, elem) -> None:
        separator = _text(elem, "separator") or v.DEFAULT_SEPARATOR
        noun = _text(elem, "contentNounType").lower()
        items = []
        for item in elem.iterfind(f"{v.q('valSyntax')}/{v.q('syntaxItem')}"):
            position = _text(item, "position")
            if not position.isdigit():
                raise _Rejected("position", f"syntaxItem {_text(item, 'fieldName')!r} has position {position!r}")
            items.append((_text(item, "fieldName"), int(position), _text(item, "uom")))
        if not items:
            raise _Rejected("valSyntax", "formattedBlock has no valSyntax")
        # positions count from 0 in the examples we were given; accept senders counting from 1
        base = min(position for _name, position, _uom in items)
        by_name = {name.lower(): position - base for name, position, _uom in items}
        meter_at = by_name.get("meterno", by_name.get("meterid"))
        time_at = by_name.get("readingdate", by_name.get("timestamp"))
        if meter_at is None or time_at is None:
            raise _Rejected("valSyntax", "valSyntax needs a meterNo and a readingDate field")
        columns = [
            (name, position - base, *v.UOMS[uom]) for name, position, uom in items if uom in v.UOMS
        ]
        is_interval = "interval" in noun
        length_at = by_name.get("intervallength")
        if is_interval and length_at is None:
            raise _Rejected("valSyntax", "interval formattedBlock needs an intervalLength field (minutes)")
        width = max(position for _n, position, _u in items) - base + 1
        series: dict[tuple, list[IntervalPoint]] = {}
        head = "".join(
            _raw(child) for child in elem if etree.QName(child).localname in ("separator", "contentNounType", "valSyntax")
        )

        def row_payload(val) -> str:
            return f'<formattedBlock xmlns="{v.NS}">{head}<valueList>{_raw(val)}</valueList></formattedBlock>'

        vals = {}
        for val in elem.iterfind(f"{v.q('valueList')}/{v.q('val')}"):
            row = (val.text or "").split(separator)
            line = val.sourceline
            vals[line] = val
            try:
                if len(row) < width:
                    raise _Rejected("val", f"row has {len(row)} fields; valSyntax needs {width}")
                meter = row[meter_at].strip()
                if not meter:
                    raise _Rejected("meterNo", "meterNo is blank")
                instant = self._instant(row[time_at].strip(), "readingDate")
                minutes = 0
                if is_interval and length_at is not None:  # always set for an interval block (checked above)
                    text = row[length_at].strip()
                    if not text.isdigit() or not 0 < int(text) <= 1440 or 1440 % int(text):
                        raise _Rejected("intervalLength", f"intervalLength {text!r} is not whole minutes dividing a day")
                    minutes = int(text)
            except _Rejected as rejected:
                self._error(line, rejected.field, rejected.message, row_payload(val))
                continue
            for name, at, unit, factor in columns:
                text = row[at].strip()
                if not _NUMBER.fullmatch(text):
                    self._error(line, name, f"{name} value {text!r} is not a number", row_payload(val))
                    continue
                direction = v.direction_of_field_name(name)
                value = float(text) * factor
                if is_interval:
                    key = (meter, unit, direction, name, minutes)
                    series.setdefault(key, []).append(IntervalPoint(instant, value, "", line))
                    continue
                read = ParsedRegisterRead(
                    meter_serial=meter, unit=unit, direction=direction, read_at=instant, value=value,
                    source_line=line, read_type="ami_daily", channel_hint=name,
                )
                keep, error = self.registers.add(read, raw=row_payload(val))
                if keep:
                    self.result.registers.append(read)
                if error is not None:
                    self.result.errors.append(error)
        for (meter, unit, direction, name, minutes), points in series.items():
            offset = 0
            for block in blocks_from_points(
                meter_serial=meter, unit=unit, direction=direction, interval_minutes=minutes,
                channel_hint=name, points=points,
            ):
                lines = [p.line for p in points[offset : offset + len(block.values)]]
                offset += len(block.values)
                kept, errors = self.intervals.add(block, raw="", lines=lines)
                self.result.intervals.extend(kept)
                self.result.errors.extend(replace(e, raw=row_payload(vals[e.line])) for e in errors)
