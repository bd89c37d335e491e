"""Input and output serializers for the customer & premise REST API.

Input serializers only check shape and field-level rules and hand `validated_data` to a
cis.services function; output serializers only describe what a client reads back. Related
objects are named by their natural keys (customer_number, account_number, premise_number,
sp_number, agreement_number) so a client never needs database ids for the core entities.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.settings import api_settings

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

from cis.models import (
    Account,
    Commodity,
    Complaint,
    Contact,
    Customer,
    Move,
    Note,
    Premise,
    ServiceAgreement,
    ServicePoint,
)
from cis import services
from cis.selectors import SEARCH_MAX_HITS, SEARCH_MAX_PAGE, search_kinds, search_max_page
from core import codes, privacy


class NaturalKeyField(serializers.SlugRelatedField):
    """A related object named by its natural key. Text PostgreSQL cannot hold (a NUL) is
    refused like any unknown key, before it reaches a query."""

    def to_internal_value(self, data):
        if isinstance(data, str) and "\x00" in data:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data.replace("\x00", "\\u0000"))
        return super().to_internal_value(data)


def rate_code_field() -> serializers.CharField:
    return serializers.CharField(max_length=30, help_text="The code of one of billing's rate schedules.")


def check_rate_code(value: str) -> str:
    """A rate code billing knows (core.codes; billing registers the validator)."""
    try:
        return codes.validate_code(codes.RATE_CODE, value)
    except codes.UnknownCodeError as exc:
        raise serializers.ValidationError(str(exc)) from exc


def check_bill_cycle_code(value: str) -> str:
    if not value:
        raise serializers.ValidationError("Every account needs a bill cycle.")
    try:
        return codes.validate_code(codes.BILL_CYCLE_CODE, value)
    except codes.UnknownCodeError as exc:
        raise serializers.ValidationError(str(exc)) from exc


def drf_error_from_django(exc: DjangoValidationError) -> serializers.ValidationError:
    """A model's full_clean() error as a DRF 400 body, keeping the field names; errors not
    tied to a field land under DRF's usual `non_field_errors`."""
    if hasattr(exc, "error_dict"):
        detail = {
            (api_settings.NON_FIELD_ERRORS_KEY if name == NON_FIELD_ERRORS else name): messages
            for name, messages in exc.message_dict.items()
        }
    else:
        detail = {api_settings.NON_FIELD_ERRORS_KEY: exc.messages}
    return serializers.ValidationError(detail)


def _value(serializer: serializers.Serializer, attrs: dict, name: str, default=None):
    """The value a field will have after this write: the new one if sent, else the stored one
    (PATCH sends only what changes, yet cross-field rules need both)."""
    if name in attrs:
        return attrs[name]
    if serializer.instance is not None:
        return getattr(serializer.instance, name)
    return default


@extend_schema_field({"anyOf": [{"type": "string", "format": "email", "maxLength": 254},
                                {"type": "string", "maxLength": 0}]})
class _OptionalEmailField(serializers.EmailField):
    """An email address, or "" for none (the document says so: "" is no email format)."""


# --- customers ------------------------------------------------------------------------

_CUSTOMER_INPUT_FIELDS = [
    "customer_number", "kind", "first_name", "last_name", "organisation_name", "id_type", "id_number",
    "phone", "phone_alt", "email", "mailing_address_line1", "mailing_address_line2", "mailing_city",
    "mailing_region", "mailing_postal_code", "mailing_country", "preferred_language",
    "preferred_contact_method",
]


class MaskPersonalDataMixin:
    """Output masked per core.privacy for the requesting user: an identifier the role may not
    read comes back as "•••• 1234". Without a request in the context every identifier is
    masked (fail closed), so a view must pass `context={"request": request}`."""

    def to_representation(self, instance):
        data = super().to_representation(instance)
        request = self.context.get("request")
        hidden = privacy.masked_fields(getattr(request, "user", None), instance._meta.label)
        for field in hidden & set(data):
            data[field] = privacy.mask(data[field])
        return data


