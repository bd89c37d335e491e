"""Bill presentation: the printed bill (PDF, WeasyPrint) and the e-bill (the same HTML online).

`bill_document` loads everything a printed bill shows into plain data once; `usage_chart_svg`,
`line_text` and `line_explanation` are pure; `render_bill_html` fills the active BillTemplate
(or the built-in layout billing/pdf/bill.html) and `render_bill_pdf` prints it.

Customer documents (PDF, e-bill) carry no internal codes: each line says in words what it is
(`line_text`); staff pages add the rule that made it (`line_rule`). Money, quantities and
periods are written by core.money / core/templatetags/formats.py, one way everywhere; a
period is shown as inclusive dates (the stored end is exclusive).

Stored PDFs (`BillDocument`): a bill's PDF is rendered once, by a Celery task, when it is
issued (`bill_documents_after_issue`, called by billing.services.runs.bills_issue inside the
issue transaction: it marks the documents pending in one statement and queues one task per
RENDER_BATCH bills after commit). `bill_pdf_response` serves the stored file, or answers 202
with a "being prepared" page and queues a render if none is pending; `bill_document_regenerate`
re-renders in the background."""
from __future__ import annotations

import base64
import datetime as dt
import logging
import mimetypes
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from html import escape
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.http import FileResponse, HttpResponse
from django.template import Context, Template
from django.template.loader import render_to_string
from django.utils import timezone

from billing.budget.selectors import bill_plan_facts
from billing.models import Bill, BillDocument, BillLine, BillSegment, BillTemplate
from cis.selectors import account_get, account_numbers, agreements_by_ids, service_addresses
from core.money import format_money, format_number, format_price
from billing.payments.scanline import scan_line
from core.templatetags.formats import inclusive_period, quantity_text, unit_label

log = logging.getLogger(__name__)

HISTORY_MONTHS = 13
ZERO = Decimal("0")
# Bump when the built-in layout changes what a printed bill says (recorded on each document).
LAYOUT_VERSION = "2"
# One render task per this many bills: a run issuing 100k bills queues 1,000 tasks, not 100k.
RENDER_BATCH = 100
# A document pending for longer than this is taken for one whose task was lost, and queued again.
PENDING_STALE = dt.timedelta(minutes=10)
PREPARING_REFRESH_SECONDS = 5

# What a commodity's consumption is measured in when neither the reads nor the lines say.
COMMODITY_UNITS = {"electric": "kWh", "gas": "m3", "water": "m3", "sewer": "m3", "streetlight": "kWh"}
COMMODITY_NAMES = {"electric": "Electricity", "gas": "Gas", "water": "Water", "sewer": "Sewer",
                   "streetlight": "Streetlight"}
# Line units that are not the consumption's (a per-bill or per-day charge, a demand, money).
_NOT_CONSUMPTION = {"", "$", "bill", "day", "days", "month", "kw", "kva", "kvar", "%"}
_DEMAND_UNITS = {"kw", "kva"}


@dataclass(frozen=True)
class UsageBar:
    label: str  # e.g. "Mar 26"
    kwh: Decimal  # the bar's quantity, in its chart's unit (the name is kept for callers)
    current: bool = False

    @property
    def quantity(self) -> Decimal:
        return self.kwh


@dataclass(frozen=True)
class UsageChart:
    """One commodity's usage over the last bills: never two commodities added together."""
    commodity: str
    unit: str  # stored unit ("kWh", "m3")
    bars: list[UsageBar]
    svg: str

    @property
    def title(self) -> str:
        return f"{COMMODITY_NAMES.get(self.commodity, self.commodity.title() or 'Usage')} ({unit_label(self.unit)})"


@dataclass
class LineView:
    line: BillLine
    label: str  # what it is, in words ("Energy charge, first 600 kWh")
    how: str  # how it is worked out ("500 kWh × $0.10")
    rule: str  # staff only: "block 1 · energy (tiered)"

    def __iter__(self):  # (line, how), as the templates and callers unpack it
        return iter((self.line, self.how))


@dataclass
class SegmentView:
    segment: BillSegment
    reads: list[tuple[str, str]]
    lines: list[LineView]
    commodity: str = ""
    unit: str = "kWh"

    @property
    def commodity_name(self) -> str:
        return COMMODITY_NAMES.get(self.commodity, "")


