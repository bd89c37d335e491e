"""Writes for the customer & premise core. Views, API and tasks call these; each is atomic,
runs inside an audit context (who and why), and raises the exceptions defined here."""
from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pghistory
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Count, Q
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext as _

from cis.models import (
    Account,
    Commodity,
    Complaint,
    Contact,
    Customer,
    Move,
    MoveRequest,
    Note,
    Premise,
    ServiceAgreement,
    ServicePoint,
    normalise_text,
    phone_digits,
)
from cis.records import (
    AccountRecord,
    AgreementRecord,
    ConversionProblem,
    CustomerRecord,
    MoveRecord,
    PremiseRecord,
    ServicePointRecord,
)
from core import codes
from core.actors import Actor
from core.field_work import FieldWorkKind, field_work_cancel_for_source, field_work_request


class MoveError(Exception):
    """A move cannot be done as asked; the message says why, for the CSR."""


class AgreementOverlapError(MoveError):
    pass


def _user_id(user):
    return user.pk if user is not None and getattr(user, "is_authenticated", False) else None


def _audit(user, action: str) -> pghistory.context:
    """The audit context of a cis write: who (the user) and why (the action). Inside an outer
    context that already names them (a core.actors.Actor's audit block, a request), the
    outer user, action and reason stay: the outer caller says what is being done and why."""
    outer = getattr(pghistory.runtime._tracker, "value", None)
    known = outer.metadata if outer is not None else {}
    metadata: dict[str, object] = {}
    if not known.get("action"):
        metadata["action"] = action
    if known.get("user") is None:
        metadata["user"] = _user_id(user)
    if not known.get("reason"):
        metadata["reason"] = action
    return pghistory.context(**metadata)


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
    with transaction.atomic(), _audit(user, "customer_create"):
        customer.save()
    return customer


def customer_update(*, customer: Customer, user=None, **fields) -> Customer:
    for name, value in fields.items():
        setattr(customer, name, value)
    customer.refresh_search_fields()
    customer.full_clean()
    with transaction.atomic(), _audit(user, "customer_update"):
        customer.save()
    return customer


NO_BILL_CYCLE_MESSAGE = (
    "Choose a bill cycle: there is no default (set UTILIS_DEFAULT_BILL_CYCLE, or bill other "
    "accounts on this service point's route in a cycle first)."
)


def bill_cycle_default(*, service_point: ServicePoint | None = None) -> str:
    """The bill cycle a new account gets when none is chosen: UTILIS_DEFAULT_BILL_CYCLE when
    set, else the cycle most accounts served on the service point's read route are in (a
    cycle is billed right after its routes are read), else "" (the caller refuses)."""
    configured = str(getattr(settings, "UTILIS_DEFAULT_BILL_CYCLE", "") or "").strip()
    if configured:
        return configured
    if service_point is None or not service_point.route:
        return ""
    row = (
        Account.objects.filter(agreements__service_point__route=service_point.route)
        .exclude(bill_cycle_code="")
        .values("bill_cycle_code")
        .annotate(n=Count("id", distinct=True))
        .order_by("-n", "bill_cycle_code")
        .first()
    )
    return row["bill_cycle_code"] if row else ""


def bill_cycle_check(code: str) -> str:
    """`code` when billing knows it as a bill cycle; raises ValidationError on bill_cycle_code."""
    try:
        return codes.validate_code(codes.BILL_CYCLE_CODE, code)
    except codes.UnknownCodeError as exc:
        raise ValidationError({"bill_cycle_code": str(exc)}) from exc


