"""A customer's own interval data: loaded once per page through cis's and mdm's selectors,
then grouped and drawn by pure functions.

Only the local days of the account's own agreements count (cis.selectors.account_agreement_periods),
and only the intervals a meter measured while it was installed at that service point
(mdm.selectors.installations_for_service_point_dates): a customer never sees the previous or
the next occupant's usage."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from html import escape

import numpy as np

from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from cis.selectors import account_agreement_periods, account_agreements
from core.money import display_language, format_number
from core.templatetags.formats import unit_label
from mdm.selectors import channel_days, installations_for_service_point_dates

# mdm's quality flags (mdm.flags.Flag): 1 missing; 10 and above are estimates (10 + method).
# mdm exposes no public reader of them yet; see docs/portal.md.
FLAG_MISSING = 1
FLAG_ESTIMATED_FROM = 10

GROUPINGS = ("month", "day", "hour")

# The commodity of a service point as the portal names it (core's labels are the hubs' words).
_COMMODITIES = {
    "electric": pgettext_lazy("commodity", "Electricity"),
    "water": pgettext_lazy("commodity", "Water"),
    "gas": pgettext_lazy("commodity", "Natural gas"),
    "streetlight": pgettext_lazy("commodity", "Streetlight"),
    "sewer": pgettext_lazy("commodity", "Sewer"),
}


def commodity_word(commodity: str) -> str:
    return str(_COMMODITIES.get(commodity, commodity))


@dataclass
class UsageSeries:
    """One service point's reading in one unit and direction, oldest interval first, as
    parallel numpy arrays (one element per interval; missing intervals are left out)."""
    service_point_id: int
    sp_number: str
    label: str  # the service address and commodity, as the customer knows it
    commodity: str
    unit: str
    direction: str  # delivered | received
    interval_minutes: int
    start_s: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))  # UTC epoch seconds
    local_day: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))  # local date ordinal
    values: np.ndarray = field(default_factory=lambda: np.empty(0))
    estimated: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=bool))

    @property
    def key(self) -> str:
        return f"{self.sp_number}-{self.unit}-{self.direction}"

    def __len__(self) -> int:
        return len(self.start_s)

    def points(self) -> Iterator[tuple[dt.datetime, float, bool]]:
        """(UTC start, value, estimated) per interval, for the files that write every one."""
        for start, value, estimated in zip(self.start_s.tolist(), self.values.tolist(), self.estimated.tolist()):
            yield dt.datetime.fromtimestamp(start, dt.timezone.utc), value, estimated


def _covered(spans, day: dt.date) -> bool:
    return any(start <= day and (end is None or day < end) for start, end in spans)


def _epoch(value: dt.datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


def account_usage(*, account, start_date: dt.date, end_date: dt.date, tz: dt.tzinfo) -> list[UsageSeries]:
    """The account's interval data over local dates [start_date, end_date), one series per
    service point, unit, direction and interval length. Each stored day is masked as a whole
    array (agreement day, installation window, missing slots): no per-interval Python loop."""
    periods = account_agreement_periods(account_id=account.pk)
    service_points = {ag.service_point_id: ag.service_point for ag in account_agreements(account=account)}
    parts: dict[tuple, tuple[UsageSeries, list[tuple[np.ndarray, ...]]]] = {}
    for sp_id, spans in sorted(periods.items()):
        sp = service_points[sp_id]
        label = f"{sp.premise.address_text()} ({commodity_word(sp.commodity).lower()})"
        for inst in installations_for_service_point_dates(service_point_id=sp_id, start_date=start_date,
                                                          end_date=end_date, tz=tz):
            installed, removed = int(inst.installed_at.timestamp()), _epoch(inst.removed_at)
            channels = [c for c in inst.meter.channels.all() if c.interval_minutes]
            days = channel_days([c.pk for c in channels], start_date, end_date)
            for ch in channels:
                minutes = int(ch.interval_minutes or 0)
                key = (sp_id, ch.unit, ch.direction, minutes)
                if key not in parts:
                    parts[key] = (UsageSeries(sp_id, sp.sp_number, label, sp.commodity, ch.unit, ch.direction,
                                              minutes), [])
                chunks = parts[key][1]
                for day, cd in days[ch.pk].items():
                    if not _covered(spans, day):
                        continue
                    first = int(dt.datetime.combine(day, dt.time(0), tzinfo=tz).timestamp())
                    starts = first + np.arange(len(cd.values), dtype=np.int64) * (minutes * 60)
                    keep = ~np.isnan(cd.values) & (cd.flags != FLAG_MISSING) & (starts >= installed)
                    if removed is not None:
                        keep &= starts < removed
                    if keep.any():
                        chunks.append((starts[keep], np.full(int(keep.sum()), day.toordinal(), dtype=np.int64),
                                       cd.values[keep], cd.flags[keep] >= FLAG_ESTIMATED_FROM))
    out = []
    for series, chunks in parts.values():
        if not chunks:
            continue
        starts = np.concatenate([c[0] for c in chunks])
        # Days arrive per installation: a meter exchange inside the range gives two; keep time order.
        order = np.argsort(starts, kind="stable")
        series.start_s = starts[order]
        series.local_day = np.concatenate([c[1] for c in chunks])[order]
        series.values = np.concatenate([c[2] for c in chunks]).astype(np.float64)[order]
        series.estimated = np.concatenate([c[3] for c in chunks])[order]
        out.append(series)
    return sorted(out, key=lambda s: (s.label, s.unit, s.direction != "delivered"))


@dataclass(frozen=True)
class UsageBucket:
    label: str
    actual: float
    estimated: float

    @property
    def total(self) -> float:
        return self.actual + self.estimated


def group_usage(series: UsageSeries, *, by: str, tz: dt.tzinfo) -> list[UsageBucket]:
    """Totals per local month, day or hour (actual and estimated apart), in time order.
    Summed with numpy; only the few distinct buckets are labelled in Python."""
    if not len(series):
        return []
    keys = series.start_s // 3600 if by == "hour" else series.local_day
    unique, inverse = np.unique(keys, return_inverse=True)
    actual = np.bincount(inverse, weights=np.where(series.estimated, 0.0, series.values), minlength=len(unique))
    estimated = np.bincount(inverse, weights=np.where(series.estimated, series.values, 0.0), minlength=len(unique))
    if by == "hour":
        labels = [dt.datetime.fromtimestamp(k * 3600, tz).strftime("%Y-%m-%d %H:%M %Z") for k in unique.tolist()]
    else:
        fmt = "%Y-%m" if by == "month" else "%Y-%m-%d"
        labels = [dt.date.fromordinal(k).strftime(fmt) for k in unique.tolist()]
    merged: dict[str, list[float]] = {}
    for label, a, e in zip(labels, actual.tolist(), estimated.tolist()):
        pair = merged.setdefault(label, [0.0, 0.0])  # the days of one month share a label
        pair[0] += a
        pair[1] += e
    return [UsageBucket(label, round(a, 6), round(e, 6)) for label, (a, e) in merged.items()]


def chart_svg(buckets: list[UsageBucket], *, unit: str, title: str) -> str:
    """A bar chart drawn on the server (the CSP allows no inline script): actual and estimated
    parts of each bar in two classes the stylesheet colours, each bar with a text title. The
    chart stretches to its box, so its scale is written beside it in HTML (see `chart_top`)."""
    width, height, headroom = 720, 240, 8
    if not buckets:
        return ""
    top = max(b.total for b in buckets) or 1.0
    slot = width / len(buckets)
    bar = max(slot * 0.8, 0.5)
    scale = (height - headroom) / top
    parts = [f'<svg class="usage-chart" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(title)}" preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg">',
             f'<line class="usage-chart__base" x1="0" y1="{height - 1}" x2="{width}" y2="{height - 1}"/>']
    # The language and the two sentences once per chart, not per bar (744 bars for 31 days by hour).
    lang = display_language()
    said_actual, said_estimated = _("%(period)s: %(amount)s %(unit)s actual"), _("%(amount)s %(unit)s estimated")
    for i, b in enumerate(buckets):
        x = i * slot
        h_actual, h_est = b.actual * scale, b.estimated * scale
        y_actual = height - h_actual
        tip = said_actual % {"period": b.label, "amount": format_number(b.actual, locale=lang), "unit": unit}
        if b.estimated:
            tip += ", " + said_estimated % {"amount": format_number(b.estimated, locale=lang), "unit": unit}
        parts.append(f'<g><title>{escape(tip)}</title>'
                     f'<rect class="usage-chart__actual" x="{x:.2f}" y="{y_actual:.2f}" width="{bar:.2f}" height="{h_actual:.2f}"/>'
                     f'<rect class="usage-chart__estimated" x="{x:.2f}" y="{y_actual - h_est:.2f}" '
                     f'width="{bar:.2f}" height="{h_est:.2f}"/></g>')
    parts.append("</svg>")
    return "".join(parts)


def bucket_rows_html(buckets: list[UsageBucket], *, unit: str) -> str:
    """The rows of a chart's table of numbers (period, actual, estimated; quantities as the
    `quantity` filter writes them, escaped as the template would), written in one pass with the
    language looked up once: 744 hourly rows through the template engine's loop and filters
    were most of the usage page's time (docs/performance.md, "Customer portal at 100,000")."""
    lang, label = display_language(), unit_label(unit)

    def amount(value: float) -> str:
        number = format_number(value, locale=lang)
        return escape(f"{number} {label}" if label else number)

    return "".join(f'<tr><td>{escape(b.label)}</td><td class="num">{amount(b.actual)}</td>'
                   f'<td class="num">{amount(b.estimated)}</td></tr>' for b in buckets)


def chart_top(buckets: list[UsageBucket]) -> float:
    """The tallest bar's total: the top of the chart's scale."""
    return max((b.total for b in buckets), default=0.0)


def totals(series: UsageSeries) -> tuple[float, float]:
    actual = float(series.values[~series.estimated].sum())
    estimated = float(series.values[series.estimated].sum())
    return round(actual, 3), round(estimated, 3)
