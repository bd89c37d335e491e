"""Writes for the customer & premise core. Views, API and tasks call these; each is atomic,
runs inside an audit context (who and why), and raises the exceptions defined here."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pghistory
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from cis.models import (
    Account,
    Complaint,
    Contact,
    Customer,
    Move,
    Note,
    ServiceAgreement,
    ServicePoint,
)
from core.field_work import FieldWorkKind, field_work_cancel_for_source, field_work_request


class MoveError(Exception):
    """A move cannot be done as asked; the message says why, for the CSR."""


class AgreementOverlapError(MoveError):
    pass


def _user_id(user):
    return user.pk if user is not None and getattr(user, "is_authenticated", False) else None


def _next_number(prefix: str, sequence: str, width: int = 8) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(%s)", [sequence])
        (value,) = cursor.fetchone()
    return f"{prefix}{value:0{width}d}"


def next_customer_number() -> str:
    return _next_number("C", "cis_customer_number_seq")


def next_account_number() -> str:
    return _next_number("", "cis_account_number_seq", width=10)


def next_agreement_number() -> str:
    return _next_number("SA", "cis_agreement_number_seq")


def next_premise_number() -> str:
    return _next_number("P", "cis_premise_number_seq")


def next_service_point_number() -> str:
    return _next_number("SP", "cis_service_point_number_seq")


@dataclass
class MoveResult:
    move: Move
    agreement: ServiceAgreement | None
    stopped_agreements: list[ServiceAgreement] = field(default_factory=list)
    read_orders: list = field(default_factory=list)
    applied: bool = False

    def summary(self) -> str:
        return self.move.outcome


def customer_create(*, user=None, **fields) -> Customer:
    """Create a customer (person or organisation). Raises ValidationError on bad fields."""
    customer = Customer(**fields)
    if not customer.customer_number:
        customer.customer_number = next_customer_number()
    customer.refresh_search_fields()
    customer.full_clean()
    with transaction.atomic(), pghistory.context(user=_user_id(user), reason="customer_create"):
        customer.save()
    return customer


def customer_update(*, customer: Customer, user=None, **fields) -> Customer:
    for name, value in fields.items():
        setattr(customer, name, value)
    customer.refresh_search_fields()
    customer.full_clean()
    with transaction.atomic(), pghistory.context(user=_user_id(user), reason="customer_update"):
        customer.save()
    return customer


def account_open(*, customer: Customer, opened_date: dt.date, user=None, **fields) -> Account:
    account = Account(customer=customer, opened_date=opened_date, **fields)
    if not account.account_number:
        account.account_number = next_account_number()
    if not account.billing_address_line1:
        account.billing_address_line1 = customer.mailing_address_line1
        account.billing_address_line2 = customer.mailing_address_line2
        account.billing_city = customer.mailing_city
        account.billing_region = customer.mailing_region
        account.billing_postal_code = customer.mailing_postal_code
        account.billing_country = customer.mailing_country
    account.full_clean()
    with transaction.atomic(), pghistory.context(user=_user_id(user), reason="account_open"):
        account.save()
    return account


def agreement_create(
    *, account: Account, service_point: ServicePoint, rate_code: str, start_date: dt.date,
    end_date: dt.date | None = None, user=None,
) -> ServiceAgreement:
    """Create an agreement. Raises AgreementOverlapError when the service point is already
    served in that period (the database's exclusion constraint decides)."""
    agreement = ServiceAgreement(
        agreement_number=next_agreement_number(), account=account, service_point=service_point,
        rate_code=rate_code, start_date=start_date, end_date=end_date,
    )
    try:
        with transaction.atomic(), pghistory.context(user=_user_id(user), reason="agreement_create"):
            agreement.save()
    except IntegrityError as exc:
        if "agreement_no_overlap_per_service_point" in str(exc):
            raise AgreementOverlapError(
                f"Service point {service_point.sp_number} already has an agreement overlapping "
                f"{start_date:%Y-%m-%d} to {end_date or 'open end'}."
            ) from exc
        raise
    return agreement


def _agreements_on(service_point: ServicePoint, day: dt.date):
    return ServiceAgreement.objects.filter(
        Q(end_date__isnull=True) | Q(end_date__gt=day), service_point=service_point, start_date__lte=day
    )


def move_out_request(
    *, account: Account, service_point: ServicePoint, move_out_date: dt.date, today: dt.date, user=None,
) -> MoveResult:
    """Stop `account`'s service at `service_point`: the agreement's last day served is
    `move_out_date - 1` (end is exclusive, so end_date = move_out_date) and a final read is
    ordered for `move_out_date`. Future dates wait as a pending move.

    Raises MoveError when the account has no agreement there on that date."""
    if move_out_date < account.opened_date:
        raise MoveError("The move-out date is before the account was opened.")
    agreement = _agreements_on(service_point, move_out_date - dt.timedelta(days=1)).filter(account=account).first()
    if agreement is None:
        raise MoveError(
            f"Account {account.account_number} has no agreement at {service_point.sp_number} "
            f"on {move_out_date - dt.timedelta(days=1):%Y-%m-%d}."
        )
    if agreement.start_date >= move_out_date:
        raise MoveError("The move-out date must be after the agreement started.")
    with transaction.atomic(), pghistory.context(user=_user_id(user), reason="move_out"):
        move = Move.objects.create(
            kind=Move.Kind.MOVE_OUT, account=account, service_point=service_point,
            effective_date=move_out_date, agreement=agreement, requested_by=user if _user_id(user) else None,
        )
        result = MoveResult(move=move, agreement=agreement)
        if move_out_date <= today:
            _apply(move, result, user=user)
        else:
            move.outcome = (
                f"Pending: agreement {agreement.agreement_number} will stop on {move_out_date:%Y-%m-%d}; "
                f"a final read is ordered for that day."
            )
            move.save(update_fields=["outcome"])
            result.read_orders.append(_order_read(move, FieldWorkKind.FINAL_READ, user))
    return result


def move_in_request(
    *, account: Account, service_point: ServicePoint, move_in_date: dt.date, rate_code: str,
    today: dt.date, user=None,
) -> MoveResult:
    """Start `account`'s service at `service_point` on `move_in_date` with an initial read.
    An agreement of another account still open on that date is stopped the day before
    (the move clearing house) and a final read ordered for it; the outcome says so.

    Raises MoveError when the account already has service there, or when an agreement
    starting after `move_in_date` is in the way."""
    if not rate_code:
        raise MoveError("A rate is required for a move-in.")
    if service_point.status != ServicePoint.Status.ACTIVE:
        raise MoveError(f"Service point {service_point.sp_number} is {service_point.get_status_display().lower()}.")
    existing = _agreements_on(service_point, move_in_date)
    if existing.filter(account=account).exists():
        raise MoveError(f"Account {account.account_number} already has service at {service_point.sp_number} on that date.")
    later = ServiceAgreement.objects.filter(service_point=service_point, start_date__gt=move_in_date).first()
    if later is not None:
        raise MoveError(
            f"Agreement {later.agreement_number} starts at this service point on {later.start_date:%Y-%m-%d}, "
            "after the move-in date; change or cancel it first."
        )
    with transaction.atomic(), pghistory.context(user=_user_id(user), reason="move_in"):
        move = Move.objects.create(
            kind=Move.Kind.MOVE_IN, account=account, service_point=service_point,
            effective_date=move_in_date, rate_code=rate_code, requested_by=user if _user_id(user) else None,
        )
        result = MoveResult(move=move, agreement=None)
        if move_in_date <= today:
            _apply(move, result, user=user)
        else:
            move.outcome = f"Pending: service starts on {move_in_date:%Y-%m-%d}; an initial read is ordered."
            move.save(update_fields=["outcome"])
            result.read_orders.append(_order_read(move, FieldWorkKind.INITIAL_READ, user))
    return result


def move_cancel(*, move: Move, user=None) -> Move:
    if move.status != Move.Status.PENDING:
        raise MoveError("Only a pending move can be cancelled.")
    with transaction.atomic(), pghistory.context(user=_user_id(user), reason="move_cancel"):
        move.status = Move.Status.CANCELLED
        move.outcome += " Cancelled."
        move.save(update_fields=["status", "outcome"])
        field_work_cancel_for_source(source=f"cis.move:{move.pk}")
    return move


def moves_apply_due(*, today: dt.date, user=None) -> int:
    """Apply every pending move dated today or earlier, oldest first. Safe to run twice:
    each move is locked and skipped once completed."""
    applied = 0
    ids = list(
        Move.objects.filter(status=Move.Status.PENDING, effective_date__lte=today)
        # Move-outs before move-ins of the same day: a move-in's clearing house would otherwise
        # end the agreement first and the move-out would find nothing left to stop.
        .order_by("effective_date", "-kind", "id").values_list("id", flat=True)
    )
    for move_id in ids:
        with transaction.atomic(), pghistory.context(user=_user_id(user), reason="moves_apply_due"):
            move = Move.objects.select_for_update(skip_locked=True).filter(pk=move_id, status=Move.Status.PENDING).first()
            if move is None:
                continue
            try:
                with transaction.atomic():
                    _apply(move, MoveResult(move=move, agreement=move.agreement), user=user)
                applied += 1
            except MoveError as exc:
                move.outcome = f"Could not apply: {exc}"
                move.save(update_fields=["outcome"])
    return applied


def _order_read(move: Move, order_type: str, user):
    return field_work_request(
        kind=order_type, due_date=move.effective_date, source=f"cis.move:{move.pk}",
        account_id=move.account_id, service_point_id=move.service_point_id,
        reason=f"{move.get_kind_display()} {move.effective_date:%Y-%m-%d}", user=user,
    )


def _apply(move: Move, result: MoveResult, *, user) -> None:
    day = move.effective_date
    notes: list[str] = []
    if move.kind == Move.Kind.MOVE_OUT:
        agreement = ServiceAgreement.objects.select_for_update().get(pk=move.agreement_id)
        if agreement.end_date is not None and agreement.end_date <= day:
            raise MoveError(f"Agreement {agreement.agreement_number} already ended on {agreement.end_date:%Y-%m-%d}.")
        agreement.end_date = day
        agreement.save(update_fields=["end_date", "updated_at"])
        result.agreement = agreement
        result.read_orders.append(_order_read(move, FieldWorkKind.FINAL_READ, user))
        notes.append(
            f"Agreement {agreement.agreement_number} stopped: last day served "
            f"{day - dt.timedelta(days=1):%Y-%m-%d}. Final read ordered for {day:%Y-%m-%d}."
        )
        _close_account_if_no_service(move.account, day, notes)
    else:
        for other in _agreements_on(move.service_point, day).select_for_update().exclude(account=move.account):
            if other.start_date >= day:
                raise MoveError(f"Agreement {other.agreement_number} starts on {other.start_date:%Y-%m-%d}.")
            other.end_date = day
            other.save(update_fields=["end_date", "updated_at"])
            result.stopped_agreements.append(other)
            order = field_work_request(
                kind=FieldWorkKind.FINAL_READ, due_date=day, source=f"cis.move:{move.pk}:clear:{other.pk}",
                account_id=other.account_id, service_point_id=other.service_point_id,
                reason=f"Move clearing house: stopped for move-in of {move.account.account_number}", user=user,
            )
            result.read_orders.append(order)
            notes.append(
                f"Move clearing house: agreement {other.agreement_number} of account "
                f"{other.account.account_number} stopped, last day served {day - dt.timedelta(days=1):%Y-%m-%d}; "
                "final read ordered."
            )
        try:
            with transaction.atomic():
                agreement = ServiceAgreement.objects.create(
                    agreement_number=next_agreement_number(), account=move.account,
                    service_point=move.service_point, rate_code=move.rate_code, start_date=day,
                )
        except IntegrityError as exc:
            raise AgreementOverlapError("The service point is already served on that date.") from exc
        result.agreement = agreement
        move.agreement = agreement
        result.read_orders.append(_order_read(move, FieldWorkKind.INITIAL_READ, user))
        notes.append(
            f"Agreement {agreement.agreement_number} started {day:%Y-%m-%d} on rate {move.rate_code}. "
            f"Initial read ordered for {day:%Y-%m-%d}."
        )
        account = move.account
        if account.status != Account.Status.ACTIVE:
            account.status = Account.Status.ACTIVE
            account.closed_date = None
            account.save(update_fields=["status", "closed_date", "updated_at"])
    move.status = Move.Status.COMPLETED
    move.completed_at = timezone.now()
    move.outcome = " ".join(notes)
    move.save(update_fields=["status", "completed_at", "outcome", "agreement"])
    result.applied = True


def _close_account_if_no_service(account: Account, day: dt.date, notes: list[str]) -> None:
    still_served = ServiceAgreement.objects.filter(account=account).filter(Q(end_date__isnull=True) | Q(end_date__gt=day)).exists()
    if not still_served and account.status != Account.Status.CLOSED:
        account.status = Account.Status.CLOSED
        account.closed_date = day
        account.save(update_fields=["status", "closed_date", "updated_at"])
        notes.append(f"Account {account.account_number} closed on {day:%Y-%m-%d} (no service left).")


def contact_log(*, account: Account, subject: str, user=None, **fields) -> Contact:
    contact = Contact(account=account, subject=subject, created_by=user if _user_id(user) else None, **fields)
    contact.full_clean()
    with transaction.atomic(), pghistory.context(user=_user_id(user), reason="contact_log"):
        contact.save()
    return contact


def note_add(*, account: Account, text: str, user=None, pinned: bool = False) -> Note:
    if not text.strip():
        raise ValidationError({"text": "A note needs some text."})
    with transaction.atomic(), pghistory.context(user=_user_id(user), reason="note_add"):
        return Note.objects.create(account=account, text=text.strip(), pinned=pinned, created_by=user if _user_id(user) else None)


def complaint_open(*, account: Account, category: str, description: str, user=None, **fields) -> Complaint:
    complaint = Complaint(account=account, category=category, description=description,
                          created_by=user if _user_id(user) else None, **fields)
    complaint.full_clean()
    with transaction.atomic(), pghistory.context(user=_user_id(user), reason="complaint_open"):
        complaint.save()
    return complaint


def complaint_update(*, complaint: Complaint, today: dt.date, user=None, **fields) -> Complaint:
    for name, value in fields.items():
        setattr(complaint, name, value)
    if complaint.status == Complaint.Status.RESOLVED and complaint.resolved_date is None:
        complaint.resolved_date = today
    complaint.full_clean()
    with transaction.atomic(), pghistory.context(user=_user_id(user), reason="complaint_update"):
        complaint.save()
    return complaint
