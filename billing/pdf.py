"""Bill presentation: the printed bill (PDF, WeasyPrint) and the e-bill (the same HTML online).

`bill_document` loads everything a printed bill shows into plain data once; `usage_chart_svg`
and `line_explanation` are pure; `render_bill_html` fills the active BillTemplate (or the
built-in layout billing/pdf/bill.html) and `render_bill_pdf` prints it. The hub's e-bill and
PDF links, and later the portal, call `bill_html_response` / `bill_pdf_response`."""
from __future__ import annotations

import base64
import datetime as dt
import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from html import escape

from django.conf import settings
from django.http import HttpResponse
from django.template import Context, Template
from django.template.loader import render_to_string

from billing.models import Bill, BillLine, BillSegment, BillTemplate
from cis.selectors import account_numbers
from cis.selectors import account_get, service_addresses

HISTORY_MONTHS = 13
ZERO = Decimal("0")


@dataclass(frozen=True)
class UsageBar:
    label: str  # e.g. "Mar 26"
    kwh: Decimal
    current: bool = False


@dataclass
class SegmentView:
    segment: BillSegment
    reads: list[tuple[str, str]]
    lines: list[tuple[BillLine, str]]  # (line, explanation)


@dataclass
class BillDocument:
    bill: Bill
    utility_name: str
    account_number: str
    customer_name: str
    mailing_lines: list[str]
    service_address: str
    segments: list[SegmentView]
    history: list[UsageBar]
    chart_svg: str
    template: BillTemplate | None
    logo_data_uri: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def last_day(self) -> dt.date:
        """The period's last day, as customers read a period (the stored end is exclusive)."""
        return self.bill.period_end - dt.timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.bill.period_end - self.bill.period_start).days


# --- pure pieces ---------------------------------------------------------------------------

def _num(value: Decimal | None, places: int = 2) -> str:
    if value is None:
        return ""
    text = f"{value:,.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text and places > 2 else text


def _price(value: Decimal) -> str:
    # Prices keep their 6-8 places where they have them, but never show fewer than cents.
    text = _num(value, 8)
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


def line_explanation(line) -> str:
    """How a bill line was worked out, in words a customer can check: quantity x price, the
    block, the TOU period, the proration factor and the rate rule that made it."""
    parts = []
    if line.quantity is not None and line.price is not None:
        parts.append(f"{_num(line.quantity, 6)} {line.unit} × ${_price(line.price)}".strip())
    elif line.quantity is not None:
        parts.append(f"{_num(line.quantity, 6)} {line.unit}".strip())
    if line.tier:
        parts.append(f"block {line.tier}")
    if line.tou_period:
        parts.append(f"period {line.tou_period}")
    if line.proration is not None and line.proration != 1:
        parts.append(f"prorated × {_num(line.proration, 6)}")
    parts.append(f"rule {line.component_code} ({line.component_kind})")
    return " · ".join(parts)


def segment_reads(determinants: dict) -> list[tuple[str, str]]:
    """What the bill shows as reads: the meter's start and end reads when the bill run stored
    them, else the consumption (and demand, received energy) of the period."""
    if not determinants:
        return []
    out = []
    start, end = determinants.get("start_read"), determinants.get("end_read")
    if start is not None and end is not None:
        unit = determinants.get("unit", "kWh")
        out.append(("Previous read", f"{_num(Decimal(str(start)), 6)}"))
        out.append(("Present read", f"{_num(Decimal(str(end)), 6)}"))
        multiplier = determinants.get("multiplier")
        if multiplier not in (None, 1, "1"):
            out.append(("Multiplier", str(multiplier)))
        out.append(("Used", f"{_num(Decimal(str(determinants.get('consumption', 0))), 6)} {unit}"))
        return out
    if determinants.get("metered") is False:
        return [("Usage", "unmetered service")]
    if "consumption" in determinants:
        out.append(("Used", f"{_num(Decimal(str(determinants['consumption'])), 6)} kWh"))
    if Decimal(str(determinants.get("max_demand_kw") or 0)):
        out.append(("Highest demand", f"{_num(Decimal(str(determinants['max_demand_kw'])), 6)} kW"))
    if Decimal(str(determinants.get("received") or 0)):
        out.append(("Received from you", f"{_num(Decimal(str(determinants['received'])), 6)} kWh"))
    estimated = int(determinants.get("estimated_intervals") or 0)
    if estimated:
        out.append(("Estimated intervals", str(estimated)))
    return out


def usage_chart_svg(bars: Sequence[UsageBar], *, width: int = 520, height: int = 150) -> str:
    """A bar chart of monthly usage as inline SVG (no script: it prints the same in a PDF).
    The current bill's bar is dark; a missing month is simply absent."""
    if not bars:
        return ""
    top = max((b.kwh for b in bars), default=ZERO) or Decimal(1)
    left, bottom, label_h = 34, 18, 14
    plot_h = height - bottom - label_h
    slot = (width - left) / len(bars)
    bar_w = max(slot * 0.62, 2)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="Usage for the last {len(bars)} bills" '
             'class="usage-chart">']
    parts.append(f'<text x="0" y="{label_h + 4}" font-size="8" fill="#5b6776">{escape(_num(top, 0))}</text>')
    parts.append(f'<text x="0" y="{label_h + plot_h}" font-size="8" fill="#5b6776">0</text>')
    parts.append(f'<line x1="{left - 2}" y1="{label_h + plot_h}" x2="{width}" y2="{label_h + plot_h}" '
                 'stroke="#aab6c4" stroke-width="0.8"/>')
    for i, bar in enumerate(bars):
        h = float(bar.kwh / top) * plot_h if bar.kwh > 0 else 0
        x = left + i * slot + (slot - bar_w) / 2
        y = label_h + plot_h - h
        colour = "#0b5cad" if bar.current else "#9cc1e6"
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{colour}">'
                     f'<title>{escape(bar.label)}: {escape(_num(bar.kwh, 0))} kWh</title></rect>')
        parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{height - 4}" font-size="7" text-anchor="middle" '
                     f'fill="#1d2733">{escape(bar.label)}</text>')
        if bar.current:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{max(y - 3, 9):.1f}" font-size="7" '
                         f'text-anchor="middle" fill="#1d2733">{escape(_num(bar.kwh, 0))}</text>')
    parts.append("</svg>")
    return "".join(parts)


