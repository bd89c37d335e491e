"""Customers, accounts, premises, service points, service agreements, moves, and the
account's contacts, notes and complaints. Every tracked model keeps an audit trail in
PostgreSQL (django-pghistory triggers): who, when, and the row before and after."""
from __future__ import annotations

import re

import pghistory
from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import RangeOperators
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import F, Func, Q, Value
from django.db.models.functions import Upper
from unidecode import unidecode

from core.commodities import Commodity  # noqa: F401  (cis.models.Commodity stays importable)
from core.ranges import DateRange

def audited():
    """Fresh trackers for each model (pghistory binds a tracker to the model it decorates)."""
    return (pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())


def normalise_text(value: str) -> str:
    """Lower-case, accents removed, whitespace folded: what search compares against."""
    return " ".join(unidecode(value or "").lower().split())


def phone_digits(value: str) -> str:
    digits = re.sub(r"\D", "", value or "")
    # North American numbers: a leading country code 1 is dropped so 1-416-... finds 416-...
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return digits


class AddressFields(models.Model):
    address_line1 = models.CharField(max_length=200)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100)
    region = models.CharField("province / state", max_length=50)
    postal_code = models.CharField(max_length=20)
    country = models.CharField(max_length=2, default="CA")

    class Meta:
        abstract = True

    def address_text(self) -> str:
        line = self.address_line1 + (f", {self.address_line2}" if self.address_line2 else "")
        return f"{line}, {self.city}, {self.region} {self.postal_code}"


