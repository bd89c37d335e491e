"""Green Button Download My Data: a customer's usage as a NAESB ESPI Atom feed (lxml).

The feed holds, per usage point (a service point the customer was served at), the entries
UsagePoint, one MeterReading + ReadingType + IntervalBlocks per reading (energy delivered to
the customer and energy received from them are separate readings, flowDirection 1 and 19),
one ElectricPowerUsageSummary per billing period, and one LocalTimeParameters for the feed.

Resource ids are name-based UUIDs (RFC 4122 type 5) of the resource's path under the utility's
name, so two downloads of the same data name the same resources; every atom id is the UUID of
its entry's own self link, so ids are unique within a feed. `espi_schema` builds a validator
from the ESPI schema files (atom.xsd, espi.xsd) without fetching anything over the network.

Pure: the caller loads the data into the dataclasses below; nothing here touches the ORM."""
from __future__ import annotations

import datetime as dt
import pathlib
import tempfile
import uuid
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from lxml import etree

ATOM = "http://www.w3.org/2005/Atom"
ESPI = "http://naesb.org/espi"
# ESPI codes (espi.xsd enumerations).
SERVICE_KIND = {"electric": 0, "gas": 1, "water": 2, "sewer": 6, "streetlight": 0}
FLOW_FORWARD, FLOW_REVERSE = 1, 19  # delivered to / received from the customer
UOM = {"kWh": 72, "m3": 42, "kW": 38, "kVARh": 73}
KIND_ENERGY, KIND_VOLUME = 12, 58
COMMODITY_CODE = {"electric": 1, "gas": 7, "water": 9, "sewer": 11, "streetlight": 1}
# ISO 4217 numeric codes; a currency not listed is left out of the feed (the element is optional).
CURRENCY_CODES = {"CAD": 124, "USD": 840}
# QualityOfReading: 0 valid, 8 estimated from history (a missing interval is left out).
QUALITY_VALID, QUALITY_ESTIMATED = 0, 8
ACCUMULATION_DELTA = 4
DATA_QUALIFIER_NORMAL = 12
TIME_ATTRIBUTE_NONE = 0


@dataclass(frozen=True)
class Interval:
    start: dt.datetime  # UTC
    seconds: int
    value: Decimal  # in the reading's unit, as stored (powerOfTenMultiplier -3 is applied on write)
    estimated: bool = False


@dataclass(frozen=True)
class Reading:
    """One channel direction of one usage point: its intervals, oldest first."""
    direction: str  # "delivered" | "received"
    unit: str  # "kWh", "m3"
    interval_seconds: int
    intervals: Sequence[Interval]


@dataclass(frozen=True)
class BillingSummary:
    period_start: dt.datetime  # UTC instant of the period's first local midnight
    period_end: dt.datetime
    bill_total: Decimal  # the bill's charges for the period
    consumption: Decimal  # in the delivered reading's unit
    unit: str
    issued_at: dt.datetime


@dataclass(frozen=True)
class UsagePoint:
    key: str  # stable name inside the feed (the service point number)
    title: str  # what the customer calls it ("12 Maple Avenue, electricity")
    commodity: str
    readings: Sequence[Reading]
    summaries: Sequence[BillingSummary] = field(default_factory=tuple)


@dataclass(frozen=True)
class Feed:
    utility: str  # the namespace of every name-based id
    customer_key: str  # the account number
    title: str
    zone: str  # IANA zone of the utility
    currency: str  # ISO 4217 ("CAD", "USD")
    updated_at: dt.datetime
    usage_points: Sequence[UsagePoint]


