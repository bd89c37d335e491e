"""Collection agency referral (issue 10): the accounts handed to an outside agency, in a file.

A case is referred when the run wrote it off (its final bill unpaid: the `write_off` step) or
when staff refer it from the Collections Hub (a closed account before the write-off, or one
the utility gives up on). `agency_export_create` adds every written-off case not referred
yet, writes all referrals not yet exported into one CSV file (the layout is LAYOUT below and in
docs/collections.md, "Agency referral file"), records it, and marks each referral with it: a
case is referred once (`AgencyReferral.case` is unique) and exported once (its `export`
is set in the same transaction as the file is recorded)."""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet

from billing.collections.models import CollectionCase
from billing.collections.output_models import AgencyExport, AgencyReferral
from billing.models import LedgerEntry
from billing.payments.models import Payment
from billing.services.ledger import account_balance
from cis.selectors import service_addresses
from core.actors import Actor
from core.money import money

ZERO = Decimal("0.00")
EXPORT_LOCK = (7310, 4242)  # one export at a time: two would not share a referral, but numbering them is simpler

# (column, what it holds): the file's header row, in this order.
LAYOUT: list[tuple[str, str]] = [
    ("referral_id", "Utilis' number of the referral (unique; quote it back)"),
    ("account_number", "The utility's account number"),
    ("customer_name", "Person or organisation name"),
    ("customer_type", "person or organisation"),
    ("phone", "Primary phone, as recorded"),
    ("email", "Email address, may be empty"),
    ("mailing_address_line1", "Mailing address"),
    ("mailing_address_line2", ""),
    ("mailing_city", ""),
    ("mailing_region", "Province / state code"),
    ("mailing_postal_code", ""),
    ("mailing_country", "ISO 3166 alpha-2"),
    ("service_address", "The premise the debt arose at"),
    ("case_opened", "YYYY-MM-DD the delinquency case opened"),
    ("oldest_due_date", "YYYY-MM-DD due date of the oldest unpaid bill"),
    ("written_off_date", "YYYY-MM-DD of the write-off; empty when referred before it"),
    ("amount_referred", "Amount owed, 2 decimals, no currency sign (e.g. 412.37)"),
    ("last_payment_date", "YYYY-MM-DD of the last payment received; empty if none"),
    ("reason", "Why it was referred"),
]


class AgencyError(Exception):
    """A referral or export that cannot be done (said to staff)."""


def _write_off_amount(case: CollectionCase) -> Decimal:
    entry = LedgerEntry.objects.filter(idempotency_key=f"write-off:{case.pk}").values_list("amount", flat=True).first()
    return money(-entry) if entry is not None else ZERO


def agency_refer(*, case: CollectionCase, reason: str, actor: Actor, now: dt.datetime) -> AgencyReferral:
    """Staff refer a case to the agency (before or after its write-off) for what is owed.
    Raises AgencyError (no reason, referred already, nothing owed, a paid case)."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise AgencyError("Say why the account is referred to the agency.")
    if case.status == CollectionCase.Status.PAID:
        raise AgencyError("The case is paid: there is nothing to refer.")
    amount = (_write_off_amount(case) if case.status == CollectionCase.Status.WRITTEN_OFF
              else account_balance(account_id=case.account_id))
    if amount <= 0:
        raise AgencyError(f"Account owes {amount}: there is nothing to refer.")
    try:
        with transaction.atomic(), actor.with_reason(reason[:200]).audit("agency_refer"):
            return AgencyReferral.objects.create(case=case, account_id=case.account_id, amount=money(amount),
                                                 reason=reason[:200], referred_by_id=actor.user_id, referred_at=now)
    except IntegrityError:
        raise AgencyError("The case was referred to the agency already.") from None


def written_off_not_referred() -> QuerySet[CollectionCase]:
    return CollectionCase.objects.filter(status=CollectionCase.Status.WRITTEN_OFF, agency_referral__isnull=True)


def referrals_pending() -> QuerySet[AgencyReferral]:
    return (AgencyReferral.objects.filter(export__isnull=True)
            .select_related("case", "account", "account__customer").order_by("referred_at", "id"))


def _rows(referrals: list[AgencyReferral]) -> list[list[str]]:
    account_ids = [r.account_id for r in referrals]
    addresses = service_addresses(account_ids)
    last_paid: dict[int, dt.date] = {}
    for account_id, received in (Payment.objects.filter(account_id__in=account_ids, payment_return__isnull=True)
                                 .order_by("account_id", "received_date").values_list("account_id", "received_date")):
        last_paid[account_id] = received
    rows = []
    for r in referrals:
        customer = r.account.customer
        written_off = r.case.closed_on if r.case.status == CollectionCase.Status.WRITTEN_OFF else None
        paid = last_paid.get(r.account_id)
        rows.append([
            str(r.pk), r.account.account_number, customer.display_name, customer.kind, customer.phone, customer.email,
            customer.mailing_address_line1, customer.mailing_address_line2, customer.mailing_city,
            customer.mailing_region, customer.mailing_postal_code, customer.mailing_country,
            addresses.get(r.account_id, ""), r.case.opened_on.isoformat(), r.case.oldest_due_date.isoformat(),
            written_off.isoformat() if written_off else "", f"{r.amount:.2f}", paid.isoformat() if paid else "",
            r.reason,
        ])
    return rows


def agency_file(referrals: list[AgencyReferral]) -> str:
    """The CSV text of `referrals` (header row, one row each; RFC 4180 quoting, CRLF)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([name for name, _ in LAYOUT])
    writer.writerows(_rows(referrals))
    return out.getvalue()


def agency_export_create(*, actor: Actor, now: dt.datetime) -> AgencyExport:
    """Refer every written-off case not referred yet, then write every referral not yet
    exported into one file, recorded with who and when. Raises AgencyError (nothing to export)."""
    actor = actor.with_reason(actor.reason or "Collection agency referral file")
    with transaction.atomic(), actor.audit("agency_export"):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", list(EXPORT_LOCK))
        for case in written_off_not_referred().order_by("closed_on", "id"):
            amount = _write_off_amount(case)
            if amount > 0:
                AgencyReferral.objects.create(case=case, account_id=case.account_id, amount=amount,
                                              reason=f"Written off on {case.closed_on}: final bill unpaid",
                                              referred_by_id=actor.user_id, referred_at=now)
        referrals = list(referrals_pending().select_for_update(of=("self",)))
        if not referrals:
            raise AgencyError("No referral is waiting: every written-off or referred account was exported already.")
        content = agency_file(referrals)
        sequence = AgencyExport.objects.filter(created_at__date=now.date()).count() + 1
        export = AgencyExport.objects.create(
            file_name=f"agency-{now:%Y%m%d}-{sequence:03d}.csv", content=content,
            file_hash=hashlib.sha256(content.encode()).hexdigest(), accounts=len(referrals),
            total_amount=sum((r.amount for r in referrals), ZERO), created_by_id=actor.user_id, actor=actor.username,
            created_at=now)
        AgencyReferral.objects.filter(pk__in=[r.pk for r in referrals], export__isnull=True).update(export=export)
    return export


def recent_exports(limit: int = 10) -> list[AgencyExport]:
    return list(AgencyExport.objects.all()[:limit])