@pghistory.track(*audited())
class Customer(models.Model):
    class Kind(models.TextChoices):
        PERSON = "person", "Person"
        ORGANISATION = "organisation", "Organisation"

    class IdType(models.TextChoices):
        DRIVERS_LICENCE = "drivers_licence", "Driver's licence"
        PASSPORT = "passport", "Passport"
        HEALTH_CARD = "health_card", "Health card"
        BUSINESS_NUMBER = "business_number", "Business number"
        OTHER = "other", "Other"

    class ContactMethod(models.TextChoices):
        PHONE = "phone", "Phone"
        EMAIL = "email", "Email"
        MAIL = "mail", "Mail"
        SMS = "sms", "Text message"

    class Language(models.TextChoices):
        EN = "en", "English"
        FR = "fr", "French"
        ES = "es", "Spanish"

    customer_number = models.CharField(max_length=20, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.PERSON)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    organisation_name = models.CharField(max_length=200, blank=True)
    display_name = models.CharField(max_length=250, editable=False)
    id_type = models.CharField(max_length=30, choices=IdType.choices, blank=True)
    id_number = models.CharField(max_length=50, blank=True)
    phone = models.CharField(max_length=30, blank=True)
    phone_alt = models.CharField("alternate phone", max_length=30, blank=True)
    email = models.EmailField(blank=True)
    mailing_address_line1 = models.CharField(max_length=200, blank=True)
    mailing_address_line2 = models.CharField(max_length=200, blank=True)
    mailing_city = models.CharField(max_length=100, blank=True)
    mailing_region = models.CharField(max_length=50, blank=True)
    mailing_postal_code = models.CharField(max_length=20, blank=True)
    mailing_country = models.CharField(max_length=2, default="CA")
    preferred_language = models.CharField(max_length=5, choices=Language.choices, default=Language.EN)
    preferred_contact_method = models.CharField(
        max_length=10, choices=ContactMethod.choices, default=ContactMethod.EMAIL
    )
    portal_user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="customer"
    )
    # Derived search keys, kept in step by refresh_search_fields(); never edited by hand.
    search_name = models.CharField(max_length=250, editable=False, db_index=False)
    phone_search = models.CharField(max_length=40, editable=False, blank=True)
    id_number_search = models.CharField(max_length=50, editable=False, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["search_name", "id"]
        indexes = [
            GinIndex(name="customer_name_trgm", fields=["search_name"], opclasses=["gin_trgm_ops"]),
            # Phones match anywhere in the digits ("555 0199"): a trigram index serves LIKE '%..%'.
            GinIndex(name="customer_phone_trgm", fields=["phone_search"], opclasses=["gin_trgm_ops"]),
            models.Index(name="customer_idnum_idx", fields=["id_number_search"]),
            # istartswith is UPPER(email) LIKE 'X%': only a pattern-ops index on UPPER serves it.
            models.Index(OpClass(Upper("email"), name="text_pattern_ops"), name="customer_email_prefix_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                name="customer_has_a_name",
                condition=(Q(kind="person") & ~Q(last_name="")) | (Q(kind="organisation") & ~Q(organisation_name="")),
                violation_error_message="A person needs a last name; an organisation needs a name.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.customer_number})"

    def refresh_search_fields(self) -> None:
        if self.kind == self.Kind.ORGANISATION:
            self.display_name = self.organisation_name
        else:
            self.display_name = " ".join(p for p in (self.first_name, self.last_name) if p)
        self.search_name = normalise_text(self.display_name)
        self.email = (self.email or "").strip().lower()
        phones = [phone_digits(self.phone), phone_digits(self.phone_alt)]
        self.phone_search = " ".join(p for p in phones if p)
        self.id_number_search = re.sub(r"[\s-]", "", self.id_number or "").upper()

    def save(self, *args, **kwargs):
        # Derived columns (not invariants): computed here so admin, API and services agree.
        self.refresh_search_fields()
        super().save(*args, **kwargs)


@pghistory.track(*audited())
class Premise(AddressFields):
    class PremiseType(models.TextChoices):
        HOUSE = "house", "House"
        APARTMENT_BUILDING = "apartment_building", "Apartment building"
        SUITE = "suite", "Suite"
        COMMERCIAL = "commercial", "Commercial"
        INDUSTRIAL = "industrial", "Industrial"
        STREETLIGHT_DISTRICT = "streetlight_district", "Streetlight district"

    premise_number = models.CharField(max_length=20, unique=True)
    premise_type = models.CharField(max_length=30, choices=PremiseType.choices, default=PremiseType.HOUSE)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="suites",
        help_text="The building a suite belongs to.",
    )
    meter_chamber = models.CharField(
        max_length=50, blank=True, help_text="Meter room / chamber that groups this premise's meters."
    )
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    search_address = models.CharField(max_length=500, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["search_address", "id"]
        indexes = [
            GinIndex(name="premise_address_trgm", fields=["search_address"], opclasses=["gin_trgm_ops"]),
        ]
        constraints = [
            models.CheckConstraint(
                name="premise_latitude_range",
                condition=Q(latitude__isnull=True) | Q(latitude__gte=-90, latitude__lte=90),
            ),
            models.CheckConstraint(
                name="premise_longitude_range",
                condition=Q(longitude__isnull=True) | Q(longitude__gte=-180, longitude__lte=180),
            ),
        ]

    def __str__(self) -> str:
        return self.address_text()

    def refresh_search_fields(self) -> None:
        self.search_address = normalise_text(
            f"{self.address_line1} {self.address_line2} {self.city} {self.postal_code}"
        )

    def save(self, *args, **kwargs):
        self.refresh_search_fields()
        super().save(*args, **kwargs)


@pghistory.track(*audited())
class ServicePoint(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        INACTIVE = "inactive", "Inactive"
        RETIRED = "retired", "Retired"

    sp_number = models.CharField("service point number", max_length=20, unique=True)
    premise = models.ForeignKey(Premise, on_delete=models.PROTECT, related_name="service_points")
    commodity = models.CharField(max_length=20, choices=Commodity.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    route = models.CharField("read route", max_length=20, blank=True)
    read_sequence = models.PositiveIntegerField(null=True, blank=True)
    rate_class = models.CharField(max_length=30, blank=True, help_text="Residential, commercial, ...")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sp_number"]
        indexes = [models.Index(name="sp_route_seq_idx", fields=["route", "read_sequence"])]

    def __str__(self) -> str:
        return f"{self.sp_number} ({self.get_commodity_display()})"


def account_number_digits() -> Func:
    """The account number without its leading zeros, as a CSR types it ("104542" for
    0000104542): the search's key, indexed (account_number_digits_idx) for prefix matches."""
    return Func(F("account_number"), Value("0"), function="LTRIM", output_field=models.CharField())


@pghistory.track(*audited())
class Account(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending start"
        ACTIVE = "active", "Active"
        CLOSED = "closed", "Closed"

    class BillDelivery(models.TextChoices):
        PAPER = "paper", "Paper bill by mail"
        EMAIL = "email", "Paperless (e-bill by email)"

    account_number = models.CharField(max_length=20, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="accounts")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children",
        help_text="Summary (parent) account that is billed for this one.",
    )
    # Bill cycles belong to billing; cis keeps the code billing resolves.
    bill_cycle_code = models.CharField(max_length=20, blank=True)
    # Paperless: no paper bill is mailed; the account's portal holders get the bill-ready email.
    bill_delivery = models.CharField(max_length=10, choices=BillDelivery.choices, default=BillDelivery.PAPER)
    billing_address_line1 = models.CharField(max_length=200, blank=True)
    billing_address_line2 = models.CharField(max_length=200, blank=True)
    billing_city = models.CharField(max_length=100, blank=True)
    billing_region = models.CharField(max_length=50, blank=True)
    billing_postal_code = models.CharField(max_length=20, blank=True)
    billing_country = models.CharField(max_length=2, default="CA")
    opened_date = models.DateField()
    closed_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["account_number"]
        indexes = [
            # LTRIM(account_number, '0') LIKE 'digits%': partial and unpadded numbers by prefix.
            models.Index(OpClass(account_number_digits(), name="text_pattern_ops"), name="account_number_digits_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                name="account_closed_after_opened",
                condition=Q(closed_date__isnull=True) | Q(closed_date__gte=F("opened_date")),
                violation_error_message="An account cannot close before it opened.",
            ),
            models.CheckConstraint(
                name="account_not_own_parent", condition=~Q(parent=F("id")),
            ),
        ]

    def __str__(self) -> str:
        return self.account_number

    def billing_address_text(self) -> str:
        if not self.billing_address_line1:
            return ""
        line = self.billing_address_line1 + (f", {self.billing_address_line2}" if self.billing_address_line2 else "")
        return f"{line}, {self.billing_city}, {self.billing_region} {self.billing_postal_code}"


@pghistory.track(*audited())
class ServiceAgreement(models.Model):
    """Account x service point x rate over the half-open range [start_date, end_date)."""

    agreement_number = models.CharField(max_length=20, unique=True)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="agreements")
    service_point = models.ForeignKey(ServicePoint, on_delete=models.PROTECT, related_name="agreements")
    # Rate schedules belong to billing; cis keeps the code billing resolves.
    rate_code = models.CharField(max_length=30)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True, help_text="First day no longer served (exclusive).")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-start_date", "id"]
        indexes = [models.Index(name="agreement_sp_dates_idx", fields=["service_point", "start_date"])]
        constraints = [
            ExclusionConstraint(
                name="agreement_no_overlap_per_service_point",
                expressions=[
                    ("service_point", RangeOperators.EQUAL),
                    (DateRange("start_date", "end_date"), RangeOperators.OVERLAPS),
                ],
                violation_error_message="This service point already has an agreement in that period.",
            ),
            models.CheckConstraint(
                name="agreement_end_after_start",
                condition=Q(end_date__isnull=True) | Q(end_date__gt=F("start_date")),
                violation_error_message="An agreement must end after it starts.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agreement_number} {self.service_point.sp_number}"

    def is_active_on(self, day) -> bool:
        return self.start_date <= day and (self.end_date is None or day < self.end_date)


class Move(models.Model):
    """A requested move-in or move-out. Future-dated moves wait as 'pending' and are applied
    on their date (cis.tasks.moves_apply_due); the CSR wizard applies today's at once."""

    class Kind(models.TextChoices):
        MOVE_IN = "move_in", "Move in"
        MOVE_OUT = "move_out", "Move out"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="moves")
    service_point = models.ForeignKey(ServicePoint, on_delete=models.PROTECT, related_name="moves")
    effective_date = models.DateField()
    rate_code = models.CharField(max_length=30, blank=True)
    agreement = models.ForeignKey(
        ServiceAgreement, null=True, blank=True, on_delete=models.PROTECT, related_name="moves"
    )
    outcome = models.TextField(blank=True, help_text="What applying the move did (agreements stopped, reads asked for).")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["effective_date", "id"]
        indexes = [models.Index(name="move_status_date_idx", fields=["status", "effective_date"])]
        constraints = [
            models.UniqueConstraint(
                name="one_pending_move_per_kind_sp_date",
                fields=["kind", "service_point", "effective_date"],
                condition=Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.service_point.sp_number} on {self.effective_date}"


class _AccountEntry(models.Model):
    # Empty when the system (a task, an import) made the entry.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


@pghistory.track(*audited())
class Contact(_AccountEntry):
    """A customer interaction: a call, an email, a visit."""

    class Channel(models.TextChoices):
        PHONE = "phone", "Phone"
        EMAIL = "email", "Email"
        WALK_IN = "walk_in", "Walk-in"
        LETTER = "letter", "Letter"
        PORTAL = "portal", "Portal"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="contacts")
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.PHONE)
    subject = models.CharField(max_length=200)
    details = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CLOSED)
    follow_up_date = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]


@pghistory.track(*audited())
class Note(_AccountEntry):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="notes")
    text = models.TextField()
    pinned = models.BooleanField(default=False)

    class Meta:
        ordering = ["-pinned", "-created_at", "-id"]


