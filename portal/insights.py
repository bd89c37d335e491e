"""Usage compared: a customer's own usage beside the same days last year (their own data) and
beside the average premise of their rate class (mdm's precomputed day rows, shown only for
groups of at least mdm.selectors.MIN_PREMISES premises, so nobody learns a neighbour's usage).

Loading is two calls of portal.usage.account_usage (these days and last year's) and one range
read of mdm_usage_class_day per series; the grouping and the chart are pure."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from html import escape

import numpy as np
from django.utils.translation import gettext as _

from cis.selectors import service_point_rate_classes
from core.money import format_number
from mdm.selectors import usage_class_averages
from portal.usage import UsageSeries, account_usage, group_usage

COMPARE_GROUPINGS = ("month", "day")


def year_before(day: dt.date) -> dt.date:
    """The same date a year earlier (February 29 becomes February 28)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def _next_year_label(label: str) -> str:
    """A month ("2025-03") or day ("2025-03-10") label moved to the next year."""
    return f"{int(label[:4]) + 1}{label[4:]}"


@dataclass(frozen=True)
class CompareRow:
    label: str
    actual: float
    estimated: float
    last_year: float | None  # None: no reading that period last year
    similar: float | None  # None: no group of at least MIN_PREMISES for every day of the period

    @property
    def total(self) -> float:
        return self.actual + self.estimated


@dataclass(frozen=True)
class SeriesComparison:
    series: UsageSeries
    rows: list[CompareRow]
    total: float
    last_year_total: float | None
    similar_total: float | None
    rate_class: str

    @property
    def has_last_year(self) -> bool:
        return self.last_year_total is not None

    @property
    def has_similar(self) -> bool:
        return any(r.similar is not None for r in self.rows)

    @property
    def top(self) -> float:
        return max((max(r.total, r.last_year or 0.0, r.similar or 0.0) for r in self.rows), default=0.0)


def _similar_by_label(averages: dict, *, start: dt.date, end: dt.date, by: str) -> dict[str, float]:
    """Per month or day label: the class average summed over the customer's days of it, only
    when every one of those days has a group big enough."""
    sums: dict[str, list[float]] = {}
    day = start
    while day < end:
        label = f"{day:%Y-%m}" if by == "month" else f"{day:%Y-%m-%d}"
        row = sums.setdefault(label, [0.0, 1.0])
        found = averages.get(day)
        if found is None:
            row[1] = 0.0
        else:
            row[0] += found.average
        day += dt.timedelta(days=1)
    return {label: round(total, 6) for label, (total, complete) in sums.items() if complete}


def compare_usage(*, account, start: dt.date, end: dt.date, by: str, tz: dt.tzinfo) -> list[SeriesComparison]:
    """The account's delivered usage over local days [start, end), by month or day, each period
    beside the same days a year earlier and beside the rate class's average premise."""
    current = [s for s in account_usage(account=account, start_date=start, end_date=end, tz=tz)
               if s.direction == "delivered"]
    if not current:
        return []
    earlier = {s.key: s for s in account_usage(account=account, start_date=year_before(start),
                                               end_date=year_before(end), tz=tz)}
    classes = service_point_rate_classes(service_point_ids={s.service_point_id for s in current})
    out = []
    for s in current:
        last = earlier.get(s.key)
        last_by_label = {_next_year_label(b.label): b.total for b in group_usage(last, by=by, tz=tz)} if last else {}
        rate_class = classes.get(s.service_point_id, "")
        averages = usage_class_averages(rate_class=rate_class, commodity=s.commodity, unit=s.unit,
                                        direction=s.direction, start_date=start, end_date=end)
        similar = _similar_by_label(averages, start=start, end=end, by=by) if averages else {}
        rows = [CompareRow(b.label, b.actual, b.estimated, last_by_label.get(b.label), similar.get(b.label))
                for b in group_usage(s, by=by, tz=tz)]
        similar_days = len(averages) == (end - start).days
        out.append(SeriesComparison(
            series=s, rows=rows, total=round(float(np.sum(s.values)), 3),
            last_year_total=round(float(np.sum(last.values)), 3) if last is not None and len(last) else None,
            similar_total=round(sum(a.average for a in averages.values()), 3) if similar_days else None,
            rate_class=rate_class))
    return out


def compare_svg(comparison: SeriesComparison, *, title: str) -> str:
    """Three bars per period, drawn on the server like portal.usage.chart_svg: these days
    (actual and estimated stacked), the same days last year, the similar premises' average.
    Each group carries a text title; the numbers are in the table beside the chart."""
    rows = comparison.rows
    if not rows:
        return ""
    width, height, headroom = 720, 240, 8
    top = comparison.top or 1.0
    slot = width / len(rows)
    bar = max(slot * 0.8 / 3, 0.5)
    scale = (height - headroom) / top
    unit = comparison.series.unit
    parts = [f'<svg class="usage-chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
             f'preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg">',
             f'<line class="usage-chart__base" x1="0" y1="{height - 1}" x2="{width}" y2="{height - 1}"/>']
    for i, r in enumerate(rows):
        x = i * slot
        tip = [_("%(period)s: %(amount)s %(unit)s") % {"period": r.label, "amount": format_number(r.total), "unit": unit}]
        tip.append(_("last year %(amount)s") % {"amount": format_number(r.last_year)} if r.last_year is not None
                   else _("no reading last year"))
        if r.similar is not None:
            tip.append(_("similar premises %(amount)s") % {"amount": format_number(r.similar)})
        h_actual, h_est = r.actual * scale, r.estimated * scale
        parts.append(f'<g><title>{escape(", ".join(tip))}</title>'
                     f'<rect class="usage-chart__actual" x="{x:.2f}" y="{height - h_actual:.2f}" width="{bar:.2f}" '
                     f'height="{h_actual:.2f}"/>'
                     f'<rect class="usage-chart__estimated" x="{x:.2f}" y="{height - h_actual - h_est:.2f}" '
                     f'width="{bar:.2f}" height="{h_est:.2f}"/>')
        for n, (value, css) in enumerate(((r.last_year, "lastyear"), (r.similar, "similar")), start=1):
            if value is not None:
                h = value * scale
                parts.append(f'<rect class="usage-chart__{css}" x="{x + n * bar:.2f}" y="{height - h:.2f}" '
                             f'width="{bar:.2f}" height="{h:.2f}"/>')
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)
