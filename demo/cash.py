"""The demo's money (issue 10), loaded by `seed_demo` after the utility: bills carried over from
the "legacy system" for a few dozen accounts, so that the cash hubs have something to show.

- **arrears at every dunning step**: residential accounts whose oldest bill is due 8, 20, 35,
  50 and 75 days ago, a commercial one taken to a disconnect order, a closed account written
  off, and one protected by a medical certificate; the collections runs of the days in the last
  125 on which a step fell due are run (their notices recorded as sent, nobody is mailed), so
  each case has its history;
- **autopay**: six enrolled accounts whose bills were due two days ago are in that date's debit
  file; one is above its maximum and held for review;
- **equal payment plans**: four accounts with three paid bills each, enrolled;
- **files to import** (written to demo/files/, matching these accounts and debits): a lockbox
  CSV (payments by account number and by scan line, and lines for the suspense worklist: an
  unknown account, a scan line with a wrong check digit, a blank account) and the bank's NACHA
  returns file returning two of the debits (R01, R02).

The accounts are the first that fit, by account number, so the same seed gives the same demo."""
from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.test.utils import override_settings

from billing.services import (
    account_protection_add,
    autopay_debit_file,
    autopay_enrol,
    autopay_returns_file_for,
    bill_legacy_issue,
    budget_enrol,
    budget_plan_type_ensure,
    collections_preset_load,
    collections_run_inline,
    contact_attempt_record,
    payment_post,
    scan_line,
)
from cis.selectors import account_get
from core.actors import Actor
from core.clock import utility_zone
from integrations.services import LockboxItem, write_lockbox_csv

ACTOR = Actor.system("seed_demo", reason="Demo: bills and payments carried over from the legacy system")
FILES_DIR = Path(settings.BASE_DIR) / "demo" / "files"
LOCKBOX_FILE, RETURNS_FILE = "lockbox-demo.csv", "autopay-returns-demo.ach"
HISTORY_DAYS = 125
# Residential arrears: (what the case shows, days since the oldest bill was due).
ARREARS = [("reminder", 8), ("late_charge", 20), ("final_notice", 35), ("disconnect_notice", 50),
           ("disconnect", 75), ("medical", 40)]
# The preset plans' step delays (billing/collections/presets.py; a fresh demo has them as preset).
# The last but one of each is the disconnect order's.
RESIDENTIAL_DELAYS, COMMERCIAL_DELAYS = (5, 16, 30, 45, 60, 120), (3, 16, 21, 30, 45, 120)
ROUTING = "011000015"  # a valid ABA check sum (demo bank)
SCAN_CANDIDATES = 800  # account numbers looked at for the roles below


@dataclass
class Roles:
    residential: list = field(default_factory=list)
    commercial: list = field(default_factory=list)
    closed: list = field(default_factory=list)


def _at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=utility_zone())


def _candidates(limit: int) -> Roles:
    """Accounts by number (the generator numbers them from 100001): active person and
    organisation accounts of their own (no summary parent) and closed ones."""
    roles = Roles()
    for number in range(100001, 100001 + limit):
        try:
            account = account_get(account_number=f"{number:010d}")
        except Exception:  # noqa: BLE001 - cis's DoesNotExist: the demo has fewer accounts
            break
        if account.parent_id is not None:
            continue
        if account.status == "closed":
            roles.closed.append(account)
        elif account.status == "active" and account.customer.kind == "person":
            roles.residential.append(account)
        elif account.status == "active":
            roles.commercial.append(account)
    return roles


def _amount(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randint(low * 100, high * 100)) / 100