@pghistory.track(*audited())
class Complaint(_AccountEntry):
    class Category(models.TextChoices):
        BILLING = "billing", "Billing"
        SERVICE = "service", "Service quality"
        METER = "meter", "Meter"
        STAFF = "staff", "Staff conduct"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        INVESTIGATING = "investigating", "Investigating"
        RESOLVED = "resolved", "Resolved"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="complaints")
    category = models.CharField(max_length=20, choices=Category.choices)
    description = models.TextField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    follow_up_date = models.DateField(null=True, blank=True)
    resolution = models.TextField(blank=True)
    resolved_date = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]


@pghistory.track(*audited())
class MoveRequest(models.Model):
    """A customer's own request to stop, start or transfer service (from the portal), or a new
    customer's application for service at a premise of the territory (no account yet: the
    applicant's details are kept here). It waits in the Pending Moves hub until a CSR completes
    it with the move services (which makes the Move rows it points at; an application's
    customer and account are created then) or declines it with a reason the customer reads."""

    class Kind(models.TextChoices):
        MOVE_OUT = "move_out", "Stop service"
        MOVE_IN = "move_in", "Start service"
        TRANSFER = "transfer", "Transfer service (stop here, start there)"
        NEW_CUSTOMER = "new_customer", "New customer application"

    class Status(models.TextChoices):
        SUBMITTED = "submitted", "Waiting for us"
        COMPLETED = "completed", "Done"
        DECLINED = "declined", "Declined"
        WITHDRAWN = "withdrawn", "Withdrawn"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SUBMITTED)
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.PROTECT, related_name="move_requests",
                                help_text="Empty for a new customer's application until a CSR completes it.")
    service_point = models.ForeignKey(
        ServicePoint, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="Where service stops (move-out, transfer): one the account is served at.")
    move_out_date = models.DateField(null=True, blank=True, help_text="First day no longer served.")
    move_in_date = models.DateField(null=True, blank=True, help_text="First day served at the new address.")
    new_address = models.TextField(blank=True, help_text="Where service starts, as the customer wrote it.")
    forwarding_address = models.TextField(blank=True, help_text="Where the final bill goes.")
    phone = models.CharField(max_length=30, blank=True)
    message = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField()
    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    handled_at = models.DateTimeField(null=True, blank=True)
    response = models.TextField(blank=True, help_text="What the CSR tells the customer (why declined, what was done).")
    move_out = models.ForeignKey(Move, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    move_in = models.ForeignKey(Move, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # A new customer's application: where (a premise of the territory) and who. As little as
    # opening an account needs: a name, how to reach them, an ID only if they choose to give one.
    premise = models.ForeignKey(Premise, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                help_text="Where a new customer asks for service.")
    applicant_kind = models.CharField(max_length=20, choices=Customer.Kind.choices, blank=True)
    applicant_first_name = models.CharField(max_length=100, blank=True)
    applicant_last_name = models.CharField(max_length=100, blank=True)
    applicant_organisation_name = models.CharField(max_length=200, blank=True)
    applicant_email = models.EmailField(blank=True)
    applicant_id_type = models.CharField(max_length=30, choices=Customer.IdType.choices, blank=True)
    applicant_id_number = models.CharField(max_length=50, blank=True)
    applicant_language = models.CharField(max_length=5, choices=Customer.Language.choices, blank=True)
    mailing_address_line1 = models.CharField(max_length=200, blank=True,
                                             help_text="Where bills go; empty: the service address.")
    mailing_address_line2 = models.CharField(max_length=200, blank=True)
    mailing_city = models.CharField(max_length=100, blank=True)
    mailing_region = models.CharField(max_length=50, blank=True)
    mailing_postal_code = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering = ["requested_at", "id"]
        indexes = [models.Index(name="moverequest_status_idx", fields=["status", "requested_at"])]
        constraints = [
            models.CheckConstraint(
                name="moverequest_dates_fit_kind",
                condition=(Q(kind="move_out", move_out_date__isnull=False, service_point__isnull=False)
                           | Q(kind="move_in", move_in_date__isnull=False) & ~Q(new_address="")
                           | Q(kind="transfer", move_out_date__isnull=False, move_in_date__isnull=False,
                               service_point__isnull=False) & ~Q(new_address="")
                           | Q(kind="new_customer", move_in_date__isnull=False, premise__isnull=False)
                           & ~Q(applicant_email="")
                           & (Q(applicant_kind="person") & ~Q(applicant_last_name="")
                              | Q(applicant_kind="organisation") & ~Q(applicant_organisation_name=""))),
            ),
            # Only an application waits without an account; completing it opens one.
            models.CheckConstraint(
                name="moverequest_account_unless_applying",
                condition=Q(account__isnull=False) | Q(kind="new_customer") & ~Q(status="completed"),
            ),
            models.CheckConstraint(
                name="moverequest_completed_has_moves",
                condition=~Q(status="completed") | Q(move_out__isnull=False) | Q(move_in__isnull=False),
            ),
            models.CheckConstraint(
                name="moverequest_handled_when_closed",
                condition=Q(status="submitted") | Q(handled_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        who = self.account_id if self.account_id else (self.applicant_name() or "an applicant")
        return f"{self.get_kind_display()} request of {who} ({self.status})"

    def applicant_name(self) -> str:
        if self.applicant_kind == Customer.Kind.ORGANISATION:
            return self.applicant_organisation_name
        return " ".join(p for p in (self.applicant_first_name, self.applicant_last_name) if p)
