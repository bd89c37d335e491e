"""What the portal's pages say about bills and what it hands out as files (Green Button, CSV):
pure functions over the rows the selectors loaded."""
from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from core.money import format_money, format_number, format_price
from core.templatetags.formats import quantity_text, unit_label
from integrations.services import (
    GreenButtonBillingSummary,
    GreenButtonFeed,
    GreenButtonInterval,
    GreenButtonReading,
    GreenButtonUsagePoint,
)
from portal.usage import UsageSeries

# What each kind of charge is for, in words a customer reads (a line's own description says
# which one it is; these say why it is there). Kinds are billing's rate component kinds.
_WHY = {
    "fixed": gettext_lazy("a set charge each billing period for keeping your service connected"),
    "meter_size_fixed": gettext_lazy("a set charge each period that depends on the size of your meter"),
    "flat": gettext_lazy("the energy you used, at one price"),
    "tiered": gettext_lazy("the energy you used, priced in blocks"),
    "tou": gettext_lazy("the energy you used, priced by the time of day you used it"),
    "tou_schedule": gettext_lazy("the energy you used, priced by the time of day you used it"),
    "interval_price": gettext_lazy("the energy you used, at the price of each hour you used it"),
    "demand": gettext_lazy("the highest rate at which you drew power in the period"),
    "tou_demand": gettext_lazy("the highest rate at which you drew power in each time-of-day period"),
    "tax": gettext_lazy("tax on the charges above"),
    "percentage": gettext_lazy("a percentage of the charges above"),
    "rider": gettext_lazy("an approved charge or credit added to the rate"),
    "minimum": gettext_lazy("brings the bill up to the least a bill can be"),
    "annual_minimum": gettext_lazy("brings the year's bills up to the least a year can cost"),
    "net_metering": gettext_lazy("energy you sent back to the grid, credited"),
    "generation_credit": gettext_lazy("energy you generated, credited"),
    "primary_metering_discount": gettext_lazy("a discount for being metered at the higher voltage"),
    "transformer_allowance": gettext_lazy("a credit for owning your own transformer"),
    "unmetered": gettext_lazy("a set charge for a service that has no meter"),
}


@dataclass(frozen=True)
class ExplainedLine:
    label: str
    how: str  # "38.2 kWh × $0.041"
    why: str  # what the charge is for
    amount: Decimal


# Bill line descriptions are the utility's rate data, written in English by the rating engine's
# defaults and the demo rates; these are in the portal's catalogue, so a French page shows them in
# French. Any other description is shown as entered (a French description on the rate component
# would belong to billing).
KNOWN_LINE_DESCRIPTIONS = (
    gettext_noop("Customer charge"), gettext_noop("Delivery charge"), gettext_noop("Delivery"),
    gettext_noop("Energy charge"), gettext_noop("Demand charge"), gettext_noop("TOU demand charge"),
    gettext_noop("Rider"), gettext_noop("Minimum charge adjustment"), gettext_noop("Annual minimum charge adjustment"),
    gettext_noop("Transformer ownership allowance"), gettext_noop("Generation contract credit"),
    gettext_noop("Energy at interval prices"), gettext_noop("HST"),
)


# The labels of other apps' choices that portal pages show (cis move requests and complaints,
# commodities): written in those apps in English, said here in the portal's language.
_CHOICE_LABELS = (
    gettext_noop("Stop service"), gettext_noop("Start service"),
    gettext_noop("Transfer service (stop here, start there)"),
    gettext_noop("Waiting for us"), gettext_noop("Done"), gettext_noop("Declined"), gettext_noop("Withdrawn"),
    gettext_noop("Billing"), gettext_noop("Service quality"), gettext_noop("Meter"), gettext_noop("Staff conduct"),
    gettext_noop("Other"), gettext_noop("Open"), gettext_noop("Investigating"), gettext_noop("Resolved"),
    gettext_noop("electric"), gettext_noop("water"), gettext_noop("gas"),
)


def choice_label(label: str) -> str:
    """A known choice label in the active language; any other as it is."""
    return _(label) if label in _CHOICE_LABELS else label


def line_description(description: str) -> str:
    """A bill line's description in the page's language when the catalogue knows it."""
    return _(description) if description in KNOWN_LINE_DESCRIPTIONS else description