def account_open(
    *, customer: Customer, opened_date: dt.date, user=None, service_point: ServicePoint | None = None,
    require_bill_cycle: bool = False, **fields,
) -> Account:
    """Open an account. Without a `bill_cycle_code` it gets `bill_cycle_default(service_point)`;
    with `require_bill_cycle` (API, move-in wizard) an account that still has none, or whose
    cycle billing does not know, is refused (ValidationError on bill_cycle_code)."""
    if not fields.get("bill_cycle_code"):
        fields["bill_cycle_code"] = bill_cycle_default(service_point=service_point)
    if require_bill_cycle:
        if not fields["bill_cycle_code"]:
            raise ValidationError({"bill_cycle_code": NO_BILL_CYCLE_MESSAGE})
        bill_cycle_check(fields["bill_cycle_code"])
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
    with transaction.atomic(), _audit(user, "account_open"):
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
        with transaction.atomic(), _audit(user, "agreement_create"):
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
    with transaction.atomic(), _audit(user, "move_out"):
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
    today: dt.date, user=None, bill_cycle_code: str = "",
) -> MoveResult:
    """Start `account`'s service at `service_point` on `move_in_date` with an initial read.
    An agreement of another account still open on that date is stopped the day before
    (the move clearing house) and a final read ordered for it; the outcome says so.

    An account without a bill cycle gets `bill_cycle_code`, else `bill_cycle_default(service_point)`
    (a move-in is what makes an account billable).

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
    with transaction.atomic(), _audit(user, "move_in"):
        if not account.bill_cycle_code:
            cycle = bill_cycle_code or bill_cycle_default(service_point=service_point)
            if cycle:
                account.bill_cycle_code = cycle
                account.save(update_fields=["bill_cycle_code", "updated_at"])
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
    with transaction.atomic(), _audit(user, "move_cancel"):
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
        with transaction.atomic(), _audit(user, "moves_apply_due"):
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
        if move.agreement_id is None:
            raise MoveError(f"Move {move.pk} is a move-out with no agreement to stop.")
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
    with transaction.atomic(), _audit(user, "contact_log"):
        contact.save()
    return contact


def note_add(*, account: Account, text: str, user=None, pinned: bool = False) -> Note:
    if not text.strip():
        raise ValidationError({"text": "A note needs some text."})
    with transaction.atomic(), _audit(user, "note_add"):
        return Note.objects.create(account=account, text=text.strip(), pinned=pinned, created_by=user if _user_id(user) else None)


def complaint_open(*, account: Account, category: str, description: str, user=None, **fields) -> Complaint:
    complaint = Complaint(account=account, category=category, description=description,
                          created_by=user if _user_id(user) else None, **fields)
    complaint.full_clean()
    with transaction.atomic(), _audit(user, "complaint_open"):
        complaint.save()
    return complaint


def complaint_update(*, complaint: Complaint, today: dt.date, user=None, **fields) -> Complaint:
    for name, value in fields.items():
        setattr(complaint, name, value)
    if complaint.status == Complaint.Status.RESOLVED and complaint.resolved_date is None:
        complaint.resolved_date = today
    complaint.full_clean()
    with transaction.atomic(), _audit(user, "complaint_update"):
        complaint.save()
    return complaint


# ---- move requests from customers (the portal) ------------------------------------------


def move_request_submit(
    *, account: Account, kind: str, today: dt.date, now: dt.datetime, user=None,
    service_point: ServicePoint | None = None, move_out_date: dt.date | None = None,
    move_in_date: dt.date | None = None, new_address: str = "", forwarding_address: str = "",
    phone: str = "", message: str = "",
) -> MoveRequest:
    """A customer asks to stop (move_out), start (move_in) or transfer service. Nothing about
    service changes: the request waits in the Pending Moves hub for a CSR
    (`move_request_complete` / `move_request_decline`).

    Raises ValidationError (field -> message) for a date in the past, a missing date or address
    the kind needs, a service point the account is not served at, or a second open request of
    the same kind for the account."""
    errors: dict[str, str] = {}
    if kind not in MoveRequest.Kind.values:
        errors["kind"] = _("Choose stop, start or transfer.")
    stops = kind in (MoveRequest.Kind.MOVE_OUT, MoveRequest.Kind.TRANSFER)
    starts = kind in (MoveRequest.Kind.MOVE_IN, MoveRequest.Kind.TRANSFER)
    if stops:
        if move_out_date is None:
            errors["move_out_date"] = _("Say the first day you no longer need service.")
        elif move_out_date < today:
            errors["move_out_date"] = _("The stop date is in the past: choose %(day)s or later.") % {"day": f"{today:%Y-%m-%d}"}
        if service_point is None:
            errors["service_point"] = _("Choose the address where service stops.")
        elif move_out_date is not None and not _agreements_on(
                service_point, max(move_out_date - dt.timedelta(days=1), today)).filter(account=account).exists():
            errors["service_point"] = _("This account has no service there on that date.")
    if starts:
        if move_in_date is None:
            errors["move_in_date"] = _("Say the first day you need service at the new address.")
        elif move_in_date < today:
            errors["move_in_date"] = _past_start(today)
        if not new_address.strip():
            errors["new_address"] = _("Give the address where service starts.")
    if kind == MoveRequest.Kind.TRANSFER and move_out_date and move_in_date \
            and (move_in_date - move_out_date).days > 60:
        errors["move_in_date"] = _("For a transfer the start is at most 60 days after the stop; ask for two moves instead.")
    if not errors and MoveRequest.objects.filter(account=account, kind=kind,
                                                 status=MoveRequest.Status.SUBMITTED).exists():
        errors["kind"] = _("A request of this kind is already waiting for us: withdraw it first to ask again.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic(), _audit(user, "move_request_submit"):
        return MoveRequest.objects.create(
            kind=kind, account=account, service_point=service_point if stops else None,
            move_out_date=move_out_date if stops else None, move_in_date=move_in_date if starts else None,
            new_address=new_address.strip() if starts else "", forwarding_address=forwarding_address.strip(),
            phone=phone.strip(), message=message.strip(), requested_by=user if _user_id(user) else None,
            requested_at=now,
        )


def _past_start(today: dt.date) -> str:
    return _("The start date is in the past: choose %(day)s or later.") % {"day": f"{today:%Y-%m-%d}"}


# How far ahead a new customer may ask to start: further out, plans change and the premise's
# occupant may differ; the CSR can still set a later date when completing.
APPLICATION_MAX_DAYS_AHEAD = 120


def premise_open_for_applications(premise: Premise | None) -> bool:
    """Whether a new customer may ask for service at the premise: it has an active service
    point (not a streetlight district)."""
    return premise is not None and premise.premise_type != Premise.PremiseType.STREETLIGHT_DISTRICT \
        and premise.service_points.filter(status=ServicePoint.Status.ACTIVE).exists()


def move_request_apply(
    *, premise: Premise | None, move_in_date: dt.date | None, today: dt.date, now: dt.datetime,
    applicant_kind: str, email: str, phone: str, first_name: str = "", last_name: str = "",
    organisation_name: str = "", id_type: str = "", id_number: str = "", language: str = "en",
    mailing_address_line1: str = "", mailing_address_line2: str = "", mailing_city: str = "",
    mailing_region: str = "", mailing_postal_code: str = "", message: str = "", user=None,
) -> MoveRequest:
    """Someone who is not a customer applies for service at `premise` from `move_in_date`.
    Nothing is created but the request: a CSR completes it in the Pending Moves hub
    (`move_request_complete` creates the customer, the account and the move-in) or declines it.

    Raises ValidationError (field -> message, in the active language) for a start date in the
    past or more than APPLICATION_MAX_DAYS_AHEAD days ahead, a premise not open to
    applications, a missing name, email or phone, an ID number without its type (or the
    reverse), a mailing address missing its city, province or postal code, or an application
    with this email already waiting."""
    errors: dict[str, str] = {}
    if not premise_open_for_applications(premise):
        errors["premise"] = _("Choose the address where you need service from the list.")
    if move_in_date is None:
        errors["move_in_date"] = _("Say the first day you need service.")
    elif move_in_date < today:
        errors["move_in_date"] = _past_start(today)
    elif (move_in_date - today).days > APPLICATION_MAX_DAYS_AHEAD:
        errors["move_in_date"] = _("Apply at most %(days)s days before you need service.") % {
            "days": APPLICATION_MAX_DAYS_AHEAD}
    first_name, last_name, organisation_name = first_name.strip(), last_name.strip(), organisation_name.strip()
    if applicant_kind == Customer.Kind.PERSON:
        if not last_name:
            errors["last_name"] = _("Give your last name.")
    elif applicant_kind == Customer.Kind.ORGANISATION:
        if not organisation_name:
            errors["organisation_name"] = _("Give the business name.")
    else:
        errors["applicant_kind"] = _("Say whether service is for a person or a business.")
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        errors["email"] = _("Give an email address we can write to.")
    if len(phone_digits(phone)) < 7:
        errors["phone"] = _("Give a phone number we can call about your application.")
    id_number = id_number.strip()
    if id_type and id_type not in Customer.IdType.values:
        errors["id_type"] = _("Choose a kind of ID from the list.")
    elif id_number and not id_type:
        errors["id_type"] = _("Say which kind of ID this number is.")
    elif id_type and not id_number:
        errors["id_number"] = _("Give the number of the ID, or leave both empty.")
    mailing = {"mailing_address_line1": mailing_address_line1.strip(), "mailing_address_line2":
               mailing_address_line2.strip(), "mailing_city": mailing_city.strip(),
               "mailing_region": mailing_region.strip(), "mailing_postal_code": mailing_postal_code.strip()}
    if any(mailing.values()):
        for name in ("mailing_address_line1", "mailing_city", "mailing_region", "mailing_postal_code"):
            if not mailing[name]:
                errors[name] = _("Give the whole mailing address, or leave it empty to get bills at the service "
                                 "address.")
    if not errors and MoveRequest.objects.filter(kind=MoveRequest.Kind.NEW_CUSTOMER, applicant_email=email,
                                                 status=MoveRequest.Status.SUBMITTED).exists():
        errors["email"] = _("An application with this email is already waiting for us; we will contact you "
                            "about it.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic(), _audit(user, "move_request_apply"):
        return MoveRequest.objects.create(
            kind=MoveRequest.Kind.NEW_CUSTOMER, premise=premise, move_in_date=move_in_date,
            applicant_kind=applicant_kind,
            applicant_first_name=first_name if applicant_kind == Customer.Kind.PERSON else "",
            applicant_last_name=last_name if applicant_kind == Customer.Kind.PERSON else "",
            applicant_organisation_name=organisation_name if applicant_kind == Customer.Kind.ORGANISATION else "",
            applicant_email=email, phone=phone.strip(), applicant_id_type=id_type, applicant_id_number=id_number,
            applicant_language=language if language in Customer.Language.values else Customer.Language.EN,
            message=message.strip(), requested_by=user if _user_id(user) else None, requested_at=now, **mailing)


def _applicant_customer(req: MoveRequest, *, user) -> Customer:
    """The customer an application becomes: its mailing address, else the premise's."""
    premise = req.premise
    assert premise is not None  # the check constraint says so
    own = bool(req.mailing_address_line1)
    return customer_create(
        user=user, kind=req.applicant_kind, first_name=req.applicant_first_name, last_name=req.applicant_last_name,
        organisation_name=req.applicant_organisation_name, email=req.applicant_email, phone=req.phone,
        id_type=req.applicant_id_type, id_number=req.applicant_id_number,
        preferred_language=req.applicant_language or Customer.Language.EN,
        mailing_address_line1=req.mailing_address_line1 if own else premise.address_line1,
        mailing_address_line2=req.mailing_address_line2 if own else premise.address_line2,
        mailing_city=req.mailing_city if own else premise.city,
        mailing_region=req.mailing_region if own else premise.region,
        mailing_postal_code=req.mailing_postal_code if own else premise.postal_code,
        mailing_country=premise.country,
    )


