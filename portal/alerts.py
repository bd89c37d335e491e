"""Alerts a customer chose, by email: finding each event, and sending each alert once.

`alert_preferences_set` records what a login chose for one linked account. The beat job
(portal.tasks.alerts_scan, every ALERT_SCAN_MINUTES) hands the links with any alert on to
`alerts_send_for_link` in chunks. For each link it works out the events its chosen kinds see
now (pure functions over what billing and the interval store say), writes one AlertDelivery
row per (link, kind, event key) with INSERT ... ON CONFLICT DO NOTHING, claims each unsent row
with a conditional UPDATE and hands it to Django's email backend. The unique constraint is what
makes an alert go at most once, whichever worker runs the job and however often.

Events and their keys:
- bill_ready        an issued bill, issued within BILL_READY_WITHIN              bill:<id>
- payment_due       the last issued bill, amount due > 0, balance > 0, due in
                    at most `threshold` days (DEFAULT_DUE_DAYS)                    due:<bill id>
- payment_received  a payment ledger entry dated within PAYMENT_WITHIN             payment:<ledger id>
- high_usage        a local day (of the last USAGE_LOOKBACK_DAYS) whose delivered
                    total is above `threshold`% (DEFAULT_HIGH_PERCENT) of the mean
                    of the HISTORY_DAYS before it (at least MIN_HISTORY_DAYS with data) high:<sp>:<unit>:<date>
- estimated_read    a local day of the last USAGE_LOOKBACK_DAYS with estimated
                    intervals (no reading came in)                                 estimated:<sp>:<date>
- water_leak        a water service point's actual readings all above zero, back
                    to back, for LEAK_HOURS or more (one episode: from the first
                    such reading to the next zero, gap or estimate)               leak:<sp>:<unit>:<episode start>
Outages are not offered: the interval store has no outage events a portal may read yet.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q, Sum
from django.utils import translation
from django.utils.translation import gettext as _

from billing.selectors import bills_list, ledger_entries
from core.money import format_money
from portal.language import mail_language
from portal.models import AccountLink, AlertDelivery, AlertKind, AlertPreference
from portal.usage import UsageSeries, account_usage

logger = logging.getLogger(__name__)

ALERT_SCAN_MINUTES = 30
BILL_READY_WITHIN = dt.timedelta(days=7)
PAYMENT_WITHIN = dt.timedelta(days=7)
DEFAULT_DUE_DAYS = 5
DEFAULT_HIGH_PERCENT = 150
HISTORY_DAYS = 28
MIN_HISTORY_DAYS = 7
USAGE_LOOKBACK_DAYS = 3
LEAK_HOURS = 24
# Episodes are looked for in the last LEAK_LOOKBACK_DAYS; one that already ran at the start of
# that window is looked at again over LEAK_LONGEST_DAYS to find where it began (its key).
LEAK_LOOKBACK_DAYS = 8
LEAK_LONGEST_DAYS = 62
MAX_ATTEMPTS = 3
THRESHOLD_KINDS = {AlertKind.PAYMENT_DUE: (1, 30, DEFAULT_DUE_DAYS), AlertKind.HIGH_USAGE: (110, 1000, DEFAULT_HIGH_PERCENT)}


class AlertPreferenceError(ValueError):
    """A threshold out of its range; `field` names the kind."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class AlertEvent:
    kind: str
    key: str
    subject: str
    body: str


def alert_preferences_set(*, link: AccountLink, chosen: dict[str, int | None], now: dt.datetime) -> None:
    """`chosen`: kind -> threshold (None: the kind's default, or no threshold) for each kind the
    login wants; kinds left out are switched off. Raises AlertPreferenceError for a threshold
    outside its kind's range or an unknown kind."""
    for kind, threshold in chosen.items():
        if kind not in AlertKind.values:
            raise AlertPreferenceError(kind, f"Unknown alert: {kind}.")
        if kind in THRESHOLD_KINDS and threshold is not None:
            low, high, _default = THRESHOLD_KINDS[AlertKind(kind)]
            if not low <= threshold <= high:
                raise AlertPreferenceError(kind, f"Choose a number from {low} to {high}.")
    with transaction.atomic():
        for kind in AlertKind.values:
            on = kind in chosen
            threshold = None
            if kind in THRESHOLD_KINDS:
                threshold = chosen.get(kind) or THRESHOLD_KINDS[AlertKind(kind)][2]
            AlertPreference.objects.update_or_create(
                link=link, kind=kind, defaults={"enabled": on, "threshold": threshold, "updated_at": now})


def alert_preferences(*, link: AccountLink) -> dict[str, AlertPreference]:
    return {p.kind: p for p in AlertPreference.objects.filter(link=link)}