@dataclass
class BillDocumentView:
    bill: Bill
    utility_name: str
    account_number: str
    customer_name: str
    mailing_lines: list[str]
    service_address: str
    segments: list[SegmentView]
    charts: list[UsageChart]
    template: BillTemplate | None
    logo_data_uri: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def last_day(self) -> dt.date:
        """The period's last day, as customers read a period (the stored end is exclusive)."""
        return self.bill.period_end - dt.timedelta(days=1)

    @property
    def period(self) -> str:
        return inclusive_period(self.bill.period_start, self.bill.period_end)

    @property
    def days(self) -> int:
        return (self.bill.period_end - self.bill.period_start).days

    @property
    def history(self) -> list[UsageBar]:
        return self.charts[0].bars if self.charts else []

    @property
    def chart_svg(self) -> str:
        return "".join(c.svg for c in self.charts)

    @property
    def scan_line(self) -> str:
        """The remittance stub's scan line (billing/payments/scanline.py); '' when the account
        number cannot be one."""
        try:
            return scan_line(account_number=self.account_number, amount_due=self.bill.amount_due)
        except ValueError:
            return ""


# --- pure pieces ---------------------------------------------------------------------------

def _dec(value: Any) -> Decimal:
    try:
        return Decimal(str(value)) if value not in (None, "") else ZERO
    except InvalidOperation:
        return ZERO


def _code_words(code: str) -> str:
    return code.replace("_", " ").replace("-", " ").strip()


def line_how(line: BillLine) -> str:
    """How a line was worked out, in words a customer can check: "500 kWh × $0.10",
    "13% of $54.01", "$10.00 per bill", prorated for part of the period."""
    unit = (line.unit or "").strip()
    quantity, price = line.quantity, line.price
    parts: list[str] = []
    if unit == "$" and quantity is not None:
        if price is not None and price == Decimal(-1):
            parts.append(f"{format_money(quantity)} credit")
        elif price is not None:
            percent = (line.details or {}).get("percent")
            percent_text = format_number(_dec(percent) if percent is not None else price * 100, max_places=4)
            parts.append(f"{percent_text}% of {format_money(quantity)}")
        else:
            parts.append(format_money(quantity))
    elif quantity is not None and price is not None:
        if unit.lower() in ("bill", "month") and quantity == 1:
            parts.append(f"{format_price(price)} per {unit.lower()}")
        elif unit.lower() in ("day", "days"):
            parts.append(f"{format_number(quantity)} days × {format_price(price)} a day")
        else:
            parts.append(f"{quantity_text(quantity, unit)} × {format_price(price)}")
    elif quantity is not None:
        parts.append(quantity_text(quantity, unit))
    if line.proration is not None and line.proration != 1 and line.proration > 0:
        parts.append(f"prorated to {format_number(line.proration * 100, max_places=1)}% of the period")
    return ", ".join(p for p in parts if p)


def _block_words(line: BillLine, lower: Decimal | None) -> str:
    """'first 600 kWh', 'next 400 kWh', 'over 1,000 kWh' from the block's limit and the one
    below it; '' when the line is not a block."""
    if not line.tier:
        return ""
    unit = unit_label(line.unit)
    limit = (line.details or {}).get("block_limit")
    upper = _dec(limit) if limit not in (None, "") else None
    if upper is not None and not lower:
        return f"first {format_number(upper)} {unit}".strip()
    if upper is not None and lower is not None:
        return f"next {format_number(upper - lower)} {unit}".strip()
    if lower:
        return f"over {format_number(lower)} {unit}".strip()
    return ""


def line_label(line: BillLine, lower: Decimal | None = None) -> str:
    """The line's description with its block in words instead of its number
    ('Energy charge, block 1' -> 'Energy charge, first 600 kWh')."""
    description = line.description or _code_words(line.component_kind).capitalize()
    words = _block_words(line, lower)
    if not words:
        return description
    suffix = f", block {line.tier}"
    base = description[: -len(suffix)] if description.endswith(suffix) else description
    return f"{base}, {words}"


def line_text(line: BillLine, lower: Decimal | None = None) -> str:
    """The whole line in words: 'Energy charge, first 600 kWh: 500 kWh × $0.10'."""
    how = line_how(line)
    label = line_label(line, lower)
    return f"{label}: {how}" if how else label


def line_rule(line: BillLine) -> str:
    """For staff: the block, TOU period and the rate rule that made the line."""
    parts = []
    if line.tier:
        parts.append(f"block {line.tier}")
    if line.tou_period:
        parts.append(f"period {line.tou_period}")
    parts.append(f"rule {line.component_code} ({line.component_kind})")
    return " · ".join(parts)