def _lock_open_request(move_request: MoveRequest) -> MoveRequest:
    locked = MoveRequest.objects.select_for_update().get(pk=move_request.pk)
    if locked.status != MoveRequest.Status.SUBMITTED:
        raise MoveError(_("This request is no longer waiting: it was handled or withdrawn already."))
    return locked


def move_request_complete(
    *, move_request: MoveRequest, today: dt.date, now: dt.datetime, user=None,
    move_in_service_point: ServicePoint | None = None, rate_code: str = "", bill_cycle_code: str = "",
    move_out_date: dt.date | None = None, move_in_date: dt.date | None = None, response: str = "",
) -> MoveRequest:
    """A CSR carries out a customer's request with the move services: `move_out_request` at the
    request's service point and/or `move_in_request` at `move_in_service_point` (found from the
    address the customer gave) on `rate_code`. The dates default to the request's. A new
    customer's application first creates the customer (`customer_create`, from the applicant's
    details) and opens the account (`account_open`, pending until a future start), then moves
    in at a service point of the premise applied for. All of it stands or falls together.

    Raises MoveError (the move services' own, or a request no longer open, or a move-in
    without its service point or rate, or an application's customer the checks refuse)."""
    with transaction.atomic(), _audit(user, "move_request_complete"):
        req = _lock_open_request(move_request)
        notes = []
        if req.kind == MoveRequest.Kind.NEW_CUSTOMER:
            in_date = move_in_date or req.move_in_date
            if move_in_service_point is None:
                raise MoveError("Choose the service point at the new address.")
            if move_in_service_point.premise_id != req.premise_id:
                raise MoveError(f"Service point {move_in_service_point.sp_number} is not at the address applied for.")
            if in_date is None:
                raise MoveError("This request names no date to start.")
            try:
                customer = _applicant_customer(req, user=user)
                req.account = account_open(
                    customer=customer, opened_date=in_date, user=user, service_point=move_in_service_point,
                    bill_cycle_code=bill_cycle_code,
                    status=Account.Status.PENDING if in_date > today else Account.Status.ACTIVE)
            except ValidationError as exc:
                raise MoveError("The applicant's details are refused: " + "; ".join(exc.messages)) from exc
            notes.append(f"New customer {customer.customer_number}, account {req.account.account_number}.")
        if req.kind in (MoveRequest.Kind.MOVE_OUT, MoveRequest.Kind.TRANSFER):
            out_date = move_out_date or req.move_out_date
            if req.service_point is None or out_date is None:  # the check constraint forbids it; say so anyway
                raise MoveError("This request names no service point or date to stop.")
            if req.account is None:
                raise MoveError("This request has no account to move out.")
            out = move_out_request(account=req.account, service_point=req.service_point,
                                   move_out_date=out_date, today=today, user=user)
            req.move_out = out.move
            notes.append(out.summary())
        if req.kind in (MoveRequest.Kind.MOVE_IN, MoveRequest.Kind.TRANSFER, MoveRequest.Kind.NEW_CUSTOMER):
            if req.account is None:  # the check constraint forbids it; say so anyway
                raise MoveError("This request has no account to move in.")
            if move_in_service_point is None:
                raise MoveError("Choose the service point at the new address.")
            if not rate_code:
                raise MoveError("A rate is required for a move-in.")
            in_date = move_in_date or req.move_in_date
            if in_date is None:
                raise MoveError("This request names no date to start.")
            result = move_in_request(account=req.account, service_point=move_in_service_point,
                                     move_in_date=in_date, rate_code=rate_code,
                                     today=today, user=user, bill_cycle_code=bill_cycle_code)
            req.move_in = result.move
            notes.append(result.summary())
        req.status = MoveRequest.Status.COMPLETED
        req.handled_by, req.handled_at = (user if _user_id(user) else None), now
        req.response = response.strip() or " ".join(notes)
        req.save(update_fields=["status", "handled_by", "handled_at", "response", "move_out", "move_in", "account"])
    return req