def resource_uuid(utility: str, path: str) -> uuid.UUID:
    """The name-based (type 5) UUID of a resource path under the utility's name."""
    return uuid.uuid5(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:utilis:{utility}"), path)


def _epoch(value: dt.datetime) -> int:
    return int(value.timestamp())


def _atom_time(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _dst_rule(transition_local: dt.datetime) -> int:
    """The ESPI bit-map rule of a DST transition (espi.xsd DstRuleType): the nth (or last)
    weekday of its month at its local hour."""
    day = transition_local.day
    last = (transition_local + dt.timedelta(days=7)).month != transition_local.month
    operator = 7 if last and day > 28 else 2 + (day - 1) // 7
    weekday = transition_local.isoweekday()  # Monday = 1 ... Sunday = 7
    seconds = transition_local.minute * 60 + transition_local.second
    return (transition_local.month << 28) | (operator << 25) | (weekday << 17) | (transition_local.hour << 12) | seconds


def local_time_parameters(zone: str, year: int) -> tuple[str, str, int, int]:
    """(dstStartRule, dstEndRule, dstOffset, tzOffset) of the zone in `year`; a zone without
    DST gives the "disabled" rules FFFFFFFF and a zero offset."""
    tz = zoneinfo.ZoneInfo(zone)

    def offset_at(instant: dt.datetime) -> dt.timedelta:
        return instant.astimezone(tz).utcoffset() or dt.timedelta(0)

    hour = dt.timedelta(hours=1)
    instant = dt.datetime(year, 1, 1, tzinfo=dt.timezone.utc)
    end = dt.datetime(year + 1, 1, 1, tzinfo=dt.timezone.utc)
    transitions: list[tuple[dt.datetime, dt.timedelta]] = []
    previous = offset_at(instant)
    while instant < end:
        offset = offset_at(instant)
        if offset != previous:
            # The local wall time the transition happens at, in the time before it.
            before = (instant - hour).astimezone(tz)
            transitions.append((before.replace(tzinfo=None) + hour, offset - previous))
            previous = offset
        instant += hour
    standard = min(offset_at(dt.datetime(year, 1, 15, tzinfo=dt.timezone.utc)),
                   offset_at(dt.datetime(year, 7, 15, tzinfo=dt.timezone.utc)))
    if len(transitions) != 2:
        return "FFFFFFFF", "FFFFFFFF", 0, int(standard.total_seconds())
    (start_at, shift), (end_at, _) = sorted(transitions, key=lambda t: -t[1].total_seconds())
    return (f"{_dst_rule(start_at):08X}", f"{_dst_rule(end_at):08X}", int(shift.total_seconds()),
            int(standard.total_seconds()))


def _sub(parent: etree._Element, tag: str, text: object | None = None, ns: str = ESPI) -> etree._Element:
    el = etree.SubElement(parent, f"{{{ns}}}{tag}")
    if text is not None:
        el.text = str(text)
    return el


class _Writer:
    def __init__(self, feed: Feed) -> None:
        self.feed = feed
        self.base = f"/espi/1_1/resource/RetailCustomer/{self._short(f'customer/{feed.customer_key}')}"
        self.root = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM, "espi": ESPI})
        self.updated = _atom_time(feed.updated_at)

    def _short(self, path: str) -> str:
        return str(resource_uuid(self.feed.utility, path)).upper()

    def entry(self, *, self_href: str, up_href: str, title: str, related: Sequence[str] = ()) -> etree._Element:
        entry = _sub(self.root, "entry", ns=ATOM)
        _sub(entry, "id", f"urn:uuid:{self._short(self_href)}", ns=ATOM)
        for rel, href in [("self", self_href), ("up", up_href)] + [("related", r) for r in related]:
            link = _sub(entry, "link", ns=ATOM)
            link.set("rel", rel)
            link.set("href", href)
        _sub(entry, "title", title, ns=ATOM)
        content = _sub(entry, "content", ns=ATOM)
        _sub(entry, "published", self.updated, ns=ATOM)
        _sub(entry, "updated", self.updated, ns=ATOM)
        return content

    def write(self) -> bytes:
        feed = self.feed
        _sub(self.root, "id", f"urn:uuid:{self._short(f'feed/{feed.customer_key}')}", ns=ATOM)
        _sub(self.root, "title", feed.title, ns=ATOM)
        _sub(self.root, "updated", self.updated, ns=ATOM)
        link = _sub(self.root, "link", ns=ATOM)
        link.set("rel", "self")
        link.set("href", f"{self.base}/DownloadMyData")
        ltp_href = f"/espi/1_1/resource/LocalTimeParameters/{self._short(f'ltp/{feed.zone}')}"
        self.local_time(ltp_href)
        for point in feed.usage_points:
            self.usage_point(point, ltp_href)
        return etree.tostring(self.root, xml_declaration=True, encoding="UTF-8", pretty_print=True)

    def local_time(self, href: str) -> None:
        start_rule, end_rule, dst_offset, tz_offset = local_time_parameters(self.feed.zone, self.feed.updated_at.year)
        content = self.entry(self_href=href, up_href="/espi/1_1/resource/LocalTimeParameters",
                             title=f"Local time ({self.feed.zone})")
        ltp = _sub(content, "LocalTimeParameters")
        _sub(ltp, "dstEndRule", end_rule)
        _sub(ltp, "dstOffset", dst_offset)
        _sub(ltp, "dstStartRule", start_rule)
        _sub(ltp, "tzOffset", tz_offset)

    def usage_point(self, point: UsagePoint, ltp_href: str) -> None:
        up_list = f"{self.base}/UsagePoint"
        up_href = f"{up_list}/{self._short(f'usagepoint/{point.key}')}"
        content = self.entry(self_href=up_href, up_href=up_list, title=point.title,
                             related=[f"{up_href}/MeterReading", f"{up_href}/ElectricPowerUsageSummary", ltp_href])
        category = _sub(_sub(content, "UsagePoint"), "ServiceCategory")
        _sub(category, "kind", SERVICE_KIND.get(point.commodity, 0))
        for reading in point.readings:
            self.reading(point, reading, up_href)
        for summary in point.summaries:
            self.summary(point, summary, up_href)

    def reading(self, point: UsagePoint, reading: Reading, up_href: str) -> None:
        key = f"{point.key}/{reading.direction}/{reading.unit}/{reading.interval_seconds}"
        mr_list = f"{up_href}/MeterReading"
        mr_href = f"{mr_list}/{self._short(f'meterreading/{key}')}"
        rt_href = f"/espi/1_1/resource/ReadingType/{self._short(f'readingtype/{key}')}"
        words = "delivered to you" if reading.direction == "delivered" else "received from you"
        content = self.entry(self_href=mr_href, up_href=mr_list, title=f"{point.title}: energy {words}",
                             related=[f"{mr_href}/IntervalBlock", rt_href])
        _sub(content, "MeterReading")
        content = self.entry(self_href=rt_href, up_href="/espi/1_1/resource/ReadingType",
                             title=f"{reading.unit} every {reading.interval_seconds // 60} minutes, {words}")
        rt = _sub(content, "ReadingType")
        _sub(rt, "accumulationBehaviour", ACCUMULATION_DELTA)
        _sub(rt, "commodity", COMMODITY_CODE.get(point.commodity, 0))
        if self.feed.currency in CURRENCY_CODES:
            _sub(rt, "currency", CURRENCY_CODES[self.feed.currency])
        _sub(rt, "dataQualifier", DATA_QUALIFIER_NORMAL)
        _sub(rt, "flowDirection", FLOW_FORWARD if reading.direction == "delivered" else FLOW_REVERSE)
        _sub(rt, "intervalLength", reading.interval_seconds)
        _sub(rt, "kind", KIND_ENERGY if reading.unit in ("kWh", "kVARh") else KIND_VOLUME)
        _sub(rt, "powerOfTenMultiplier", -3)
        _sub(rt, "timeAttribute", TIME_ATTRIBUTE_NONE)
        _sub(rt, "uom", UOM.get(reading.unit, 0))
        # One IntervalBlock per local day of intervals (the sample's and utilities' habit).
        tz = zoneinfo.ZoneInfo(self.feed.zone)
        days: dict[dt.date, list[Interval]] = {}
        for interval in reading.intervals:
            days.setdefault(interval.start.astimezone(tz).date(), []).append(interval)
        ib_list = f"{mr_href}/IntervalBlock"
        for day, intervals in sorted(days.items()):
            ib_href = f"{ib_list}/{self._short(f'intervalblock/{key}/{day.isoformat()}')}"
            content = self.entry(self_href=ib_href, up_href=ib_list, title=f"{day.isoformat()}")
            block = _sub(content, "IntervalBlock")
            first, last = intervals[0], intervals[-1]
            span = _sub(block, "interval")
            _sub(span, "duration", _epoch(last.start) + last.seconds - _epoch(first.start))
            _sub(span, "start", _epoch(first.start))
            for interval in intervals:
                ir = _sub(block, "IntervalReading")
                _sub(_sub(ir, "ReadingQuality"), "quality", QUALITY_ESTIMATED if interval.estimated else QUALITY_VALID)
                period = _sub(ir, "timePeriod")
                _sub(period, "duration", interval.seconds)
                _sub(period, "start", _epoch(interval.start))
                _sub(ir, "value", int((interval.value * 1000).to_integral_value(ROUND_HALF_UP)))

    def summary(self, point: UsagePoint, summary: BillingSummary, up_href: str) -> None:
        key = f"{point.key}/{_epoch(summary.period_start)}"
        s_list = f"{up_href}/ElectricPowerUsageSummary"
        s_href = f"{s_list}/{self._short(f'summary/{key}')}"
        content = self.entry(self_href=s_href, up_href=s_list,
                             title=f"Billing period from {summary.period_start.astimezone(zoneinfo.ZoneInfo(self.feed.zone)).date()}")
        s = _sub(content, "ElectricPowerUsageSummary")
        period = _sub(s, "billingPeriod")
        _sub(period, "duration", _epoch(summary.period_end) - _epoch(summary.period_start))
        _sub(period, "start", _epoch(summary.period_start))
        # Money in ESPI is in 1/100,000 of the currency unit (the sample's $152.52 is 15252000).
        _sub(s, "billLastPeriod", int((summary.bill_total * 100000).to_integral_value(ROUND_HALF_UP)))
        if self.feed.currency in CURRENCY_CODES:
            _sub(s, "currency", CURRENCY_CODES[self.feed.currency])
        overall = _sub(s, "overallConsumptionLastPeriod")
        _sub(overall, "powerOfTenMultiplier", -3)
        _sub(overall, "uom", UOM.get(summary.unit, 0))
        _sub(overall, "value", int((summary.consumption * 1000).to_integral_value(ROUND_HALF_UP)))
        _sub(s, "qualityOfReading", QUALITY_VALID)
        _sub(s, "statusTimeStamp", _epoch(summary.issued_at))


