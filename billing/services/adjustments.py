"""Adjustments with maker-checker: a credit adjustment larger than
UTILIS_ADJUSTMENT_APPROVAL_LIMIT does not post when asked. It becomes a pending
AdjustmentRequest that a second person, with the billing or administrator role and never the
one who asked, approves (posting it through the ledger) or rejects with a reason.

Charges (positive adjustments) and credits at or below the limit post at once, as before.
The database holds the rules too (billing.models.AdjustmentRequest's constraints and
triggers); the checks here give the person a precise message first."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Sum

from billing.models import AdjustmentRequest, LedgerEntry
from billing.services.ledger import _validate_amount, ledger_post_adjustment
from core.actors import Actor
from core.money import money
from core.roles import Role, has_role

CHECKER_ROLES = (Role.BILLING, Role.ADMIN)


class AdjustmentError(Exception):
    """The request cannot be decided: not pending any more, the checker is the maker, or the
    checker's role may not approve adjustments."""


@dataclass(frozen=True)
class AdjustmentOutcome:
    """What asking for an adjustment did: `entry` when it posted at once, `request` when it
    waits for approval (exactly one of the two is set)."""

    entry: LedgerEntry | None = None
    request: AdjustmentRequest | None = None

    @property
    def posted(self) -> bool:
        return self.entry is not None


def adjustment_approval_limit() -> Decimal:
    """The largest credit that posts without a second person (a positive amount)."""
    return money(Decimal(settings.UTILIS_ADJUSTMENT_APPROVAL_LIMIT))


def adjustment_needs_approval(amount: Decimal) -> bool:
    """A credit (negative amount) larger than the limit waits for a checker."""
    return amount < 0 and -amount > adjustment_approval_limit()


def adjustment_submit(*, account_id: int, amount, effective_date: dt.date, reason: str, actor: Actor,
                      now: dt.datetime) -> AdjustmentOutcome:
    """Ask for an adjustment: positive charges the customer, negative credits them. Posts at
    once unless it is a credit above the approval limit, which becomes a pending request.
    Raises ValidationError for a bad amount or a missing reason, or when a request would have
    no maker (the system cannot ask for one)."""
    value = _validate_amount(amount)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the account is adjusted."})
    if not adjustment_needs_approval(value):
        with actor.with_reason(reason).audit("billing.adjustment.post"):
            entry = ledger_post_adjustment(account_id=account_id, amount=value, effective_date=effective_date,
                                           reason=reason, user=actor)
        return AdjustmentOutcome(entry=entry)
    if actor.user_id is None:
        raise ValidationError("A credit above the approval limit needs a person who asks for it.")
    with transaction.atomic(), actor.with_reason(reason).audit("billing.adjustment.request"):
        request = AdjustmentRequest.objects.create(
            account_id=account_id, amount=value, effective_date=effective_date, reason=reason,
            requested_by_id=actor.user_id, requested_at=now,
        )
    return AdjustmentOutcome(request=request)


def _checker_may_decide(request: AdjustmentRequest, actor: Actor) -> None:
    if request.status != AdjustmentRequest.Status.PENDING:
        who = f" by {request.decided_by}" if request.decided_by_id else ""
        raise AdjustmentError(f"Adjustment request {request.pk} was already {request.get_status_display().lower()}{who}.")
    if actor.user_id is None:
        raise AdjustmentError("An adjustment request is decided by a person, not by the system.")
    if actor.user_id == request.requested_by_id:
        raise AdjustmentError(f"You asked for adjustment request {request.pk}: another person must approve or reject it.")
    checker = get_user_model().objects.filter(pk=actor.user_id).first()
    if checker is None or not has_role(checker, *CHECKER_ROLES):
        raise AdjustmentError("Only billing staff or an administrator may approve or reject adjustments.")


def _locked(request_id: int) -> AdjustmentRequest:
    try:
        return AdjustmentRequest.objects.select_for_update(of=("self",)).select_related(
            "requested_by", "decided_by").get(pk=request_id)
    except AdjustmentRequest.DoesNotExist as exc:
        raise AdjustmentError(f"There is no adjustment request {request_id}.") from exc


def adjustment_approve(*, request_id: int, actor: Actor, now: dt.datetime) -> AdjustmentRequest:
    """Approve a pending request: post its ledger entry (created_by the checker; the entry's
    reason names the maker and the checker) and mark the request approved, in one transaction.
    Raises AdjustmentError (not pending, the checker is the maker, no checker role)."""
    with transaction.atomic():
        request = _locked(request_id)
        _checker_may_decide(request, actor)
        maker = request.requested_by.get_username()
        note = f"{request.reason} (asked by {maker}, approved by {actor.username})"
        with actor.with_reason(f"approved adjustment request {request.pk} asked by {maker}").audit(
                "billing.adjustment.approve"):
            entry = ledger_post_adjustment(
                account_id=request.account_id, amount=request.amount, effective_date=request.effective_date,
                reason=note, user=actor, idempotency_key=f"adjustment-request:{request.pk}",
            )
            request.status = AdjustmentRequest.Status.APPROVED
            request.decided_by_id, request.decided_at, request.ledger_entry = actor.user_id, now, entry
            request.save(update_fields=["status", "decided_by", "decided_at", "ledger_entry"])
    return request


def adjustment_reject(*, request_id: int, reason: str, actor: Actor, now: dt.datetime) -> AdjustmentRequest:
    """Reject a pending request with a reason; nothing is posted. Raises ValidationError (no
    reason) and AdjustmentError (as adjustment_approve)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the adjustment is rejected."})
    with transaction.atomic():
        request = _locked(request_id)
        _checker_may_decide(request, actor)
        with actor.with_reason(reason).audit("billing.adjustment.reject"):
            request.status = AdjustmentRequest.Status.REJECTED
            request.decided_by_id, request.decided_at, request.decision_reason = actor.user_id, now, reason
            request.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    return request


# ---- reads (the hub's page, the account panel, the navigation's count) -----------------------

def adjustment_requests_pending(*, account_id: int | None = None) -> list[AdjustmentRequest]:
    qs = AdjustmentRequest.objects.filter(status=AdjustmentRequest.Status.PENDING)
    if account_id is not None:
        qs = qs.filter(account_id=account_id)
    return list(qs.select_related("account", "requested_by").order_by("requested_at", "id"))


def adjustment_requests_decided(*, account_id: int | None = None, limit: int = 20) -> list[AdjustmentRequest]:
    qs = AdjustmentRequest.objects.exclude(status=AdjustmentRequest.Status.PENDING)
    if account_id is not None:
        qs = qs.filter(account_id=account_id)
    return list(qs.select_related("account", "requested_by", "decided_by").order_by("-decided_at", "-id")[:limit])


@dataclass(frozen=True)
class PendingTotals:
    count: int
    credit: Decimal  # the credits waiting, as a positive amount


def adjustment_pending_totals() -> PendingTotals:
    row = AdjustmentRequest.objects.filter(status=AdjustmentRequest.Status.PENDING).aggregate(
        n=Count("id"), total=Sum("amount"))
    return PendingTotals(count=row["n"] or 0, credit=-(row["total"] or Decimal("0.00")))
