"""Deposit reads: an account's deposits (with instalments, held-deposit entries, interest and
refund), the Deposit Hub's lists (required, billed, held, due for refund, cheques to pay,
open recommendations), the recent reviews, and the bill notes."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Exists, F, OuterRef, Prefetch, QuerySet, Sum

from billing.deposits import rules
from billing.deposits.models import (
    Deposit,
    DepositEntry,
    DepositInstalment,
    DepositRecommendation,
    DepositRefund,
    DepositReview,
)

ZERO = Decimal("0.00")


def _with_details(qs: QuerySet[Deposit]) -> QuerySet[Deposit]:
    return (qs.select_related("deposit_class", "account__customer", "waived_by", "created_by")
            .prefetch_related(Prefetch("instalments", queryset=DepositInstalment.objects.order_by("number")),
                              Prefetch("entries", queryset=DepositEntry.objects.order_by("effective_date", "id")),
                              "interest_credits"))


def account_deposits(*, account_id: int) -> list[Deposit]:
    return list(_with_details(Deposit.objects.filter(account_id=account_id)).order_by("-required_on", "-id"))


@dataclass(frozen=True)
class DepositRow:
    deposit: Deposit
    billed: Decimal
    unpaid: Decimal
    scheduled: int


def _rows(qs: QuerySet[Deposit], limit: int) -> list[DepositRow]:
    out = []
    for deposit in _with_details(qs).order_by("required_on", "id")[:limit]:
        instalments = list(deposit.instalments.all())
        billed = sum((i.amount for i in instalments if i.status == DepositInstalment.Status.BILLED), ZERO)
        paid = sum((i.paid for i in instalments if i.status == DepositInstalment.Status.BILLED), ZERO)
        scheduled = sum(1 for i in instalments if i.status == DepositInstalment.Status.SCHEDULED)
        out.append(DepositRow(deposit, billed, billed - paid, scheduled))
    return out


def hub_lists(*, on: dt.date, limit: int = 200) -> dict:
    """The Deposit Hub: active deposits not yet billed (required), billed with instalments still
    unpaid (billed), holding money (held), and those whose account reached good payment
    history (due for refund); cheque refunds to pay; open recommendations."""
    active = Deposit.objects.filter(status=Deposit.Status.ACTIVE)
    billed_any = DepositInstalment.objects.filter(deposit=OuterRef("pk")).exclude(status=DepositInstalment.Status.SCHEDULED)
    unpaid = DepositInstalment.objects.filter(deposit=OuterRef("pk"), status=DepositInstalment.Status.BILLED,
                                              paid__lt=F("amount"))
    required = active.annotate(any_billed=Exists(billed_any)).filter(any_billed=False)
    billed = active.annotate(open_billed=Exists(unpaid)).filter(open_billed=True)
    held = active.filter(held_amount__gt=0)
    due = []
    for row in _rows(held, limit):
        history = rules.payment_history(account_ids=[row.deposit.account_id], since=row.deposit.required_on, as_of=on,
                                        deposit_class=row.deposit.deposit_class)
        if history.good:
            due.append(row)
    return {
        "required": _rows(required, limit), "billed": _rows(billed, limit), "held": _rows(held, limit), "due": due,
        "held_total": held.aggregate(s=Sum("held_amount"))["s"] or ZERO,
        "cheques": list(DepositRefund.objects.filter(method=DepositRefund.Method.CHEQUE, status=DepositRefund.Status.PENDING)
                        .select_related("deposit", "account").order_by("created_at")[:limit]),
        "recommendations": list(DepositRecommendation.objects.filter(status=DepositRecommendation.Status.OPEN)
                                .select_related("account__customer", "deposit_class", "deposit")
                                .order_by("recommended_on", "id")[:limit]),
    }


def recent_reviews(limit: int = 5) -> list[DepositReview]:
    return list(DepositReview.objects.order_by("-run_date", "-id")[:limit])


def account_deposit_summary(*, account_id: int, on: dt.date) -> dict:
    """The account 360 panel: its deposits, what is held, interest to date, open recommendations."""
    deposits = account_deposits(account_id=account_id)
    active = [d for d in deposits if d.status == Deposit.Status.ACTIVE]
    rows = [{"deposit": d, "accrued": rules.deposit_interest(d, until=on)[0]} for d in active]
    return {"deposits": deposits, "active": rows,
            "held": sum((d.held_amount for d in active), ZERO),
            "recommendations": list(DepositRecommendation.objects.filter(account_id=account_id,
                                                                         status=DepositRecommendation.Status.OPEN))}


def bill_deposit_note(bill) -> str:
    """What a bill says about deposits: the instalment it carries, or the deposit applied."""
    parts = []
    for instalment in DepositInstalment.objects.filter(bill_id=bill.pk).select_related("deposit__deposit_class"):
        parts.append(f"Includes security deposit instalment {instalment.number} of "
                     f"{instalment.deposit.deposit_class.instalments}: {instalment.amount}.")
    applied = DepositEntry.objects.filter(account_id=bill.account_id, kind=DepositEntry.Kind.APPLIED,
                                          effective_date=bill.bill_date, ledger_entry__reason__contains=f"bill {bill.bill_number}")
    for entry in applied:
        parts.append(f"Security deposit of {-entry.amount} applied to this bill.")
    return " ".join(parts)