def alert_deliveries_recent(*, link: AccountLink, limit: int = 20) -> list[AlertDelivery]:
    return list(AlertDelivery.objects.filter(link=link).order_by("-created_at", "-id")[:limit])


def links_with_alerts() -> list[int]:
    """Links with an alert on, and the holders' links of paperless accounts (their bill-ready
    email is how the bill reaches them, chosen or not)."""
    chosen = set(AlertPreference.objects.filter(enabled=True).values_list("link_id", flat=True))
    paperless = set(AccountLink.objects.filter(access=AccountLink.Access.FULL, account__bill_delivery="email")
                    .values_list("id", flat=True))
    return sorted(chosen | paperless)


def paperless_bill_ready(link: AccountLink) -> bool:
    """A paperless account's holder gets the bill-ready email whatever alerts they chose."""
    return link.access == AccountLink.Access.FULL and link.account.bill_delivery == "email"


# ---- finding events ------------------------------------------------------------------------

def _bill_events(account, prefs: dict[str, AlertPreference], *, now: dt.datetime, today: dt.date) -> list[AlertEvent]:
    events = []
    name = settings.UTILIS_UTILITY_NAME
    number = account.account_number
    issued = list(bills_list(include_drafts=False, account_id=account.pk, status="issued")[:3])
    if AlertKind.BILL_READY in prefs:
        for bill in issued:
            if bill.issued_at is not None and bill.issued_at >= now - BILL_READY_WITHIN:
                events.append(AlertEvent(
                    AlertKind.BILL_READY, f"bill:{bill.pk}",
                    _("%(utility)s: your bill for account %(number)s is ready") % {"utility": name, "number": number},
                    _("Your bill of %(date)s is ready: %(amount)s due on %(due)s.") % {
                        "date": f"{bill.bill_date:%Y-%m-%d}", "amount": format_money(bill.amount_due),
                        "due": f"{bill.due_date:%Y-%m-%d}"}
                    + (" " + _("You chose paperless bills: no paper bill is mailed. See it and its PDF after "
                               "signing in to your online account.") if account.bill_delivery == "email" else "")))
    due_pref = prefs.get(AlertKind.PAYMENT_DUE)
    if due_pref is not None and issued:
        last = issued[0]
        days = due_pref.threshold or DEFAULT_DUE_DAYS
        balance = ledger_entries(account_id=account.pk).aggregate(total=Sum("amount"))["total"] or Decimal(0)
        if last.amount_due > 0 and balance > 0 and today <= last.due_date <= today + dt.timedelta(days=days):
            events.append(AlertEvent(
                AlertKind.PAYMENT_DUE, f"due:{last.pk}",
                _("%(utility)s: payment due on %(due)s") % {"utility": name, "due": f"{last.due_date:%Y-%m-%d}"},
                _("%(amount)s is due on %(due)s for account %(number)s (your balance is %(balance)s).") % {
                    "amount": format_money(last.amount_due), "due": f"{last.due_date:%Y-%m-%d}", "number": number,
                    "balance": format_money(balance)}))
    if AlertKind.PAYMENT_RECEIVED in prefs:
        since = (now - PAYMENT_WITHIN).date()
        for entry in ledger_entries(account_id=account.pk, kind="payment", effective_from=since)[:10]:
            events.append(AlertEvent(
                AlertKind.PAYMENT_RECEIVED, f"payment:{entry.pk}",
                _("%(utility)s: we received your payment") % {"utility": name},
                _("We received %(amount)s on %(date)s for account %(number)s. Thank you.") % {
                    "amount": format_money(-entry.amount), "date": f"{entry.effective_date:%Y-%m-%d}",
                    "number": number}))
    return events


def daily_totals(series: UsageSeries) -> dict[int, tuple[float, int, bool]]:
    """Local day ordinal -> (total, intervals present, any estimated)."""
    if not len(series):
        return {}
    days, index = np.unique(series.local_day, return_inverse=True)
    sums = np.bincount(index, weights=series.values)
    counts = np.bincount(index)
    estimated = np.bincount(index, weights=series.estimated.astype(np.float64)) > 0
    return {int(d): (float(s), int(c), bool(e)) for d, s, c, e in zip(days, sums, counts, estimated)}


