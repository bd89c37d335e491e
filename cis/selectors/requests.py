"""Reads about what customers asked for themselves: their move requests, and the contacts and
complaints they recorded (the portal shows a login its own; the hubs show all)."""
from __future__ import annotations

from django.db.models import QuerySet

from cis.models import Complaint, Contact, MoveRequest


def move_requests_open() -> QuerySet[MoveRequest]:
    """Requests no CSR has handled yet, oldest first (the Pending Moves hub's worklist)."""
    return (MoveRequest.objects.filter(status=MoveRequest.Status.SUBMITTED)
            .select_related("account__customer", "service_point__premise", "premise", "requested_by")
            .order_by("requested_at", "id"))


def move_request_get(*, move_request_id: int, account_id: int | None = None) -> MoveRequest:
    """One request (of `account_id`, when given). Raises MoveRequest.DoesNotExist."""
    qs = MoveRequest.objects.select_related("account__customer", "service_point__premise", "premise", "requested_by",
                                            "handled_by", "move_out", "move_in__service_point__premise")
    if account_id is not None:
        qs = qs.filter(account_id=account_id)
    return qs.get(pk=move_request_id)


def move_requests_for_account(*, account_id: int, limit: int = 20) -> list[MoveRequest]:
    """The account's requests, newest first."""
    return list(MoveRequest.objects.filter(account_id=account_id).select_related("service_point__premise")
                .order_by("-requested_at", "-id")[:limit])


def contacts_made_by(*, account_id: int, user_id: int, limit: int = 20) -> list[Contact]:
    """The contacts this login recorded on the account, newest first."""
    return list(Contact.objects.filter(account_id=account_id, created_by_id=user_id)[:limit])


def complaints_made_by(*, account_id: int, user_id: int, limit: int = 20) -> list[Complaint]:
    """The complaints this login opened on the account, newest first (with status and resolution)."""
    return list(Complaint.objects.filter(account_id=account_id, created_by_id=user_id)[:limit])