def line_explanation(line: BillLine) -> str:
    """Staff's one-line explanation: how it is worked out, then the rule behind it."""
    how = line_how(line)
    return f"{how} · {line_rule(line)}" if how else line_rule(line)


def _line_views(lines: Sequence[BillLine]) -> list[LineView]:
    # A block's lower bound is the limit of the block before it in the same component.
    previous_limit: dict[str, Decimal] = {}
    out = []
    for line in lines:
        lower = previous_limit.get(line.component_code) if line.tier else None
        out.append(LineView(line=line, label=line_label(line, lower), how=line_how(line), rule=line_rule(line)))
        limit = (line.details or {}).get("block_limit")
        if line.tier and limit not in (None, ""):
            previous_limit[line.component_code] = _dec(limit)
    return out


def consumption_unit(*, determinants: dict, lines: Sequence[BillLine] = (), commodity: str = "") -> str:
    """What a segment's consumption is measured in: the reads' unit, else the unit its usage
    lines price, else the service point's commodity's."""
    if determinants.get("unit"):
        return str(determinants["unit"])
    for line in lines:
        unit = (line.unit or "").strip()
        if line.quantity is not None and unit.lower() not in _NOT_CONSUMPTION:
            return unit
    return COMMODITY_UNITS.get(commodity, "kWh")


def segment_reads(determinants: dict, *, unit: str | None = None, commodity: str = "electric",
                  lines: Sequence[BillLine] = ()) -> list[tuple[str, str]]:
    """What the bill shows as reads: the meter's start and end reads when the bill run stored
    them, else the consumption of the period in the segment's own unit; demand and energy
    received only where a meter measures them (electricity, or a demand line on the bill)."""
    if not determinants:
        return []
    unit = unit or consumption_unit(determinants=determinants, lines=lines, commodity=commodity)
    out = []
    start, end = determinants.get("start_read"), determinants.get("end_read")
    if start is not None and end is not None:
        out.append(("Previous read", format_number(_dec(start), max_places=6)))
        out.append(("Present read", format_number(_dec(end), max_places=6)))
        multiplier = determinants.get("multiplier")
        if multiplier not in (None, 1, "1"):
            out.append(("Multiplier", str(multiplier)))
        out.append(("Used", quantity_text(_dec(determinants.get("consumption", 0)), unit)))
        return out
    if determinants.get("metered") is False:
        return [("Usage", "unmetered service")]
    electric = commodity in ("electric", "")
    has_demand_line = any((line.unit or "").strip().lower() in _DEMAND_UNITS for line in lines)
    if "consumption" in determinants:
        out.append(("Used", quantity_text(_dec(determinants["consumption"]), unit)))
    if (electric or has_demand_line) and _dec(determinants.get("max_demand_kw")):
        out.append(("Highest demand", quantity_text(_dec(determinants["max_demand_kw"]), "kW")))
    if electric and _dec(determinants.get("received")):
        out.append(("Received from you", quantity_text(_dec(determinants["received"]), unit)))
    estimated = int(determinants.get("estimated_intervals") or 0)
    if estimated:
        out.append(("Estimated intervals", str(estimated)))
    return out


def usage_chart_svg(bars: Sequence[UsageBar], *, width: int = 520, height: int = 150, unit: str = "kWh",
                    title: str = "") -> str:
    """A bar chart of one commodity's monthly usage as inline SVG (no script: it prints the
    same in a PDF). The current bill's bar is dark; a missing month is simply absent."""
    if not bars:
        return ""
    label_unit = unit_label(unit)
    top = max((b.kwh for b in bars), default=ZERO) or Decimal(1)
    left, bottom, label_h = 34, 18, 14
    plot_h = height - bottom - label_h
    slot = (width - left) / len(bars)
    bar_w = max(slot * 0.62, 2)
    aria = f"{title or 'Usage'} for the last {len(bars)} bills, in {label_unit}"
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(aria)}" '
             f'class="usage-chart" data-unit="{escape(label_unit)}">']
    parts.append(f'<text x="0" y="{label_h + 4}" font-size="8" fill="#5b6776">{escape(format_number(top, max_places=0))}</text>')
    parts.append(f'<text x="0" y="{label_h + plot_h}" font-size="8" fill="#5b6776">0</text>')
    parts.append(f'<line x1="{left - 2}" y1="{label_h + plot_h}" x2="{width}" y2="{label_h + plot_h}" '
                 'stroke="#aab6c4" stroke-width="0.8"/>')
    for i, bar in enumerate(bars):
        h = float(bar.kwh / top) * plot_h if bar.kwh > 0 else 0
        x = left + i * slot + (slot - bar_w) / 2
        y = label_h + plot_h - h
        colour = "#0b5cad" if bar.current else "#9cc1e6"
        amount = f"{format_number(bar.kwh, max_places=0)} {label_unit}"
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{colour}">'
                     f'<title>{escape(bar.label)}: {escape(amount)}</title></rect>')
        parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{height - 4}" font-size="7" text-anchor="middle" '
                     f'fill="#1d2733">{escape(bar.label)}</text>')
        if bar.current:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{max(y - 3, 9):.1f}" font-size="7" '
                         f'text-anchor="middle" fill="#1d2733">{escape(format_number(bar.kwh, max_places=0))}</text>')
    parts.append("</svg>")
    return "".join(parts)