def move_request_decline(*, move_request: MoveRequest, reason: str, now: dt.datetime, user=None) -> MoveRequest:
    """A CSR turns a request down; the customer reads `reason`. Raises ValidationError (no
    reason) or MoveError (no longer open)."""
    if not reason.strip():
        raise ValidationError({"reason": "Say why, for the customer."})
    with transaction.atomic(), _audit(user, "move_request_decline"):
        req = _lock_open_request(move_request)
        req.status = MoveRequest.Status.DECLINED
        req.handled_by, req.handled_at, req.response = (user if _user_id(user) else None), now, reason.strip()
        req.save(update_fields=["status", "handled_by", "handled_at", "response"])
    return req


def move_request_withdraw(*, move_request: MoveRequest, now: dt.datetime, user=None) -> MoveRequest:
    """The customer takes back a request no CSR has handled. Raises MoveError otherwise."""
    with transaction.atomic(), _audit(user, "move_request_withdraw"):
        req = _lock_open_request(move_request)
        req.status = MoveRequest.Status.WITHDRAWN
        req.handled_at = now
        req.save(update_fields=["status", "handled_at"])
    return req


def account_bill_delivery_set(*, account: Account, delivery: str, user=None, reason: str = "") -> Account:
    """Paper or paperless (Account.BillDelivery) for the account's bills, audited with who and
    why (`reason`, else the action). Setting what is already set changes nothing and records
    nothing. Raises ValidationError for an unknown delivery."""
    if delivery not in Account.BillDelivery.values:
        raise ValidationError({"bill_delivery": f"Choose one of: {', '.join(Account.BillDelivery.values)}."})
    with transaction.atomic(), _audit(user, "account_bill_delivery_set"):
        locked = Account.objects.select_for_update().get(pk=account.pk)
        if locked.bill_delivery != delivery:
            why = {"reason": reason.strip()} if (reason or "").strip() else {}
            with pghistory.context(**why):  # the caller's words, over the action's name
                locked.bill_delivery = delivery
                locked.save(update_fields=["bill_delivery", "updated_at"])
    account.bill_delivery = locked.bill_delivery
    return locked


