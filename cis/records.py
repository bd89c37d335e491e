"""Plain records of a customer base, for a bulk conversion load (cis.services.conversion_load).

A conversion from a legacy CIS (or the demo generator) builds these records, links them by
Python reference (an account's `customer` is the CustomerRecord it belongs to, a suite's
`parent` the building's PremiseRecord) and hands the lot to `conversion_load`, which checks
them, writes them in dependency order in one transaction and fills each record's `id` with
the row's primary key. No record touches the database by itself.

Derived columns (display and search names, phone and ID search keys, the premise's search
address) are computed by the load, as `save()` would; they are not record fields.

The code values the records take are the model choices, re-exported here as plain enums
(`Commodity`, `PremiseType`, `CustomerKind`, ...), so a caller needs nothing from cis.models.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from cis.models import Account, Commodity, Customer, Move, Premise, ServicePoint

__all__ = [
    "Commodity", "PremiseType", "ServicePointStatus", "AccountStatus", "CustomerKind", "IdType", "ContactMethod",
    "Language", "MoveKind", "MoveStatus",
    "CustomerRecord", "PremiseRecord", "ServicePointRecord", "AccountRecord", "AgreementRecord", "MoveRecord",
    "ConversionProblem",
]

PremiseType = Premise.PremiseType
ServicePointStatus = ServicePoint.Status
AccountStatus = Account.Status
CustomerKind = Customer.Kind
IdType = Customer.IdType
ContactMethod = Customer.ContactMethod
Language = Customer.Language
MoveKind = Move.Kind
MoveStatus = Move.Status


# eq=False: records are compared (and hashed) by identity, as the rows they become; slots keep
# 700,000 of them (a 100,000-account conversion) small and quick to build.
@dataclass(eq=False, slots=True)
class CustomerRecord:
    customer_number: str
    kind: str = CustomerKind.PERSON
    first_name: str = ""
    last_name: str = ""
    organisation_name: str = ""
    id_type: str = ""
    id_number: str = ""
    phone: str = ""
    phone_alt: str = ""
    email: str = ""
    mailing_address_line1: str = ""
    mailing_address_line2: str = ""
    mailing_city: str = ""
    mailing_region: str = ""
    mailing_postal_code: str = ""
    mailing_country: str = "CA"
    preferred_language: str = Language.EN
    preferred_contact_method: str = ContactMethod.EMAIL
    id: int | None = None  # filled by the load


@dataclass(eq=False, slots=True)
class PremiseRecord:
    premise_number: str
    address_line1: str
    city: str
    region: str
    postal_code: str
    premise_type: str = PremiseType.HOUSE
    address_line2: str = ""
    country: str = "CA"
    parent: PremiseRecord | None = None  # the building a suite belongs to
    meter_chamber: str = ""
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    id: int | None = None


@dataclass(eq=False, slots=True)
class ServicePointRecord:
    sp_number: str
    premise: PremiseRecord
    commodity: str
    status: str = ServicePointStatus.ACTIVE
    route: str = ""
    read_sequence: int | None = None
    rate_class: str = ""
    id: int | None = None


@dataclass(eq=False, slots=True)
class AccountRecord:
    account_number: str
    customer: CustomerRecord
    opened_date: dt.date
    status: str = AccountStatus.ACTIVE
    parent: AccountRecord | None = None  # the summary account billed for this one
    bill_cycle_code: str = ""
    bill_delivery: str = "paper"  # or "email" (paperless), as cis.models.BillDelivery
    billing_address_line1: str = ""
    billing_address_line2: str = ""
    billing_city: str = ""
    billing_region: str = ""
    billing_postal_code: str = ""
    billing_country: str = "CA"
    closed_date: dt.date | None = None
    id: int | None = None


@dataclass(eq=False, slots=True)
class AgreementRecord:
    """Account x service point x rate over [start_date, end_date) (end None: open)."""

    agreement_number: str
    account: AccountRecord
    service_point: ServicePointRecord
    rate_code: str
    start_date: dt.date
    end_date: dt.date | None = None
    id: int | None = None


@dataclass(eq=False, slots=True)
class MoveRecord:
    """A move the legacy system had: a pending one gets its read order when it is loaded
    (final read for a move-out, initial read for a move-in), as a CSR's request would."""

    kind: str
    account: AccountRecord
    service_point: ServicePointRecord
    effective_date: dt.date
    status: str = MoveStatus.PENDING
    rate_code: str = ""  # a move-in's rate
    agreement: AgreementRecord | None = None  # the agreement a move-out stops
    outcome: str = ""
    id: int | None = None


@dataclass(frozen=True)
class ConversionProblem:
    """One reason a conversion cannot load: which record (kind and its number, or its
    position for records without one) and what is wrong with it."""

    record: str  # "customer", "premise", "service point", "account", "agreement", "move"
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.record} {self.key}: {self.message}"