def write_greenbutton(feed: Feed) -> bytes:
    """The feed as UTF-8 ESPI Atom XML."""
    return _Writer(feed).write()


# A minimal schema for the xml: attributes atom.xsd refers to (it imports the W3C's copy over
# the network, which a server must not fetch to check a file).
_XML_NAMESPACE_XSD = """<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="http://www.w3.org/XML/1998/namespace">
  <xs:attribute name="lang" type="xs:language"/>
  <xs:attribute name="base" type="xs:anyURI"/>
  <xs:attribute name="id" type="xs:ID"/>
  <xs:attribute name="space">
    <xs:simpleType><xs:restriction base="xs:NCName">
      <xs:enumeration value="default"/><xs:enumeration value="preserve"/>
    </xs:restriction></xs:simpleType>
  </xs:attribute>
</xs:schema>
"""
_REMOTE_XML_XSD = "https://www.w3.org/2001/03/xml.xsd"


def espi_schema(directory: pathlib.Path) -> etree.XMLSchema:
    """A validator for Green Button feeds from the ESPI schema files in `directory`
    (atom.xsd, espi.xsd): both namespaces are strict (atom:content's ESPI elements are
    checked against espi.xsd). Raises FileNotFoundError when a file is missing."""
    work = pathlib.Path(tempfile.mkdtemp(prefix="espi-xsd-"))
    atom = (directory / "atom.xsd").read_text(encoding="utf-8")
    (work / "atom.xsd").write_text(atom.replace(_REMOTE_XML_XSD, "xml.xsd"), encoding="utf-8")
    (work / "espi.xsd").write_text((directory / "espi.xsd").read_text(encoding="utf-8"), encoding="utf-8")
    (work / "xml.xsd").write_text(_XML_NAMESPACE_XSD, encoding="utf-8")
    driver = f"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:utilis:espi-check">
  <xs:import namespace="{ESPI}" schemaLocation="{(work / 'espi.xsd').as_uri()}"/>
  <xs:import namespace="{ATOM}" schemaLocation="{(work / 'atom.xsd').as_uri()}"/>
</xs:schema>"""
    parser = etree.XMLParser(no_network=True)
    return etree.XMLSchema(etree.fromstring(driver.encode(), parser=parser, base_url=work.as_uri() + "/"))