# ---- conversion load ------------------------------------------------------------------------


class ConversionError(Exception):
    """The records cannot be loaded; `problems` names each record that is wrong and why.
    Nothing was written."""

    def __init__(self, problems: list[ConversionProblem]):
        self.problems = problems
        shown = "; ".join(str(p) for p in problems[:20])
        more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
        super().__init__(f"{len(problems)} problem(s) in the conversion: {shown}{more}")


class ConversionNotEmptyError(ConversionError):
    """An initial conversion (`into_empty=True`) found customers, premises or accounts already."""


@dataclass
class ConversionResult:
    counts: dict[str, int]
    read_orders: int = 0


# What the load writes, in dependency order: (table key, model, record's number attribute,
# the number sequence cis's services hand new numbers from).
_CONVERTED = (
    ("customers", Customer, "customer_number", "cis_customer_number_seq"),
    ("premises", Premise, "premise_number", "cis_premise_number_seq"),
    ("service_points", ServicePoint, "sp_number", "cis_service_point_number_seq"),
    ("accounts", Account, "account_number", "cis_account_number_seq"),
    ("agreements", ServiceAgreement, "agreement_number", "cis_agreement_number_seq"),
)
_RECORD_NAMES = {"customers": "customer", "premises": "premise", "service_points": "service point",
                 "accounts": "account", "agreements": "agreement"}
_TRAILING_DIGITS = re.compile(r"([0-9]+)$")
_CHOICES = {
    "customer kind": set(Customer.Kind.values), "id type": set(Customer.IdType.values) | {""},
    "language": set(Customer.Language.values), "contact method": set(Customer.ContactMethod.values),
    "premise type": set(Premise.PremiseType.values), "commodity": set(Commodity.values),
    "service point status": set(ServicePoint.Status.values), "account status": set(Account.Status.values),
    "bill delivery": set(Account.BillDelivery.values),
    "move kind": set(Move.Kind.values), "move status": set(Move.Status.values),
}


def conversion_target_is_empty() -> bool:
    """True when cis holds no customer, premise or account: an initial conversion may load."""
    return not (Account.objects.exists() or Customer.objects.exists() or Premise.objects.exists())


class _Checker:
    def __init__(self) -> None:
        self.problems: list[ConversionProblem] = []

    def add(self, record: str, key, message: str) -> None:
        self.problems.append(ConversionProblem(record, str(key), message))

    def choice(self, record: str, key, what: str, value) -> None:
        if value not in _CHOICES[what]:
            self.add(record, key, f"unknown {what} {value!r}")

    def unique(self, record: str, values: list[str]) -> None:
        seen: set[str] = set()
        for value in values:
            if not value:
                self.add(record, "(blank)", "has no number")
            elif value in seen:
                self.add(record, value, "number given twice")
            seen.add(value)

    def loaded(self, record: str, items: Sequence, number: str) -> None:
        for item in items:
            if item.id is not None:
                self.add(record, getattr(item, number), f"already loaded (id {item.id})")

    def member(self, record: str, key, what: str, target, pool: set[int]) -> None:
        if id(target) not in pool:
            self.add(record, key, f"its {what} is not among the records loaded")


def _parents_first(items: list, record: str, number: str, check: _Checker) -> list:
    """`items` ordered so that a parent row is written before its children (the self foreign
    key is checked row by row). Input already in that order is kept as it is."""
    position = {id(item): i for i, item in enumerate(items)}
    if all(item.parent is None or position.get(id(item.parent), len(items)) < i for i, item in enumerate(items)):
        return items
    depth: dict[int, int] = {}
    for item in items:
        chain, node = [], item
        while node is not None and id(node) not in depth:
            if node in chain:
                check.add(record, getattr(item, number), "its parents form a loop")
                return items
            chain.append(node)
            node = node.parent if id(node.parent) in position or node.parent is None else None
        base = depth.get(id(node), -1) if node is not None else -1
        for offset, member in enumerate(reversed(chain), 1):
            depth[id(member)] = base + offset
    return sorted(items, key=lambda item: depth[id(item)])