def demo_cash_seed(*, today: dt.date, seed: int, log: Callable[[str], None] = lambda line: None,
                   files_dir: Path | None = None) -> dict[str, int]:
    """Load the demo's bills, autopay, plans and arrears, and write its two files. Returns counts."""
    started = time.monotonic()
    rng = random.Random(seed * 7919 + 10)
    out = Path(files_dir or FILES_DIR)
    roles = _candidates(SCAN_CANDIDATES)
    residential = roles.residential
    counts = {"arrears": 0, "autopay": 0, "budget plans": 0, "lockbox lines": 0, "returns": 0}
    if len(residential) < len(ARREARS) + 14:
        log(f"cash demo skipped: only {len(residential)} residential accounts")
        return counts
    collections_preset_load()
    arrears, residential = residential[:len(ARREARS)], residential[len(ARREARS):]
    autopay, residential = residential[:6], residential[6:]
    budget, residential = residential[:4], residential[4:]
    payers = residential[:4]

    def bill(account, *, due: dt.date, total: Decimal):
        bill_date = due - dt.timedelta(days=21)
        return bill_legacy_issue(account_id=account.pk, total=total, bill_date=bill_date, due_date=due, actor=ACTOR,
                                 now=_at(bill_date))

    # Arrears: the oldest bill due `age` days ago, a newer one a month later.
    cases = {}
    oldest_dues: list[tuple[dt.date, tuple[int, ...]]] = []
    for (label, age), account in zip(ARREARS, arrears):
        due = today - dt.timedelta(days=age)
        bill(account, due=due, total=_amount(rng, 140, 320))
        if age > 40:
            bill(account, due=due + dt.timedelta(days=30), total=_amount(rng, 90, 200))
        cases[label] = (account, due)
        oldest_dues.append((due, RESIDENTIAL_DELAYS))
        counts["arrears"] += 1
    medical, medical_due = cases["medical"]
    account_protection_add(account_id=medical.pk, kind="medical", start_date=medical_due + dt.timedelta(days=12),
                           end_date=today + dt.timedelta(days=60), reference="Dr. certificate 2291",
                           reason="Home oxygen concentrator", actor=ACTOR)
    disconnect, disconnect_due = cases["disconnect"]
    contact_attempt_record(account_id=disconnect.pk, method="phone", at=_at(disconnect_due + dt.timedelta(days=55), 9),
                           note="Left a message about the disconnection notice", actor=ACTOR)
    if roles.commercial:
        shop, shop_due = roles.commercial[0], today - dt.timedelta(days=60)
        bill(shop, due=shop_due, total=_amount(rng, 600, 1400))
        oldest_dues.append((shop_due, COMMERCIAL_DELAYS))
        contact_attempt_record(account_id=shop.pk, method="visit", at=_at(shop_due + dt.timedelta(days=38), 11),
                               note="Spoke to the manager", actor=ACTOR)
        counts["arrears"] += 1
    if roles.closed:
        gone = roles.closed[0]
        gone_due = today - dt.timedelta(days=HISTORY_DAYS + 2)
        bill(gone, due=gone_due, total=_amount(rng, 150, 260))
        oldest_dues.append((gone_due, RESIDENTIAL_DELAYS))
        counts["arrears"] += 1

    # Equal payment plans: three paid bills each, then enrolled.
    plan_type = budget_plan_type_ensure(code="EQUAL-12", name="Equal monthly payments (12 months)", actor=ACTOR,
                                        lookback_months=12, min_history_months=1, review_months=[4, 8])
    for account in budget:
        for months_ago in (3, 2, 1):
            due = today - dt.timedelta(days=30 * months_ago)
            issued = bill(account, due=due, total=_amount(rng, 80, 180))
            payment_post(account_id=account.pk, amount=issued.total, received_date=due - dt.timedelta(days=3),
                         channel="cashier", tender_type="cheque", actor=ACTOR, reason="Legacy payment")
        budget_enrol(account_id=account.pk, plan_type=plan_type, as_of=today, actor=ACTOR, reason="Demo enrolment")
        counts["budget plans"] += 1

    # Autopay: bills due two days ago, debited in that date's file; the last is above its maximum.
    debit_due = today - dt.timedelta(days=2)
    for n, account in enumerate(autopay):
        autopay_enrol(account_id=account.pk, routing_number=ROUTING, account_number=f"70{n:02d}44{account.pk % 10000:04d}",
                      account_type="savings" if n % 3 == 2 else "checking", holder_name=account.customer.display_name[:100],
                      start_date=today - dt.timedelta(days=90), max_amount="150.00" if n == len(autopay) - 1 else None,
                      actor=ACTOR, reason="Demo enrolment")
        bill(account, due=debit_due, total=_amount(rng, 160, 240) if n == len(autopay) - 1 else _amount(rng, 70, 140))
        counts["autopay"] += 1
    autopay_debit_file(due_date=debit_due, actor=ACTOR, now=_at(debit_due, 5))

    # Current bills the lockbox file pays.
    payer_bills = [bill(account, due=today + dt.timedelta(days=10), total=_amount(rng, 60, 150)) for account in payers]

    # The collections runs of the days on which a step fell due (a disconnection also the four
    # days after, past a weekend or holiday that holds it): each case gets its steps on their
    # dates. The notices are recorded as sent; no demo customer is mailed.
    loaded = time.monotonic()
    days = {today}
    for due, delays in oldest_dues:
        for delay in delays:
            days.update(due + dt.timedelta(days=delay + extra) for extra in range(5 if delay == delays[-2] else 1))
    days = {d for d in days if today - dt.timedelta(days=HISTORY_DAYS) <= d <= today}
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
        for day in sorted(days):
            collections_run_inline(run_date=day, now=_at(day, 6))
    log(f"cash demo: bills, autopay and plans in {loaded - started:.1f}s; {counts['arrears']} accounts in arrears "
        f"through {len(days)} collections runs in {time.monotonic() - loaded:.1f}s")

    out.mkdir(parents=True, exist_ok=True)
    paid = today - dt.timedelta(days=1)
    final, _ = cases["final_notice"]
    items = [LockboxItem(account_number=b_account.account_number, amount=b.total, paid_date=paid,
                         item_reference=f"DEMO-LBX-{n:04d}", payer_name=b_account.customer.display_name)
             for n, (b_account, b) in enumerate(zip(payers[:3], payer_bills[:3]), start=1)]
    items.append(LockboxItem(account_number=scan_line(account_number=payers[3].account_number,
                                                      amount_due=payer_bills[3].amount_due),
                             amount=payer_bills[3].total, paid_date=paid, item_reference="DEMO-LBX-0004",
                             payer_name=payers[3].customer.display_name))
    items.append(LockboxItem(account_number=final.account_number, amount=Decimal("100.00"), paid_date=paid,
                             item_reference="DEMO-LBX-0005", payer_name=final.customer.display_name))
    # For the suspense worklist: an account that does not exist, a scan line misread, no account at all.
    wrong = scan_line(account_number=payers[0].account_number, amount_due=payer_bills[0].amount_due)
    misread = wrong[:-1] + str((int(wrong[-1]) + 3) % 10)
    items += [LockboxItem(account_number="0000999999", amount=Decimal("75.00"), paid_date=paid,
                          item_reference="DEMO-LBX-0006", payer_name="J. Mystery"),
              LockboxItem(account_number=misread, amount=Decimal("42.50"), paid_date=paid,
                          item_reference="DEMO-LBX-0007", tender_type="eft", payer_name=payers[0].customer.display_name),
              LockboxItem(account_number="", amount=Decimal("60.00"), paid_date=paid, item_reference="DEMO-LBX-0008",
                          payer_name=arrears[0].customer.display_name)]
    (out / LOCKBOX_FILE).write_text(write_lockbox_csv(items), encoding="utf-8")
    counts["lockbox lines"] = len(items)
    returns = autopay_returns_file_for(due_date=debit_due, returns={autopay[0].pk: "R01", autopay[1].pk: "R02"},
                                       created_at=_at(today, 7).replace(tzinfo=None))
    (out / RETURNS_FILE).write_text(returns, encoding="ascii", newline="\n")
    counts["returns"] = 2
    log(f"cash demo files: {out / LOCKBOX_FILE} ({len(items)} lines), {out / RETURNS_FILE} (2 returns)")
    return counts