class CustomerSerializer(MaskPersonalDataMixin, serializers.ModelSerializer):
    """Read and write: one serializer, so the OpenAPI document has one Customer shape and
    one enum per choice set (the output only adds read-only fields)."""

    customer_number = serializers.CharField(
        max_length=20, required=False, help_text="Assigned by Utilis when left out; never changes."
    )
    email = _OptionalEmailField(max_length=254, required=False, allow_blank=True,
                                help_text="Empty when the customer gave none.")

    class Meta:
        model = Customer
        fields = ["id", *_CUSTOMER_INPUT_FIELDS, "display_name", "created_at", "updated_at"]
        read_only_fields = ["id", "display_name", "created_at", "updated_at"]
        extra_kwargs = {"id_number": {"help_text": (
            "The ID document's number. Read back masked (\"•••• 1234\") by roles that may not read "
            "government IDs: metering, API clients (see docs/cis.md, Personal data by role).")}}

    def validate_customer_number(self, value: str) -> str:
        if self.instance is not None and value != self.instance.customer_number:
            raise serializers.ValidationError("A customer number cannot be changed.")
        if self.instance is None and Customer.objects.filter(customer_number=value).exists():
            raise serializers.ValidationError("A customer with this number already exists.")
        return value

    def validate(self, attrs: dict) -> dict:
        # The database's check constraint says the same, but only as a whole-row error; the
        # client is told which field to fill in.
        kind = _value(self, attrs, "kind", Customer.Kind.PERSON)
        if kind == Customer.Kind.PERSON and not (_value(self, attrs, "last_name", "") or "").strip():
            raise serializers.ValidationError({"last_name": ["A person needs a last name."]})
        if kind == Customer.Kind.ORGANISATION and not (_value(self, attrs, "organisation_name", "") or "").strip():
            raise serializers.ValidationError({"organisation_name": ["An organisation needs a name."]})
        return attrs


# --- premises and service points ------------------------------------------------------