def usage_events(series_list: list[UsageSeries], prefs: dict[str, AlertPreference], *, today: dt.date,
                 number: str) -> list[AlertEvent]:
    """High-usage and estimated-read events of the last USAGE_LOOKBACK_DAYS local days (pure)."""
    events = []
    name = settings.UTILIS_UTILITY_NAME
    high = prefs.get(AlertKind.HIGH_USAGE)
    percent = (high.threshold or DEFAULT_HIGH_PERCENT) if high is not None else None
    recent = [today - dt.timedelta(days=n) for n in range(USAGE_LOOKBACK_DAYS, 0, -1)]
    for s in series_list:
        if s.direction != "delivered":
            continue
        totals = daily_totals(s)
        full_day = 24 * 60 // max(s.interval_minutes, 1)
        for day in recent:
            row = totals.get(day.toordinal())
            if row is None:
                continue
            total, count, estimated = row
            if estimated and AlertKind.ESTIMATED_READ in prefs:
                events.append(AlertEvent(
                    AlertKind.ESTIMATED_READ, f"estimated:{s.sp_number}:{day:%Y-%m-%d}",
                    _("%(utility)s: some of your usage on %(day)s was estimated") % {"utility": name,
                                                                                   "day": f"{day:%Y-%m-%d}"},
                    _("No reading came in for part of %(day)s at %(place)s, so that part is estimated. "
                      "It is corrected when the reading arrives.") % {"day": f"{day:%Y-%m-%d}", "place": s.label}))
            if percent is None or count < full_day * 0.9:
                continue  # an incomplete day says nothing about high use
            history = [totals[d.toordinal()][0] for d in
                       (day - dt.timedelta(days=n) for n in range(1, HISTORY_DAYS + 1)) if d.toordinal() in totals]
            if len(history) < MIN_HISTORY_DAYS:
                continue
            usual = sum(history) / len(history)
            if usual > 0 and total > usual * percent / 100:
                events.append(AlertEvent(
                    AlertKind.HIGH_USAGE, f"high:{s.sp_number}:{s.unit}:{day:%Y-%m-%d}",
                    _("%(utility)s: high usage on %(day)s") % {"utility": name, "day": f"{day:%Y-%m-%d}"},
                    _("On %(day)s you used %(total).1f %(unit)s at %(place)s, %(ratio).0f%% of your usual "
                      "%(usual).1f %(unit)s a day (the %(n)s days before). Account %(number)s.") % {
                        "day": f"{day:%Y-%m-%d}", "total": total, "unit": s.unit, "place": s.label,
                        "ratio": total / usual * 100, "usual": usual, "n": len(history), "number": number}))
    return events


@dataclass(frozen=True)
class FlowRun:
    """Back-to-back actual intervals with flow above zero: [start, end) in UTC epoch seconds."""
    start_s: int
    end_s: int

    @property
    def hours(self) -> float:
        return (self.end_s - self.start_s) / 3600


def flow_runs(series: UsageSeries) -> list[FlowRun]:
    """The stretches of a series where every interval is an actual reading above zero, with no
    interval missing between them (numpy: the flowing intervals, split where two are not
    adjacent). A zero, a missing or an estimated interval ends a stretch: an estimate is not a
    measurement, and a leak alert must rest on what the meter read."""
    if not len(series):
        return []
    step = max(series.interval_minutes, 1) * 60
    flowing = series.start_s[(series.values > 0) & ~series.estimated]
    if not len(flowing):
        return []
    cuts = np.flatnonzero(np.diff(flowing) != step) + 1
    bounds = [0, *cuts.tolist(), len(flowing)]
    return [FlowRun(int(flowing[a]), int(flowing[b - 1]) + step) for a, b in zip(bounds[:-1], bounds[1:])]


def leak_events(series_list: list[UsageSeries], *, window_start_s: int, tz: dt.tzinfo, number: str
                ) -> tuple[list[AlertEvent], bool]:
    """Possible-leak events of water service points (pure): each episode of continuous flow of
    at least LEAK_HOURS, keyed by where it began so the job finds the same key every run while
    it goes on. Also says whether an episode already ran at `window_start_s` (its start is not
    known from these days: the caller looks further back)."""
    events, unknown_start = [], False
    name = settings.UTILIS_UTILITY_NAME
    for s in series_list:
        if s.commodity != "water" or s.direction != "delivered":
            continue
        for run in flow_runs(s):
            if run.hours < LEAK_HOURS:
                continue
            if run.start_s <= window_start_s:
                unknown_start = True
                continue
            since = dt.datetime.fromtimestamp(run.start_s, tz)
            until = dt.datetime.fromtimestamp(run.end_s, tz)
            events.append(AlertEvent(
                AlertKind.WATER_LEAK, f"leak:{s.sp_number}:{s.unit}:{since.astimezone(dt.timezone.utc):%Y%m%dT%H%MZ}",
                _("%(utility)s: possible water leak at %(place)s") % {"utility": name, "place": s.label},
                _("Water has kept flowing at %(place)s without a break since %(since)s: every reading up to "
                  "%(until)s shows water used (%(hours)s hours). A running toilet, a dripping tap or a leaking "
                  "pipe can do this; please check. Account %(number)s.") % {
                    "place": s.label, "since": f"{since:%Y-%m-%d %H:%M %Z}", "until": f"{until:%Y-%m-%d %H:%M %Z}",
                    "hours": f"{run.hours:.0f}", "number": number}))
    return events, unknown_start


