"""A customer's own interval data: loaded once per page through cis's and mdm's selectors,
then grouped and drawn by pure functions.

Only the local days of the account's own agreements count (cis.selectors.account_agreement_periods),
and only the intervals a meter measured while it was installed at that service point
(mdm.selectors.installations_for_service_point_dates): a customer never sees the previous or
the next occupant's usage."""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from html import escape

from cis.selectors import account_agreement_periods, account_agreements
from core.money import format_number
from mdm.selectors import channel_days, installations_for_service_point_dates

# mdm's quality flags (mdm.flags.Flag): 1 missing; 10 and above are estimates (10 + method).
# mdm exposes no public reader of them yet; see docs/portal.md.
FLAG_MISSING = 1
FLAG_ESTIMATED_FROM = 10

GROUPINGS = ("month", "day", "hour")


@dataclass
class UsageSeries:
    """One service point's reading in one unit and direction, oldest interval first."""
    service_point_id: int
    sp_number: str
    label: str  # the service address and commodity, as the customer knows it
    commodity: str
    unit: str
    direction: str  # delivered | received
    interval_minutes: int
    starts: list[dt.datetime] = field(default_factory=list)  # UTC
    values: list[float] = field(default_factory=list)
    estimated: list[bool] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.sp_number}-{self.unit}-{self.direction}"


def _covered(spans, day: dt.date) -> bool:
    return any(start <= day and (end is None or day < end) for start, end in spans)


def account_usage(*, account, start_date: dt.date, end_date: dt.date, tz: dt.tzinfo) -> list[UsageSeries]:
    """The account's interval data over local dates [start_date, end_date), one series per
    service point, unit, direction and interval length."""
    periods = account_agreement_periods(account_id=account.pk)
    service_points = {ag.service_point_id: ag.service_point for ag in account_agreements(account=account)}
    series: dict[tuple, UsageSeries] = {}
    for sp_id, spans in sorted(periods.items()):
        sp = service_points[sp_id]
        label = f"{sp.premise.address_text()} ({sp.get_commodity_display().lower()})"
        for inst in installations_for_service_point_dates(service_point_id=sp_id, start_date=start_date,
                                                          end_date=end_date, tz=tz):
            channels = [c for c in inst.meter.channels.all() if c.interval_minutes]
            days = channel_days([c.pk for c in channels], start_date, end_date)
            for ch in channels:
                minutes = int(ch.interval_minutes or 0)
                key = (sp_id, ch.unit, ch.direction, minutes)
                s = series.get(key)
                if s is None:
                    s = series[key] = UsageSeries(sp_id, sp.sp_number, label, sp.commodity, ch.unit, ch.direction,
                                                  minutes)
                step = dt.timedelta(minutes=minutes)
                for day, cd in sorted(days[ch.pk].items()):
                    if not _covered(spans, day):
                        continue
                    first = dt.datetime.combine(day, dt.time(0), tzinfo=tz).astimezone(dt.timezone.utc)
                    for i, (value, flag) in enumerate(zip(cd.values.tolist(), cd.flags.tolist())):
                        at = first + i * step
                        if value != value or flag == FLAG_MISSING or at < inst.installed_at \
                                or (inst.removed_at is not None and at >= inst.removed_at):
                            continue
                        s.starts.append(at)
                        s.values.append(float(value))
                        s.estimated.append(flag >= FLAG_ESTIMATED_FROM)
    out = [s for s in series.values() if s.starts]
    for s in out:  # a meter exchange inside the range gives two installations: keep time order
        order = sorted(range(len(s.starts)), key=s.starts.__getitem__)
        s.starts = [s.starts[i] for i in order]
        s.values = [s.values[i] for i in order]
        s.estimated = [s.estimated[i] for i in order]
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
    """Totals per local month, day or hour (actual and estimated apart), in time order."""
    formats = {"month": "%Y-%m", "day": "%Y-%m-%d", "hour": "%Y-%m-%d %H:00 %Z"}
    buckets: dict[str, list[float]] = {}
    for at, value, estimated in zip(series.starts, series.values, series.estimated):
        label = at.astimezone(tz).strftime(formats[by])
        pair = buckets.setdefault(label, [0.0, 0.0])
        pair[1 if estimated else 0] += value
    return [UsageBucket(label, round(a, 6), round(e, 6)) for label, (a, e) in buckets.items()]


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
    for i, b in enumerate(buckets):
        x = i * slot
        h_actual, h_est = b.actual * scale, b.estimated * scale
        y_actual = height - h_actual
        tip = f"{b.label}: {format_number(b.actual)} {unit} actual"
        if b.estimated:
            tip += f", {format_number(b.estimated)} {unit} estimated"
        parts.append(f'<g><title>{escape(tip)}</title>'
                     f'<rect class="usage-chart__actual" x="{x:.2f}" y="{y_actual:.2f}" width="{bar:.2f}" height="{h_actual:.2f}"/>'
                     f'<rect class="usage-chart__estimated" x="{x:.2f}" y="{y_actual - h_est:.2f}" '
                     f'width="{bar:.2f}" height="{h_est:.2f}"/></g>')
    parts.append("</svg>")
    return "".join(parts)


def chart_top(buckets: list[UsageBucket]) -> float:
    """The tallest bar's total: the top of the chart's scale."""
    return max((b.total for b in buckets), default=0.0)


def totals(series: UsageSeries) -> tuple[float, float]:
    actual = math.fsum(v for v, e in zip(series.values, series.estimated) if not e)
    estimated = math.fsum(v for v, e in zip(series.values, series.estimated) if e)
    return round(actual, 3), round(estimated, 3)