def _conversion_check(customers, premises, service_points, accounts, agreements, moves) -> list[ConversionProblem]:
    check = _Checker()
    for record, items, number in (("customer", customers, "customer_number"), ("premise", premises, "premise_number"),
                                  ("service point", service_points, "sp_number"),
                                  ("account", accounts, "account_number"),
                                  ("agreement", agreements, "agreement_number")):
        check.unique(record, [getattr(item, number) for item in items])
        check.loaded(record, items, number)
    check.loaded("move", moves, "kind")

    for c in customers:
        check.choice("customer", c.customer_number, "customer kind", c.kind)
        check.choice("customer", c.customer_number, "id type", c.id_type)
        check.choice("customer", c.customer_number, "language", c.preferred_language)
        check.choice("customer", c.customer_number, "contact method", c.preferred_contact_method)
        if c.kind == Customer.Kind.PERSON and not c.last_name:
            check.add("customer", c.customer_number, "a person needs a last name")
        elif c.kind == Customer.Kind.ORGANISATION and not c.organisation_name:
            check.add("customer", c.customer_number, "an organisation needs a name")

    premise_ids = {id(p) for p in premises}
    for p in premises:
        check.choice("premise", p.premise_number, "premise type", p.premise_type)
        if not (p.address_line1 and p.city and p.region and p.postal_code):
            check.add("premise", p.premise_number, "needs an address line, city, region and postal code")
        if p.parent is not None:
            if p.parent is p:
                check.add("premise", p.premise_number, "is its own parent")
            check.member("premise", p.premise_number, "parent premise", p.parent, premise_ids)
        if p.latitude is not None and not -90 <= p.latitude <= 90:
            check.add("premise", p.premise_number, f"latitude {p.latitude} is out of range")
        if p.longitude is not None and not -180 <= p.longitude <= 180:
            check.add("premise", p.premise_number, f"longitude {p.longitude} is out of range")

    sp_ids = {id(sp) for sp in service_points}
    for sp in service_points:
        check.choice("service point", sp.sp_number, "commodity", sp.commodity)
        check.choice("service point", sp.sp_number, "service point status", sp.status)
        check.member("service point", sp.sp_number, "premise", sp.premise, premise_ids)
        if sp.read_sequence is not None and sp.read_sequence < 0:
            check.add("service point", sp.sp_number, "read sequence cannot be negative")

    customer_ids = {id(c) for c in customers}
    account_ids = {id(a) for a in accounts}
    for a in accounts:
        check.choice("account", a.account_number, "account status", a.status)
        check.choice("account", a.account_number, "bill delivery", a.bill_delivery)
        check.member("account", a.account_number, "customer", a.customer, customer_ids)
        if a.parent is not None:
            if a.parent is a:
                check.add("account", a.account_number, "is its own summary account")
            check.member("account", a.account_number, "summary account", a.parent, account_ids)
        if a.closed_date is not None and a.closed_date < a.opened_date:
            check.add("account", a.account_number, f"closed {a.closed_date} before it opened {a.opened_date}")
        if a.status == Account.Status.CLOSED and a.closed_date is None:
            check.add("account", a.account_number, "is closed but has no closed date")

    by_sp: dict[int, list] = {}
    for g in agreements:
        key = g.agreement_number
        check.member("agreement", key, "account", g.account, account_ids)
        check.member("agreement", key, "service point", g.service_point, sp_ids)
        if not g.rate_code:
            check.add("agreement", key, "has no rate code")
        if g.end_date is not None and g.end_date <= g.start_date:
            check.add("agreement", key, f"ends {g.end_date} on or before it starts {g.start_date}")
            continue
        if g.start_date < g.account.opened_date:
            check.add("agreement", key, f"starts {g.start_date} before account {g.account.account_number} opened")
        closed = g.account.closed_date
        if closed is not None and (g.end_date is None or g.end_date > closed):
            check.add("agreement", key, f"runs past {closed}, when account {g.account.account_number} closed")
        by_sp.setdefault(id(g.service_point), []).append(g)
    for group in by_sp.values():
        if len(group) < 2:
            continue
        group.sort(key=lambda g: g.start_date)
        for before, after in zip(group, group[1:]):
            if before.end_date is None or before.end_date > after.start_date:
                check.add("agreement", after.agreement_number,
                          f"overlaps agreement {before.agreement_number} on service point {after.service_point.sp_number}")

    agreement_ids = {id(g) for g in agreements}
    pending: set[tuple] = set()
    for index, m in enumerate(moves, 1):
        key = f"#{index} ({m.kind} {getattr(m.service_point, 'sp_number', '?')} {m.effective_date})"
        check.choice("move", key, "move kind", m.kind)
        check.choice("move", key, "move status", m.status)
        check.member("move", key, "account", m.account, account_ids)
        check.member("move", key, "service point", m.service_point, sp_ids)
        if m.kind == Move.Kind.MOVE_OUT:
            if m.agreement is None:
                check.add("move", key, "a move-out needs the agreement it stops")
            else:
                check.member("move", key, "agreement", m.agreement, agreement_ids)
                if m.agreement.account is not m.account or m.agreement.service_point is not m.service_point:
                    check.add("move", key, "its agreement is not the account's at that service point")
        elif m.kind == Move.Kind.MOVE_IN and not m.rate_code:
            check.add("move", key, "a move-in needs a rate code")
        if m.status == Move.Status.PENDING:
            slot = (m.kind, id(m.service_point), m.effective_date)
            if slot in pending:
                check.add("move", key, "the same move is pending twice")
            pending.add(slot)
    return check.problems


def _numbers_taken(model, field: str, numbers: list[str]) -> list[str]:
    if not numbers:
        return []
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        # One array parameter: an IN list of 100,000 numbers would pass PostgreSQL's 65,535.
        cursor.execute(f"SELECT {quote(field)} FROM {quote(model._meta.db_table)} WHERE {quote(field)} = ANY(%s)",
                       [numbers])
        return sorted(number for (number,) in cursor.fetchall())