def _leak_events(account, *, today: dt.date, tz: dt.tzinfo) -> list[AlertEvent]:
    events: list[AlertEvent] = []
    for days in (LEAK_LOOKBACK_DAYS, LEAK_LONGEST_DAYS):
        start = today - dt.timedelta(days=days)
        window_start = int(dt.datetime.combine(start, dt.time(0), tzinfo=tz).timestamp())
        series = [s for s in account_usage(account=account, start_date=start, end_date=today + dt.timedelta(days=1),
                                           tz=tz) if s.commodity == "water"]
        events, unknown_start = leak_events(series, window_start_s=window_start, tz=tz, number=account.account_number)
        if not unknown_start:
            break
    # An episode older than LEAK_LONGEST_DAYS is left out: it was reported when it was younger.
    return events


def alert_events(*, link: AccountLink, now: dt.datetime, today: dt.date, tz: dt.tzinfo) -> list[AlertEvent]:
    """What the link's enabled alerts see now."""
    prefs = {p.kind: p for p in AlertPreference.objects.filter(link=link, enabled=True)}
    if paperless_bill_ready(link) and AlertKind.BILL_READY not in prefs:
        prefs[AlertKind.BILL_READY] = AlertPreference(link=link, kind=AlertKind.BILL_READY, enabled=True)
    if not prefs:
        return []
    account = link.account
    events = _bill_events(account, prefs, now=now, today=today)
    if AlertKind.HIGH_USAGE in prefs or AlertKind.ESTIMATED_READ in prefs:
        start = today - dt.timedelta(days=USAGE_LOOKBACK_DAYS + HISTORY_DAYS)
        series = account_usage(account=account, start_date=start, end_date=today, tz=tz)
        events += usage_events(series, prefs, today=today, number=account.account_number)
    if AlertKind.WATER_LEAK in prefs:
        events += _leak_events(account, today=today, tz=tz)
    return events


# ---- sending once --------------------------------------------------------------------------

def _body(link: AccountLink, event: AlertEvent) -> str:
    return "\n\n".join([
        _("Hello,"), event.body,
        _("You chose this alert for account %(number)s. Change your alerts after signing in to your online "
          "account.") % {"number": link.account.account_number},
        settings.UTILIS_UTILITY_NAME,
    ]) + "\n"


def alerts_send_for_link(*, link_id: int, now: dt.datetime, today: dt.date, tz: dt.tzinfo) -> int:
    """Record and mail the link's new alerts; returns how many were mailed now. Safe to run
    twice or at once in two workers: each (link, kind, event) row is inserted once and claimed
    by one UPDATE."""
    link = AccountLink.objects.select_related("account__customer", "user").filter(pk=link_id).first()
    if link is None or not link.user.email or not link.user.is_active:
        return 0
    # Outside a request no language is active: the mail speaks the customer's language on file.
    with translation.override(mail_language(link.account.customer.preferred_language)):
        return _send_for_link(link, now=now, today=today, tz=tz)


def _send_for_link(link: AccountLink, *, now: dt.datetime, today: dt.date, tz: dt.tzinfo) -> int:
    events = {(e.kind, e.key): e for e in alert_events(link=link, now=now, today=today, tz=tz)}
    AlertDelivery.objects.bulk_create(
        [AlertDelivery(link=link, kind=e.kind, event_key=e.key, email=link.user.email, subject=e.subject[:200],
                       created_at=now) for e in events.values()],
        ignore_conflicts=True)
    # Unsent rows: new ones, and those whose hand-off SMTP refused (not those a dead worker
    # may have handed over already: attempted, no error, no sent_at).
    unsent = AlertDelivery.objects.filter(link=link, sent_at__isnull=True, attempts__lt=MAX_ATTEMPTS).filter(
        Q(attempted_at__isnull=True) | ~Q(error=""))
    sent = 0
    for row in unsent:
        event = events.get((row.kind, row.event_key))
        if event is None:
            continue  # the event is over (the bill was paid, the week passed): nothing to say now
        claimed = AlertDelivery.objects.filter(pk=row.pk, sent_at__isnull=True, attempts=row.attempts).filter(
            Q(attempted_at__isnull=True) | ~Q(error="")).update(attempted_at=now, attempts=F("attempts") + 1, error="")
        if claimed != 1:
            continue  # another worker has it
        try:
            send_mail(event.subject, _body(link, event), None, [row.email])
        except Exception as exc:  # the mail server refused or was away: keep why, try next run
            logger.warning("alert %s to %s not sent: %s", row.pk, row.email, exc)
            AlertDelivery.objects.filter(pk=row.pk).update(error=str(exc)[:300] or exc.__class__.__name__)
            continue
        AlertDelivery.objects.filter(pk=row.pk).update(sent_at=now)
        sent += 1
    return sent