# --- loading -------------------------------------------------------------------------------

def _commodities(agreement_ids: Iterable[int]) -> dict[int, str]:
    return {row.id: row.commodity for row in agreements_by_ids(agreement_ids=set(agreement_ids))}


def usage_histories(*, bill: Bill, months: int = HISTORY_MONTHS,
                    units: dict[str, str] | None = None) -> dict[str, list[UsageBar]]:
    """{commodity: bars} over the account's last `months` bills up to and including this one
    (cancelled bills are left out: their rebill stands for the period), oldest first, labelled
    by the month the period ends in. Each commodity has its own bars: kWh and m³ never add up."""
    bills = list(
        Bill.objects.filter(account_id=bill.account_id, period_end__lte=bill.period_end)
        .exclude(status=Bill.Status.CANCELLED).exclude(pk=bill.pk)
        .order_by("-period_end", "-id")[: months - 1]
    )[::-1] + [bill]
    rows = list(BillSegment.objects.filter(bill__in=bills).values_list("bill_id", "agreement_id", "determinants"))
    commodity_of = _commodities(agreement for _, agreement, _ in rows)
    totals: dict[str, dict[int, Decimal]] = {}
    for bill_id, agreement_id, det in rows:
        det = det or {}
        commodity = commodity_of.get(agreement_id, "electric")
        if not det.get("metered", True) and "consumption" not in det:
            continue
        per_bill = totals.setdefault(commodity, {})
        per_bill[bill_id] = per_bill.get(bill_id, ZERO) + (_dec(det.get("consumption")) if det.get("metered", True) else ZERO)
    out: dict[str, list[UsageBar]] = {}
    order = sorted(totals, key=lambda c: list(COMMODITY_UNITS).index(c) if c in COMMODITY_UNITS else 99)
    for commodity in order:
        per_bill = totals[commodity]
        out[commodity] = [
            UsageBar(label=(b.period_end - dt.timedelta(days=1)).strftime("%b %y"), kwh=per_bill.get(b.pk, ZERO),
                     current=b.pk == bill.pk)
            for b in bills if b.pk in per_bill
        ]
    return out


def usage_history(*, bill: Bill, months: int = HISTORY_MONTHS, commodity: str | None = None) -> list[UsageBar]:
    """One commodity's bars (the bill's first commodity unless named)."""
    histories = usage_histories(bill=bill, months=months)
    if commodity is not None:
        return histories.get(commodity, [])
    return next(iter(histories.values()), [])


def usage_charts(*, bill: Bill, units: dict[str, str] | None = None) -> list[UsageChart]:
    """One chart per commodity the account was billed for, each in its own unit."""
    charts = []
    for commodity, bars in usage_histories(bill=bill).items():
        unit = (units or {}).get(commodity) or COMMODITY_UNITS.get(commodity, "kWh")
        title = COMMODITY_NAMES.get(commodity, commodity.title())
        charts.append(UsageChart(commodity=commodity, unit=unit, bars=bars,
                                 svg=usage_chart_svg(bars, unit=unit, title=title)))
    return charts


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