def _reserve_ids(model, count: int) -> int:
    """The first of `count` consecutive primary keys now reserved for `model`."""
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        # The lock keeps other inserts from drawing ids inside the block until we commit.
        cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [model._meta.db_table])
        (sequence,) = cursor.fetchone()
        cursor.execute("SELECT nextval(%s)", [sequence])
        (first,) = cursor.fetchone()
        if count > 1:
            cursor.execute("SELECT setval(%s, %s)", [sequence, first + count - 1])
    return first


def _customer_row(c, now):
    # As Customer.refresh_search_fields computes them (the load bypasses save()).
    display = c.organisation_name if c.kind == Customer.Kind.ORGANISATION else " ".join(
        p for p in (c.first_name, c.last_name) if p)
    phones = " ".join(p for p in (phone_digits(c.phone), phone_digits(c.phone_alt)) if p)
    return (c.id, c.customer_number, c.kind, c.first_name, c.last_name, c.organisation_name, display, c.id_type,
            c.id_number, c.phone, c.phone_alt, (c.email or "").strip().lower(), c.mailing_address_line1,
            c.mailing_address_line2, c.mailing_city, c.mailing_region, c.mailing_postal_code, c.mailing_country,
            c.preferred_language, c.preferred_contact_method, None, normalise_text(display), phones,
            re.sub(r"[\s-]", "", c.id_number or "").upper(), now, now)


def _premise_row(p, now):
    search = normalise_text(f"{p.address_line1} {p.address_line2} {p.city} {p.postal_code}")
    return (p.id, p.address_line1, p.address_line2, p.city, p.region, p.postal_code, p.country, p.premise_number,
            p.premise_type, p.parent.id if p.parent is not None else None, p.meter_chamber, p.latitude, p.longitude,
            search, now, now)


def _service_point_row(sp, now):
    return (sp.id, sp.sp_number, sp.premise.id, sp.commodity, sp.status, sp.route, sp.read_sequence, sp.rate_class,
            now, now)


def _account_row(a, now):
    return (a.id, a.account_number, a.customer.id, a.status, a.parent.id if a.parent is not None else None,
            a.bill_cycle_code, a.bill_delivery, a.billing_address_line1, a.billing_address_line2, a.billing_city, a.billing_region,
            a.billing_postal_code, a.billing_country, a.opened_date, a.closed_date, now, now)


def _agreement_row(g, now):
    return (g.id, g.agreement_number, g.account.id, g.service_point.id, g.rate_code, g.start_date, g.end_date, now, now)


def _move_row(m, now):
    return (m.id, m.kind, m.status, m.account.id, m.service_point.id, m.effective_date, m.rate_code,
            m.agreement.id if m.agreement is not None else None, m.outcome, None, now, None)


_ROWS = {
    Customer: _customer_row, Premise: _premise_row, ServicePoint: _service_point_row, Account: _account_row,
    ServiceAgreement: _agreement_row, Move: _move_row,
}


_STAMPS = ["created_at", "updated_at"]
# The columns each row function above gives, in its order. A column added to a model without
# being added here makes the COPY fail (NOT NULL), never load a silent default.
_COLUMNS = {
    Customer: ["id", "customer_number", "kind", "first_name", "last_name", "organisation_name", "display_name",
               "id_type", "id_number", "phone", "phone_alt", "email", "mailing_address_line1",
               "mailing_address_line2", "mailing_city", "mailing_region", "mailing_postal_code", "mailing_country",
               "preferred_language", "preferred_contact_method", "portal_user_id", "search_name", "phone_search",
               "id_number_search", *_STAMPS],
    Premise: ["id", "address_line1", "address_line2", "city", "region", "postal_code", "country", "premise_number",
              "premise_type", "parent_id", "meter_chamber", "latitude", "longitude", "search_address", *_STAMPS],
    ServicePoint: ["id", "sp_number", "premise_id", "commodity", "status", "route", "read_sequence", "rate_class",
                   *_STAMPS],
    Account: ["id", "account_number", "customer_id", "status", "parent_id", "bill_cycle_code", "bill_delivery",
              "billing_address_line1",
              "billing_address_line2", "billing_city", "billing_region", "billing_postal_code", "billing_country",
              "opened_date", "closed_date", *_STAMPS],
    ServiceAgreement: ["id", "agreement_number", "account_id", "service_point_id", "rate_code", "start_date",
                       "end_date", *_STAMPS],
    Move: ["id", "kind", "status", "account_id", "service_point_id", "effective_date", "rate_code", "agreement_id",
           "outcome", "requested_by_id", "requested_at", "completed_at"],
}