def explain_line(line) -> ExplainedLine:
    """A bill line in plain words: its description, how its amount is worked out from its own
    quantity and price, and what the kind of charge is for. No rate rule codes."""
    unit = (line.unit or "").strip()
    quantity, price = line.quantity, line.price
    if unit == "$" and quantity is not None and price is not None and price == -1:
        how = _("%(amount)s credit") % {"amount": format_money(quantity)}
    elif unit == "$" and quantity is not None and price is not None:
        percent = (line.details or {}).get("percent")
        share = Decimal(str(percent)) if percent not in (None, "") else price * 100
        how = _("%(percent)s%% of %(amount)s") % {"percent": format_number(share, max_places=4),
                                                   "amount": format_money(quantity)}
    elif quantity is not None and price is not None and unit.lower() in ("bill", "month") and quantity == 1:
        how = (_("%(price)s per bill") if unit.lower() == "bill" else _("%(price)s per month")) % {
            "price": format_price(price)}
    elif quantity is not None and price is not None and unit.lower() in ("day", "days"):
        how = _("%(days)s days × %(price)s a day") % {"days": format_number(quantity), "price": format_price(price)}
    elif quantity is not None and price is not None:
        how = f"{quantity_text(quantity, unit)} × {format_price(price)}"
    elif quantity is not None:
        how = quantity_text(quantity, unit)
    else:
        how = ""
    if line.proration is not None and 0 < line.proration < 1:
        how += " " + _("(for %(percent)s%% of the period)") % {
            "percent": format_number(line.proration * 100, max_places=1)}
    kind = (line.component_kind or "").lower()
    why = str(_WHY.get(kind, ""))
    return ExplainedLine(label=line_description(line.description) if line.description else _("Charge"), how=how, why=why, amount=line.amount)


def usage_csv(series_list: list[UsageSeries], *, tz: dt.tzinfo) -> str:
    """One row per interval: local start (with its offset), UTC start, minutes, value, unit,
    direction, actual/estimated, service address."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["start_local", "start_utc", "minutes", "value", "unit", "direction", "quality", "service"])
    for s in series_list:
        for at, value, estimated in s.points():
            writer.writerow([at.astimezone(tz).isoformat(), at.isoformat().replace("+00:00", "Z"), s.interval_minutes,
                             format_number(value, max_places=6, locale="en").replace(",", ""), unit_label(s.unit), s.direction,
                             "estimated" if estimated else "actual", s.label])
    return out.getvalue()


def greenbutton_feed(*, utility: str, account_number: str, zone: str, currency: str, now: dt.datetime,
                     series_list: list[UsageSeries], bills, tz: dt.tzinfo) -> GreenButtonFeed:
    """The Download My Data feed of an account: one usage point per service point, its
    delivered and received readings, a usage summary per bill segment there."""
    points = []
    for sp_id in dict.fromkeys(s.service_point_id for s in series_list):
        mine = [s for s in series_list if s.service_point_id == sp_id]
        readings = [GreenButtonReading(
            direction=s.direction, unit=s.unit, interval_seconds=s.interval_minutes * 60,
            intervals=[GreenButtonInterval(at, s.interval_minutes * 60, Decimal(repr(v)), e)
                       for at, v, e in s.points()],
        ) for s in mine]
        summaries = []
        for bill in bills:
            for segment in bill.segments.all():
                if segment.service_point_id != sp_id or not segment.live:
                    continue
                start = dt.datetime.combine(segment.period_start, dt.time(0), tzinfo=tz)
                end = dt.datetime.combine(segment.period_end, dt.time(0), tzinfo=tz)
                summaries.append(GreenButtonBillingSummary(
                    period_start=start, period_end=end, bill_total=segment.subtotal,
                    consumption=Decimal(str((segment.determinants or {}).get("consumption", 0) or 0)),
                    unit=mine[0].unit, issued_at=bill.issued_at or now,
                ))
        points.append(GreenButtonUsagePoint(key=mine[0].sp_number, title=mine[0].label, commodity=mine[0].commodity,
                                            readings=readings, summaries=summaries))
    return GreenButtonFeed(utility=utility, customer_key=account_number, title=f"{utility}: Green Button data",
                           zone=zone, currency=currency, updated_at=now, usage_points=points)