def bill_document(*, bill: Bill) -> BillDocumentView:
    """Everything the printed bill shows, loaded once."""
    number, name, mailing, service_address = _account_facts(bill.account_id)
    segments = list(bill.segments.prefetch_related("lines").order_by("id"))
    commodity_of = _commodities(s.agreement_id for s in segments)
    views = []
    units: dict[str, str] = {}
    for segment in segments:
        lines = list(segment.lines.all())
        commodity = commodity_of.get(segment.agreement_id, "electric")
        determinants = segment.determinants or {}
        unit = consumption_unit(determinants=determinants, lines=lines, commodity=commodity)
        units.setdefault(commodity, unit)
        views.append(SegmentView(segment=segment, commodity=commodity, unit=unit, lines=_line_views(lines),
                                 reads=segment_reads(determinants, unit=unit, commodity=commodity, lines=lines)))
    template = active_template()
    return BillDocumentView(
        bill=bill, utility_name=settings.UTILIS_UTILITY_NAME, account_number=number, customer_name=name,
        mailing_lines=mailing, service_address=service_address, segments=views,
        charts=usage_charts(bill=bill, units=units), template=template, logo_data_uri=_logo_data_uri(template),
    )


# --- rendering -----------------------------------------------------------------------------

# Notes other billing features print under the amount due (autopay: "Paid by pre-authorised
# debit on ..."): functions of the bill returning a sentence or "", registered from BillingConfig.ready.
BILL_NOTES: list[Callable[[Bill], str]] = []


def register_bill_note(note: Callable[[Bill], str]) -> None:
    if note not in BILL_NOTES:
        BILL_NOTES.append(note)


def render_bill_html(*, bill: Bill, document: BillDocumentView | None = None) -> str:
    """The bill as a standalone HTML page: the active template's body if it has one, else the
    built-in layout; the template's CSS is added after the built-in styles."""
    document = document or bill_document(bill=bill)
    context = {"doc": document, "bill": bill, "template": document.template,
               "extra_css": document.template.css if document.template else "",
               "budget": bill_plan_facts(bill_id=bill.pk),  # an equal payment plan's rows (billing/budget)
               "notes": [text for text in (note(bill) for note in BILL_NOTES) if text]}
    if document.template is not None and document.template.body.strip():
        return Template("{% load formats %}" + document.template.body).render(Context(context))
    return render_to_string("billing/pdf/bill.html", context)


def render_bill_pdf(*, bill: Bill) -> bytes:
    from weasyprint import HTML  # heavy: loaded by the render task only

    return HTML(string=render_bill_html(bill=bill), base_url=str(settings.BASE_DIR)).write_pdf()


def _filename(bill: Bill) -> str:
    return f"bill-{bill.bill_number or bill.pk}.pdf"


def bill_html_response(request, bill: Bill) -> HttpResponse:
    """The e-bill page (the hub now, the portal later: the caller checks who may see it)."""
    return HttpResponse(render_bill_html(bill=bill))


# --- stored documents ----------------------------------------------------------------------

def template_version(template: BillTemplate | None) -> str:
    """Which layout a document was printed with: the built-in one's version, or the staff
    template's id and last change."""
    if template is None:
        return f"layout-{LAYOUT_VERSION}"
    stamp = template.updated_at.strftime("%Y%m%dT%H%M%S") if template.updated_at else ""
    return f"layout-{LAYOUT_VERSION}/template-{template.pk}@{stamp}"


def bill_state(bill: Bill) -> str:
    """What a printed bill depends on that can change after it is printed (cancelling it,
    re-rating a draft): a stored document made from another state is out of date."""
    return "|".join(str(v) for v in (bill.status, bill.bill_number or "", bill.total, bill.balance_forward,
                                     bill.amount_due, bill.cancel_reason[:40]))


def _queue(bill_ids: Sequence[int]) -> None:
    from billing.tasks import bill_documents_render  # billing.tasks imports billing.services, which import this

    for start in range(0, len(bill_ids), RENDER_BATCH):
        batch = list(bill_ids[start:start + RENDER_BATCH])
        try:
            bill_documents_render.delay(bill_ids=batch)
        except Exception:  # noqa: BLE001 - a broker outage: the documents stay pending and are queued on view
            log.exception("could not queue the PDF render of bills %s..%s", batch[0], batch[-1])
            return