class PremiseSerializer(serializers.ModelSerializer):
    """Premises have no service in cis.services: this serializer saves them itself (the
    audit trigger and the pghistory middleware record who did it)."""

    premise_number = serializers.CharField(max_length=20, required=False, help_text="Assigned by Utilis when left out.")
    parent = NaturalKeyField(  # type: ignore[assignment]  # a declared field, not Field.parent: DRF's metaclass takes it off the class
        slug_field="premise_number", queryset=Premise.objects.all(), required=False, allow_null=True,
        help_text="premise_number of the building a suite belongs to.",
    )
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, min_value=-90, max_value=90,
                                        required=False, allow_null=True)
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6, min_value=-180, max_value=180,
                                         required=False, allow_null=True)

    class Meta:
        model = Premise
        fields = [
            "id", "premise_number", "premise_type", "parent", "address_line1", "address_line2", "city",
            "region", "postal_code", "country", "meter_chamber", "latitude", "longitude",
            "created_at", "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate_premise_number(self, value: str) -> str:
        if self.instance is not None and value != self.instance.premise_number:
            raise serializers.ValidationError("A premise number cannot be changed.")
        if self.instance is None and Premise.objects.filter(premise_number=value).exists():
            raise serializers.ValidationError("A premise with this number already exists.")
        return value

    def validate_parent(self, value: Premise | None) -> Premise | None:
        if value is not None and self.instance is not None and value.pk == self.instance.pk:
            raise serializers.ValidationError("A premise cannot be its own building.")
        return value


class ServicePointSerializer(serializers.ModelSerializer):
    sp_number = serializers.CharField(max_length=20, required=False, help_text="Assigned by Utilis when left out.")
    premise = NaturalKeyField(slug_field="premise_number", queryset=Premise.objects.all())

    class Meta:
        model = ServicePoint
        fields = [
            "id", "sp_number", "premise", "commodity", "status", "route", "read_sequence", "rate_class",
            "created_at", "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate_sp_number(self, value: str) -> str:
        if self.instance is not None and value != self.instance.sp_number:
            raise serializers.ValidationError("A service point number cannot be changed.")
        if self.instance is None and ServicePoint.objects.filter(sp_number=value).exists():
            raise serializers.ValidationError("A service point with this number already exists.")
        return value


# --- accounts -------------------------------------------------------------------------

_BILLING_ADDRESS_FIELDS = [
    "billing_address_line1", "billing_address_line2", "billing_city", "billing_region",
    "billing_postal_code", "billing_country",
]


class AccountCreateSerializer(serializers.ModelSerializer):
    account_number = serializers.CharField(max_length=20, required=False, help_text="Assigned by Utilis when left out.")
    customer = NaturalKeyField(slug_field="customer_number", queryset=Customer.objects.all())
    parent = NaturalKeyField(  # type: ignore[assignment]  # a declared field, not Field.parent: DRF's metaclass takes it off the class
        slug_field="account_number", queryset=Account.objects.all(), required=False, allow_null=True,
        help_text="account_number of the summary account billed for this one.",
    )

    class Meta:
        model = Account
        fields = ["account_number", "customer", "opened_date", "parent", "bill_cycle_code", *_BILLING_ADDRESS_FIELDS]
        extra_kwargs = {"opened_date": {"required": True}}

    def validate_account_number(self, value: str) -> str:
        if Account.objects.filter(account_number=value).exists():
            raise serializers.ValidationError("An account with this number already exists.")
        return value

    def validate_bill_cycle_code(self, value: str) -> str:
        return check_bill_cycle_code(value) if value else value

    def validate(self, attrs: dict) -> dict:
        # Every account has a bill cycle: the one given, else the default (no premise is known here).
        if not attrs.get("bill_cycle_code"):
            default = services.bill_cycle_default()
            if not default:
                raise serializers.ValidationError({"bill_cycle_code": [services.NO_BILL_CYCLE_MESSAGE]})
            attrs["bill_cycle_code"] = check_bill_cycle_code(default)
        return attrs


class AccountUpdateSerializer(serializers.ModelSerializer):
    """What may change on an open account. Status and closing follow from moves, and the
    customer of an account never changes (a new customer gets a new account)."""

    parent = NaturalKeyField(  # type: ignore[assignment]  # a declared field, not Field.parent: DRF's metaclass takes it off the class
        slug_field="account_number", queryset=Account.objects.all(), required=False, allow_null=True,
    )

    class Meta:
        model = Account
        fields = ["parent", "bill_cycle_code", *_BILLING_ADDRESS_FIELDS]

    def validate_bill_cycle_code(self, value: str) -> str:
        return check_bill_cycle_code(value)

    def validate_parent(self, value: Account | None) -> Account | None:
        # Walk up from the new parent: meeting this account means the summary chain would loop.
        instance = self.instance
        if instance is None:  # no account yet: nothing can be billed under it
            return value
        seen = set()
        node = value
        while node is not None and node.pk not in seen:
            if node.pk == instance.pk:
                raise serializers.ValidationError("An account cannot be billed under itself or its own children.")
            seen.add(node.pk)
            node = node.parent
        return value


class AccountSerializer(serializers.ModelSerializer):
    customer: serializers.SlugRelatedField[Customer] = serializers.SlugRelatedField(
        slug_field="customer_number", read_only=True)
    customer_name = serializers.CharField(source="customer.display_name", read_only=True)
    parent: serializers.SlugRelatedField[Account] = serializers.SlugRelatedField(  # type: ignore[assignment]  # a declared field, not Field.parent: DRF's metaclass takes it off the class
        slug_field="account_number", read_only=True, allow_null=True,
        help_text="account_number of the summary account; null for none.")

    class Meta:
        model = Account
        fields = [
            "id", "account_number", "customer", "customer_name", "status", "parent", "bill_cycle_code",
            *_BILLING_ADDRESS_FIELDS, "opened_date", "closed_date", "created_at", "updated_at",
        ]
        read_only_fields = fields


# --- service agreements ---------------------------------------------------------------

class AgreementCreateSerializer(serializers.Serializer):
    account = NaturalKeyField(slug_field="account_number", queryset=Account.objects.all())
    service_point = NaturalKeyField(slug_field="sp_number", queryset=ServicePoint.objects.all())
    rate_code = rate_code_field()
    start_date = serializers.DateField()
    end_date = serializers.DateField(required=False, allow_null=True, help_text="First day no longer served (exclusive).")

    def validate_rate_code(self, value: str) -> str:
        return check_rate_code(value)

    def validate(self, attrs: dict) -> dict:
        end = attrs.get("end_date")
        if end is not None and end <= attrs["start_date"]:
            raise serializers.ValidationError({"end_date": ["The end date must be after the start date."]})
        return attrs


class AgreementSerializer(serializers.ModelSerializer):
    account: serializers.SlugRelatedField[Account] = serializers.SlugRelatedField(
        slug_field="account_number", read_only=True)
    service_point: serializers.SlugRelatedField[ServicePoint] = serializers.SlugRelatedField(
        slug_field="sp_number", read_only=True)

    class Meta:
        model = ServiceAgreement
        fields = [
            "id", "agreement_number", "account", "service_point", "rate_code", "start_date", "end_date",
            "created_at", "updated_at",
        ]
        read_only_fields = fields


# --- moves ----------------------------------------------------------------------------

class MoveOutInputSerializer(serializers.Serializer):
    service_point = NaturalKeyField(slug_field="sp_number", queryset=ServicePoint.objects.all())
    move_out_date = serializers.DateField(help_text="First day no longer served; the final read is taken that day.")


class MoveInInputSerializer(serializers.Serializer):
    service_point = NaturalKeyField(slug_field="sp_number", queryset=ServicePoint.objects.all())
    move_in_date = serializers.DateField()
    rate_code = rate_code_field()
    bill_cycle_code = serializers.CharField(
        max_length=20, required=False,
        help_text="For an account that has no bill cycle yet; default: UTILIS_DEFAULT_BILL_CYCLE, else the "
        "cycle of the service point's read route.")

    def validate_rate_code(self, value: str) -> str:
        return check_rate_code(value)

    def validate_bill_cycle_code(self, value: str) -> str:
        return check_bill_cycle_code(value)


class MoveSerializer(serializers.ModelSerializer):
    account: serializers.SlugRelatedField[Account] = serializers.SlugRelatedField(
        slug_field="account_number", read_only=True)
    service_point: serializers.SlugRelatedField[ServicePoint] = serializers.SlugRelatedField(
        slug_field="sp_number", read_only=True)
    agreement: serializers.SlugRelatedField[ServiceAgreement] = serializers.SlugRelatedField(
        slug_field="agreement_number", read_only=True, allow_null=True,
        help_text="The agreement the move started or stopped; null while pending or cancelled.")
    requested_by: serializers.SlugRelatedField[AbstractBaseUser] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="null for the system.")

    class Meta:
        model = Move
        fields = [
            "id", "kind", "status", "account", "service_point", "effective_date", "rate_code", "agreement",
            "outcome", "requested_by", "requested_at", "completed_at",
        ]
        read_only_fields = fields


class ReadOrderSerializer(serializers.Serializer):
    """A service order the move asked for (owned by service_orders; shown here read-only)."""

    order_number = serializers.CharField(allow_null=True)
    order_type = serializers.CharField()
    status = serializers.CharField()
    due_date = serializers.DateField()
    reason = serializers.CharField()


class MoveResultSerializer(serializers.Serializer):
    move = MoveSerializer()
    applied = serializers.BooleanField(help_text="True when the move took effect now; false when it waits as pending.")
    agreement = AgreementSerializer(allow_null=True, help_text="The agreement started (move-in) or stopped (move-out).")
    stopped_agreements = AgreementSerializer(
        many=True, help_text="Other accounts' agreements the move clearing house stopped for a move-in."
    )
    read_orders = ReadOrderSerializer(many=True)


# --- contacts, notes, complaints ------------------------------------------------------

class _AccountEntrySerializer(serializers.ModelSerializer):
    account = NaturalKeyField(slug_field="account_number", queryset=Account.objects.all())
    created_by: serializers.SlugRelatedField[AbstractBaseUser] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="null for the system.")

    def validate_account(self, value: Account) -> Account:
        if self.instance is not None and value.pk != self.instance.account_id:
            raise serializers.ValidationError("An entry cannot be moved to another account.")
        return value