# --- loading -------------------------------------------------------------------------------

def _bill_consumption(segments_determinants: Sequence[dict]) -> Decimal:
    return sum((Decimal(str(d.get("consumption") or 0)) for d in segments_determinants if d.get("metered", True)), ZERO)


def usage_history(*, bill: Bill, months: int = HISTORY_MONTHS) -> list[UsageBar]:
    """The account's last `months` bills up to and including this one (cancelled bills are
    left out: their rebill stands for the period), oldest first, labelled by the month the
    period ends in."""
    bills = list(
        Bill.objects.filter(account_id=bill.account_id, period_end__lte=bill.period_end)
        .exclude(status=Bill.Status.CANCELLED).exclude(pk=bill.pk)
        .order_by("-period_end", "-id")[: months - 1]
    )[::-1] + [bill]
    determinants: dict[int, list[dict]] = {}
    for bill_id, det in BillSegment.objects.filter(bill__in=bills).values_list("bill_id", "determinants"):
        determinants.setdefault(bill_id, []).append(det or {})
    out = []
    for b in bills:
        last_day = b.period_end - dt.timedelta(days=1)
        out.append(UsageBar(label=last_day.strftime("%b %y"), kwh=_bill_consumption(determinants.get(b.pk, [])),
                            current=b.pk == bill.pk))
    return out


def _logo_data_uri(template: BillTemplate | None) -> str:
    # A data URI prints in WeasyPrint and shows in a browser without serving media files.
    if template is None or not template.logo.name:  # a FieldFile without a name: no file
        return ""
    name = template.logo.name
    try:
        with template.logo.open("rb") as handle:
            raw = handle.read()
    except (OSError, ValueError):
        return ""
    kind = mimetypes.guess_type(name)[0] or "image/png"
    return f"data:{kind};base64,{base64.b64encode(raw).decode()}"


def _account_facts(account_id: int) -> tuple[str, str, list[str], str]:
    number = account_numbers(account_ids=[account_id]).get(account_id, str(account_id))
    try:
        account = account_get(account_number=number)
    except Exception:  # noqa: BLE001 - cis's DoesNotExist: print what the bill itself knows
        return number, "", [], ""
    customer = account.customer
    city = " ".join(p for p in (customer.mailing_city, customer.mailing_region, customer.mailing_postal_code) if p)
    mailing = [line for line in (customer.mailing_address_line1, customer.mailing_address_line2, city) if line]
    return number, customer.display_name, mailing, service_addresses([account_id]).get(account_id, "")


def active_template() -> BillTemplate | None:
    return BillTemplate.objects.filter(active=True).first()


def bill_document(*, bill: Bill) -> BillDocument:
    """Everything the printed bill shows, loaded once."""
    number, name, mailing, service_address = _account_facts(bill.account_id)
    segments = []
    for segment in bill.segments.prefetch_related("lines").order_by("id"):
        lines = [(line, line_explanation(line)) for line in segment.lines.all()]
        segments.append(SegmentView(segment=segment, reads=segment_reads(segment.determinants or {}), lines=lines))
    history = usage_history(bill=bill)
    template = active_template()
    return BillDocument(
        bill=bill, utility_name=settings.UTILIS_UTILITY_NAME, account_number=number, customer_name=name,
        mailing_lines=mailing, service_address=service_address, segments=segments, history=history,
        chart_svg=usage_chart_svg(history), template=template, logo_data_uri=_logo_data_uri(template),
    )


# --- rendering -----------------------------------------------------------------------------

def render_bill_html(*, bill: Bill, document: BillDocument | None = None) -> str:
    """The bill as a standalone HTML page: the active template's body if it has one, else the
    built-in layout; the template's CSS is added after the built-in styles."""
    document = document or bill_document(bill=bill)
    context = {"doc": document, "bill": bill, "template": document.template,
               "extra_css": document.template.css if document.template else ""}
    if document.template is not None and document.template.body.strip():
        return Template(document.template.body).render(Context(context))
    return render_to_string("billing/pdf/bill.html", context)


def render_bill_pdf(*, bill: Bill) -> bytes:
    from weasyprint import HTML

    return HTML(string=render_bill_html(bill=bill), base_url=str(settings.BASE_DIR)).write_pdf()


def _filename(bill: Bill) -> str:
    return f"bill-{bill.bill_number or bill.pk}.pdf"


def bill_html_response(request, bill: Bill) -> HttpResponse:
    """The e-bill page (the hub now, the portal later: the caller checks who may see it)."""
    return HttpResponse(render_bill_html(bill=bill))


def bill_pdf_response(request, bill: Bill, *, download: bool = False) -> HttpResponse:
    response = HttpResponse(render_bill_pdf(bill=bill), content_type="application/pdf")
    disposition = "attachment" if download else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{_filename(bill)}"'
    return response