def bill_documents_request(*, bill_ids: Sequence[int], now: dt.datetime | None = None) -> list[int]:
    """Mark the bills' documents pending (one statement, whatever their number) and queue one
    render task per RENDER_BATCH bills when the current transaction commits. Returns the ids."""
    ids = sorted({int(i) for i in bill_ids})
    if not ids:
        return []
    now = now or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {BillDocument._meta.db_table} AS d
                    (bill_id, status, file, template_version, bill_state, error, requested_at)
                SELECT v.id, %s, '', '', '', '', %s FROM unnest(%s::bigint[]) AS v(id)
                ON CONFLICT (bill_id) DO UPDATE SET status = EXCLUDED.status, error = '',
                    requested_at = EXCLUDED.requested_at""",
            [BillDocument.Status.PENDING, now, ids],
        )
    transaction.on_commit(lambda: _queue(ids))
    return ids


def bill_documents_after_issue(*, bill_ids: Sequence[int], now: dt.datetime) -> None:
    """The issue hook (billing.services.runs.bills_issue): never renders, only asks."""
    bill_documents_request(bill_ids=bill_ids, now=now)


def bill_document_regenerate(*, bill: Bill, now: dt.datetime | None = None) -> None:
    """Render the bill's PDF again in the background (staff's "Regenerate"); the stored one is
    served until the new one is ready."""
    with transaction.atomic():
        bill_documents_request(bill_ids=[bill.pk], now=now)


def _storage_name(bill: Bill) -> str:
    # Under the field's upload_to ("bills/"): MEDIA_ROOT/bills/<year>/<month>/bill-<number>.pdf
    return f"{bill.bill_date:%Y/%m}/{_filename(bill)}"


def bill_document_render(*, bill_id: int, now: dt.datetime | None = None) -> BillDocument | None:
    """Render one bill's PDF and store it (Django storage, MEDIA_ROOT); a failure is kept on
    the document with its error. Returns None for a bill that no longer exists."""
    bill = Bill.objects.filter(pk=bill_id).first()
    if bill is None:
        return None
    started = time.monotonic()
    template = active_template()
    try:
        content = render_bill_pdf(bill=bill)
    except Exception as exc:  # noqa: BLE001 - kept on the document, shown to staff, retried on regenerate
        log.exception("bill %s: PDF render failed", bill_id)
        BillDocument.objects.update_or_create(
            bill_id=bill_id, defaults={"status": BillDocument.Status.FAILED, "error": f"{type(exc).__name__}: {exc}"[:2000],
                                       "requested_at": now or timezone.now()})
        return BillDocument.objects.get(bill_id=bill_id)
    document, _ = BillDocument.objects.get_or_create(bill_id=bill_id, defaults={"requested_at": now or timezone.now()})
    old_name = document.file.name
    document.file.save(_storage_name(bill), ContentFile(content), save=False)
    document.status, document.error = BillDocument.Status.READY, ""
    document.rendered_at = timezone.now()
    document.template_version = template_version(template)
    document.bill_state = bill_state(bill)
    document.render_ms = int((time.monotonic() - started) * 1000)
    document.save()
    if old_name and old_name != document.file.name:
        document.file.storage.delete(old_name)
    return document


def bill_document_of(bill: Bill) -> BillDocument | None:
    return BillDocument.objects.filter(bill_id=bill.pk).first()


def document_is_current(document: BillDocument | None, bill: Bill) -> bool:
    """A ready document printed from the bill as it is now, whose file is there."""
    return (document is not None and document.status == BillDocument.Status.READY and bool(document.file.name)
            and document.bill_state == bill_state(bill) and document.file.storage.exists(document.file.name or ""))


def bill_pdf_response(request, bill: Bill, *, download: bool = False) -> HttpResponse | FileResponse:
    """The stored PDF; when there is none (or it is out of date), a "being prepared" page
    (HTTP 202, refreshing itself) and a render queued unless one is already pending. Never
    renders in the request."""
    document = bill_document_of(bill)
    if document_is_current(document, bill):
        assert document is not None
        return FileResponse(document.file.open("rb"), content_type="application/pdf", as_attachment=download,
                            filename=_filename(bill))
    now = timezone.now()
    # A pending render, or one that just failed, is not asked for again on every refresh.
    recent = (document is not None and document.status != BillDocument.Status.READY
              and document.requested_at is not None and now - document.requested_at < PENDING_STALE)
    if not recent:
        with transaction.atomic():
            bill_documents_request(bill_ids=[bill.pk], now=now)
        document = bill_document_of(bill)
    html = render_to_string("billing/pdf/preparing.html", {
        "bill": bill, "document": document, "refresh": PREPARING_REFRESH_SECONDS,
        "utility_name": settings.UTILIS_UTILITY_NAME,
    }, request=request)
    response = HttpResponse(html, status=202)
    response["Retry-After"] = str(PREPARING_REFRESH_SECONDS)
    response["Cache-Control"] = "no-store"
    return response