class ContactSerializer(_AccountEntrySerializer):
    class Meta:
        model = Contact
        fields = [
            "id", "account", "channel", "subject", "details", "status", "follow_up_date",
            "created_by", "created_at", "updated_at",
        ]
        read_only_fields = ["id", "created_by", "created_at", "updated_at"]


class NoteSerializer(_AccountEntrySerializer):
    class Meta:
        model = Note
        fields = ["id", "account", "text", "pinned", "created_by", "created_at", "updated_at"]
        read_only_fields = ["id", "created_by", "created_at", "updated_at"]

    def validate_text(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("A note needs some text.")
        return value.strip()


class ComplaintSerializer(_AccountEntrySerializer):
    class Meta:
        model = Complaint
        fields = [
            "id", "account", "category", "description", "status", "follow_up_date", "resolution",
            "resolved_date", "created_by", "created_at", "updated_at",
        ]
        read_only_fields = ["id", "created_by", "created_at", "updated_at"]
        extra_kwargs = {"resolved_date": {"help_text": "Set to today when the status becomes resolved and none is given."}}


# --- search ---------------------------------------------------------------------------

class SearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(min_length=2, help_text="Name, account number, address, phone, email, ID number or meter.")
    kind = serializers.ChoiceField(choices=[], default="auto")
    status = serializers.ChoiceField(choices=Account.Status.choices, required=False, allow_blank=True, default="")
    commodity = serializers.ChoiceField(
        choices=Commodity.choices, required=False, allow_blank=True, default=""
    )
    page = serializers.IntegerField(min_value=1, max_value=SEARCH_MAX_PAGE, default=1,
                                    help_text="Page of results, from 1.")
    page_size = serializers.IntegerField(min_value=1, max_value=100, required=False,
                                         help_text="Hits per page (default 25).")
    limit = serializers.IntegerField(min_value=1, max_value=100, required=False,
                                     help_text="Deprecated: the same as page_size (page_size wins when both are given).")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Apps above cis register kinds (core.search) in ready(): read them per request.
        self.fields["kind"].choices = search_kinds()

    def validate(self, attrs: dict) -> dict:
        attrs["page_size"] = attrs.get("page_size") or attrs.pop("limit", None) or 25
        attrs.pop("limit", None)
        if attrs["page"] > search_max_page(attrs["page_size"]):
            raise serializers.ValidationError({"page": [
                f"Only the first {SEARCH_MAX_HITS} hits are paged ({search_max_page(attrs['page_size'])} pages of "
                f"{attrs['page_size']}): narrow the search."]})
        return attrs


class SearchHitSerializer(serializers.Serializer):
    account_number = serializers.CharField(source="account.account_number")
    account_status = serializers.CharField(source="account.status")
    customer_number = serializers.CharField(source="account.customer.customer_number")
    customer_name = serializers.CharField(source="account.customer.display_name")
    matched_on = serializers.CharField()
    service_address = serializers.CharField()