def _copy(model, items: list, now: dt.datetime) -> None:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(c) for c in _COLUMNS[model])
    row = _ROWS[model]
    with connection.cursor() as cursor:
        with cursor.copy(f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN") as copy:
            write = copy.write_row
            for item in items:
                write(row(item, now))


def _advance_number_sequence(sequence: str, numbers: list[str]) -> None:
    """Move a number sequence past the converted numbers that reached its range, so the
    services never hand out a number the conversion used."""
    highest = max((int(m.group(1)) for n in numbers if (m := _TRAILING_DIGITS.search(n))), default=None)
    if highest is None:
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT last_value FROM {connection.ops.quote_name(sequence)}")
        (last,) = cursor.fetchone()
        if highest >= last:
            cursor.execute("SELECT setval(%s, %s)", [sequence, highest])


def conversion_load(
    *, name: str, customers: Sequence[CustomerRecord] = (), premises: Sequence[PremiseRecord] = (),
    service_points: Sequence[ServicePointRecord] = (), accounts: Sequence[AccountRecord] = (),
    agreements: Sequence[AgreementRecord] = (), moves: Sequence[MoveRecord] = (), into_empty: bool = False,
    actor: Actor | None = None, log: Callable[[str], None] = lambda line: None,
) -> ConversionResult:
    """Load a converted customer base (cis.records) in one transaction: customers, premises,
    service points, accounts, agreements, then moves, each table with one COPY.

    Checks first, and writes nothing when anything is wrong: numbers unique in the load and
    not already in cis, codes that cis knows, every reference pointing at a record of the
    same load, accounts closing after they open, agreements inside their account's life and
    not overlapping on a service point (the database's exclusion constraint holds anyway),
    move-outs naming the agreement they stop. A record already loaded (its `id` set) is
    refused too, so a conversion cannot be loaded twice.

    The audit trail records every row with the context {conversion: name, reason: the actor's
    reason or `name`}. A pending move gets its read order (core.field_work). The number
    sequences move past converted numbers in their range. Fills each record's `id`.

    Raises ConversionError (with .problems) for bad records, ConversionNotEmptyError when
    `into_empty` and cis already has customers, premises or accounts."""
    started = time.monotonic()
    actor = actor or Actor.system("conversion")
    tables: list[list[Any]] = [list(customers), list(premises), list(service_points), list(accounts),
                               list(agreements)]
    move_list: list[Any] = list(moves)
    problems = _conversion_check(tables[0], tables[1], tables[2], tables[3], tables[4], move_list)
    if problems:
        raise ConversionError(problems)
    check = _Checker()
    ordered: list[list[Any]] = [
        tables[0],
        _parents_first(tables[1], "premise", "premise_number", check),
        tables[2],
        _parents_first(tables[3], "account", "account_number", check),
        tables[4],
    ]
    if check.problems:
        raise ConversionError(check.problems)
    log(f"checked {sum(len(t) for t in tables) + len(move_list)} records in {time.monotonic() - started:.1f}s")

    counts: dict[str, int] = {}
    now = timezone.now()
    try:
        with transaction.atomic(), pghistory.context(user=actor.user_id, actor=actor.username,
                                                     action="conversion_load", conversion=name,
                                                     reason=actor.reason or name):
            read_orders = _conversion_write(ordered, tables, move_list, now=now, into_empty=into_empty, counts=counts,
                                            log=log)
    except BaseException:
        for items in [*tables, move_list]:
            for item in items:
                item.id = None  # nothing was written
        raise
    log(f"conversion {name} loaded in {time.monotonic() - started:.1f}s")
    return ConversionResult(counts=counts, read_orders=read_orders)


def _conversion_write(ordered: list[list], tables: list[list], moves: list, *, now: dt.datetime, into_empty: bool,
                      counts: dict[str, int], log: Callable[[str], None]) -> int:
    if into_empty and not conversion_target_is_empty():
        raise ConversionNotEmptyError([ConversionProblem("cis", "database", "already has customers, premises or accounts")])
    taken = [ConversionProblem(_RECORD_NAMES[key], number, "already exists in cis")
             for (key, model, number_field, _), items in zip(_CONVERTED, tables)
             for number in _numbers_taken(model, number_field, [getattr(item, number_field) for item in items])]
    if taken:
        raise ConversionError(taken)
    with connection.cursor() as cursor:
        # Django's foreign keys are DEFERRABLE INITIALLY DEFERRED; deferred, every row's
        # check queues until commit and the load slows quadratically (166,000 service
        # points took 8 minutes instead of 15 s). Rows are written parents first, so
        # checking each one at once is safe. This statement also carries pghistory's
        # context into the transaction, where the COPY triggers read it.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    models_: list[type[models.Model]] = [model for _, model, _, _ in _CONVERTED] + [Move]
    for model, items in zip(models_, tables + [moves]):
        if items:
            first = _reserve_ids(model, len(items))
            for offset, item in enumerate(items, first):
                item.id = offset
    for (key, model, number_field, sequence), items in zip(_CONVERTED, ordered):
        step = time.monotonic()
        _copy(model, items, now)
        counts[key] = len(items)
        log(f"{model._meta.verbose_name_plural}: {len(items)} rows in {time.monotonic() - step:.1f}s")
        _advance_number_sequence(sequence, [getattr(item, number_field) for item in items])
    _copy(Move, moves, now)
    counts["moves"] = len(moves)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    step = time.monotonic()
    read_orders = 0
    for m in moves:
        if m.status != Move.Status.PENDING:
            continue
        field_work_request(
            kind=FieldWorkKind.FINAL_READ if m.kind == Move.Kind.MOVE_OUT else FieldWorkKind.INITIAL_READ,
            due_date=m.effective_date, source=f"cis.move:{m.id}", account_id=m.account.id,
            service_point_id=m.service_point.id, reason=f"{Move.Kind(m.kind).label} {m.effective_date:%Y-%m-%d}",
        )
        read_orders += 1
    log(f"moves: {len(moves)} rows, {read_orders} read orders in {time.monotonic() - step:.1f}s")
    loaded = [model._meta.db_table for model in models_]
    # Fresh statistics once committed, or the first searches plan as if the tables were empty.
    transaction.on_commit(lambda: _analyze(loaded))
    return read_orders


def _analyze(tables: list[str]) -> None:
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
