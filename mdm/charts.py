"""Shapes a channel's stored days into the bars of the Meter Hub's interval chart (an inline
SVG drawn by the server: no chart library, works without JavaScript).

Day and week views draw one bar per interval, coloured by quality; month views one bar per
day and year views one per month, each split into its actual and estimated parts."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from mdm.flags import Flag, is_estimated

VIEWS = ("day", "week", "month", "year")
WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM = 900, 240, 48, 22


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    y: float
    height: float
    kind: str  # actual | estimated | edited | failed | missing
    label: str


@dataclass(frozen=True)
class Chart:
    view: str
    start: dt.date
    end: dt.date  # exclusive
    unit: str
    bars: tuple[Bar, ...]
    max_value: float
    total: float
    estimated_total: float
    missing_count: int
    ticks: tuple[tuple[float, str], ...]
    y_ticks: tuple[tuple[float, float, str], ...]
    width: int = WIDTH
    height: int = HEIGHT
    pad_left: int = PAD_LEFT
    pad_bottom: int = PAD_BOTTOM

    @property
    def plot_height(self) -> int:
        return self.height - self.pad_bottom


def period(view: str, anchor: dt.date) -> tuple[dt.date, dt.date]:
    """The local dates [start, end) a view shows around `anchor`."""
    if view == "day":
        return anchor, anchor + dt.timedelta(days=1)
    if view == "week":
        start = anchor - dt.timedelta(days=anchor.weekday())
        return start, start + dt.timedelta(days=7)
    if view == "month":
        start = anchor.replace(day=1)
        return start, (start + dt.timedelta(days=32)).replace(day=1)
    start = anchor.replace(month=1, day=1)
    return start, start.replace(year=start.year + 1)


def _kind(flag: int) -> str:
    if flag == Flag.MISSING:
        return "missing"
    if flag == Flag.EDITED or flag == Flag.ESTIMATED_MANUAL:
        return "edited"
    if flag == Flag.FAILED_VALIDATION:
        return "failed"
    if is_estimated(np.array([flag]))[0]:
        return "estimated"
    return "actual"


def build_chart(*, view: str, anchor: dt.date, days: dict, unit: str) -> Chart:
    """`days` is {local_date: ChannelDay} (mdm.selectors.channel_days for one channel)."""
    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}")
    start, end = period(view, anchor)
    dates = [start + dt.timedelta(days=i) for i in range((end - start).days)]
    total = estimated_total = 0.0
    missing = 0
    # Each raw bar: (value, estimated part, kind, label)
    raw: list[tuple[float, float, str, str]] = []
    ticks: list[tuple[int, str]] = []
    if view in ("day", "week"):
        for day in dates:
            cd = days.get(day)
            ticks.append((len(raw), day.strftime("%a %d") if view == "week" else ""))
            if cd is None:
                # A day never loaded: one thin grey bar per quarter hour, so gaps show.
                raw.extend((0.0, 0.0, "missing", f"{day} no data") for _ in range(96))
                missing += 96
                continue
            for i, (value, flag) in enumerate(zip(cd.values.tolist(), cd.flags.tolist())):
                kind = _kind(flag)
                v = 0.0 if value != value else float(value)
                if kind == "missing":
                    missing += 1
                total += v
                if kind == "estimated":
                    estimated_total += v
                minutes = i * cd.interval_minutes
                raw.append((v, v if kind == "estimated" else 0.0, kind, f"{day} slot {i + 1} ({minutes // 60:02d}:{minutes % 60:02d}): {v:.3f} {unit} {kind}"))
        if view == "day":
            n = len(raw)
            ticks = [(i * n // 6, f"{i * 4:02d}:00") for i in range(6)]
    else:
        groups: list[tuple[str, list[dt.date]]]
        if view == "month":
            groups = [(d.strftime("%d"), [d]) for d in dates]
        else:
            groups = []
            for month in range(1, 13):
                groups.append((dt.date(start.year, month, 1).strftime("%b"), [d for d in dates if d.month == month]))
        for label, group in groups:
            value = est = 0.0
            any_missing = False
            for day in group:
                cd = days.get(day)
                if cd is None:
                    any_missing = True
                    continue
                vals = np.nan_to_num(cd.values, nan=0.0)
                est_mask = is_estimated(cd.flags)
                value += float(vals.sum())
                est += float(vals[est_mask].sum())
                n_missing = int((cd.flags == Flag.MISSING).sum())
                missing += n_missing
                any_missing = any_missing or n_missing > 0
            total += value
            estimated_total += est
            kind = "estimated" if est > 0 else ("missing" if any_missing and value == 0 else "actual")
            ticks.append((len(raw), label))
            raw.append((value, est, kind, f"{label}: {value:.3f} {unit}" + (f" ({est:.3f} estimated)" if est else "")))
    top = max((r[0] for r in raw), default=0.0) or 1.0
    plot_w = WIDTH - PAD_LEFT
    plot_h = HEIGHT - PAD_BOTTOM
    bar_w = plot_w / max(len(raw), 1)
    bars: list[Bar] = []
    for i, (value, est, kind, label) in enumerate(raw):
        x = PAD_LEFT + i * bar_w
        if kind == "missing" and value == 0:
            bars.append(Bar(x, max(bar_w - 0.5, 0.5), plot_h - 4, 4, "missing", label))
            continue
        h = plot_h * value / top
        if view in ("month", "year") and 0 < est < value:
            est_h = plot_h * est / top
            bars.append(Bar(x, max(bar_w - 1, 0.5), plot_h - h, h - est_h, "actual", label))
            bars.append(Bar(x, max(bar_w - 1, 0.5), plot_h - est_h, est_h, "estimated", label))
        else:
            bars.append(Bar(x, max(bar_w - (1 if bar_w > 3 else 0.2), 0.5), plot_h - h, h, kind, label))
    # (grid line y, label y kept inside the picture, label)
    y_ticks = tuple((plot_h - plot_h * f, max(plot_h - plot_h * f, 8.0), f"{top * f:.2f}") for f in (0.0, 0.5, 1.0))
    return Chart(
        view=view, start=start, end=end, unit=unit, bars=tuple(bars), max_value=top, total=round(total, 3),
        estimated_total=round(estimated_total, 3), missing_count=missing,
        ticks=tuple((PAD_LEFT + i * bar_w, label) for i, label in ticks if label), y_ticks=y_ticks,
    )
