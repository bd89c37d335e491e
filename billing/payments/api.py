"""The payments REST API (under /api/billing/payments/): list (paged, filtered), get one by
receipt number, create with an `Idempotency-Key` header, return (NSF / chargeback) and reverse
(a posting error). Each write is one billing.payments.services call; domain errors become
400 / 404 / 409 / 422 answers with the error body core.http documents.

Roles (core.roles.Role; administrators always pass), as the other billing API views:
- read and create: CSR, billing, API clients (a bank or gateway integration posts payments);
- return and reverse: billing staff only (they charge fees and change the credit rating).
"""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q, QuerySet
from django.urls import path
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from billing.payments import autopay_api, selectors, services
from billing.payments.models import Allocation, Payment, PaymentReturn
from cis.selectors import account_get
from core.actors import Actor
from core.http import ERROR_DESCRIPTIONS, ApiAutoSchema, ErrorSerializer
from core.roles import Role

READ_ROLES = (Role.CSR, Role.BILLING, Role.API_CLIENT)
CREATE_ROLES = (Role.CSR, Role.BILLING, Role.API_CLIENT)
RETURN_ROLES = (Role.BILLING,)

IDEMPOTENCY_HEADER = "Idempotency-Key"
_KEY_PATTERN = r"^[!-~]{1,100}$"  # 1 to 100 printable ASCII characters, no spaces
_MAX_AMOUNT = Decimal("999999999999.99")


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


def _django_error(exc: DjangoValidationError) -> ValidationError:
    if hasattr(exc, "error_dict"):
        return ValidationError({field: [str(m) for e in errors for m in e.messages]
                                for field, errors in exc.error_dict.items()})
    return ValidationError({"detail": " ".join(exc.messages)})


# --- serializers ---------------------------------------------------------------------------

class AllocationSerializer(serializers.ModelSerializer):
    charge = serializers.CharField(source="charge.description", help_text="The charge paid (its ledger description).")
    charge_entry_id = serializers.IntegerField(source="charge_id", help_text="The charge's ledger entry id.")
    released = serializers.SerializerMethodField(help_text="True for a row that undoes an earlier allocation.")

    class Meta:
        model = Allocation
        fields = ["charge", "charge_entry_id", "amount", "allocated_date", "released", "reason"]

    def get_released(self, obj: Allocation) -> bool:
        return obj.releases_id is not None


class PaymentReturnSerializer(serializers.ModelSerializer):
    fee = serializers.DecimalField(source="fee.amount", max_digits=14, decimal_places=2, allow_null=True,
                                   help_text="The returned-payment fee charged (null: none).")

    class Meta:
        model = PaymentReturn
        fields = ["kind", "return_date", "reason", "external_reference", "counts_for_credit", "fee", "actor",
                  "created_at"]


class PaymentSerializer(serializers.ModelSerializer):
    account = serializers.CharField(source="account.account_number", help_text="Account number.")
    status = serializers.SerializerMethodField(help_text="posted, returned (NSF / chargeback) or reversed (an error).")
    unapplied = serializers.SerializerMethodField(
        help_text="What allocation has not applied to a charge yet (an account credit), as a decimal string.")
    allocations = AllocationSerializer(source="ledger_entry.allocation_rows", many=True, read_only=True)
    returned = PaymentReturnSerializer(source="payment_return", allow_null=True, read_only=True,
                                       help_text="The return or reversal (null: none).")

    class Meta:
        model = Payment
        fields = ["receipt_number", "account", "channel", "tender_type", "amount", "received_date",
                  "external_reference", "reference", "reason", "status", "unapplied", "allocations", "returned",
                  "actor", "created_at"]

    def _return(self, obj: Payment) -> PaymentReturn | None:
        try:
            return obj.payment_return
        except PaymentReturn.DoesNotExist:
            return None

    def get_status(self, obj: Payment) -> str:
        returned = self._return(obj)
        if returned is None:
            return "posted"
        return "reversed" if returned.kind == PaymentReturn.Kind.POSTING_ERROR else "returned"

    def get_unapplied(self, obj: Payment) -> str:
        if self._return(obj) is not None:
            return "0.00"
        rows: list[Allocation] = getattr(obj.ledger_entry, "allocation_rows")  # set by the selector's prefetch
        applied = sum((a.amount for a in rows), Decimal("0.00"))
        return f"{obj.amount - applied:.2f}"


class PaymentCreateSerializer(serializers.Serializer):
    account = serializers.CharField(max_length=20, help_text="Account number.")
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"),
                                      max_value=_MAX_AMOUNT, help_text="What the customer paid, positive.")
    received_date = serializers.DateField()
    tender_type = serializers.ChoiceField(choices=Payment.Tender.choices)
    channel = serializers.ChoiceField(choices=Payment.Channel.choices, default=Payment.Channel.API)
    external_reference = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default="",
        help_text="The channel's own id of the payment (bank line, gateway transaction): posted once per channel.")
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class PaymentReturnInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[PaymentReturn.Kind.NSF, PaymentReturn.Kind.CHARGEBACK])
    return_date = serializers.DateField()
    reason = serializers.CharField(max_length=500)
    external_reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    fee = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0"), max_value=_MAX_AMOUNT,
                                   required=False, allow_null=True,
                                   help_text="The returned-payment fee (default: the configured fee; 0: none).")


class PaymentReverseInputSerializer(serializers.Serializer):
    effective_date = serializers.DateField()
    reason = serializers.CharField(max_length=500)


# --- filters -------------------------------------------------------------------------------

class PaymentFilter(django_filters.FilterSet):
    account = django_filters.CharFilter(field_name="account__account_number", label="Account number.")
    received_from = django_filters.DateFilter(field_name="received_date", lookup_expr="gte",
                                              label="Received on or after this date.")
    received_to = django_filters.DateFilter(field_name="received_date", lookup_expr="lte",
                                            label="Received on or before this date.")
    status = django_filters.ChoiceFilter(
        choices=[("posted", "Posted"), ("returned", "Returned"), ("reversed", "Reversed")], method="filter_status",
        label="posted, returned or reversed.")
    external_reference = django_filters.CharFilter(label="The channel's reference, exact.")

    class Meta:
        model = Payment
        fields = ["channel", "tender_type", "external_reference"]

    def filter_status(self, queryset: QuerySet[Payment], name: str, value: str) -> QuerySet[Payment]:
        if value == "posted":
            return queryset.filter(payment_return__isnull=True)
        error = Q(payment_return__kind=PaymentReturn.Kind.POSTING_ERROR)
        return queryset.filter(error) if value == "reversed" else queryset.filter(payment_return__isnull=False).exclude(error)


# --- views ---------------------------------------------------------------------------------

def _payments() -> QuerySet[Payment]:
    return selectors.payments_with_history().select_related("account")


def _answer(payment: Payment) -> dict[str, Any]:
    return PaymentSerializer(_payments().get(pk=payment.pk)).data


CREATE_EXAMPLE = OpenApiExample("A cheque", request_only=True, value={
    "account": "1000001", "amount": "125.00", "received_date": "2026-03-02", "tender_type": "cheque",
    "reference": "CHQ 1042"})


@extend_schema_view(
    get=extend_schema(summary="List payments",
                      description="Newest first, paged. Filter by `account` (number), `channel`, `tender_type`, "
                                  "`status`, `received_from` / `received_to`, `external_reference`."),
)
class PaymentListCreate(generics.ListAPIView):
    schema = ApiAutoSchema()
    read_roles = READ_ROLES
    write_roles = CREATE_ROLES
    serializer_class = PaymentSerializer
    filterset_class = PaymentFilter
    ordering_fields = ["received_date", "amount", "receipt_number"]
    ordering = ["-received_date", "-id"]

    def get_queryset(self) -> QuerySet[Payment]:
        return _payments().order_by("-received_date", "-id")

    @extend_schema(
        summary="Post a payment",
        description=(
            "Records the payment, posts its credit to the ledger and allocates it to the account's open charges "
            "(oldest first by the configured priority); the rest is an account credit. Send an `Idempotency-Key`: "
            "the same key with the same body returns the first answer (header `Idempotent-Replayed: true`) and "
            "posts nothing; the same key with another body is refused with 422. A channel's `external_reference` "
            "is posted once: a second one is refused with 409."),
        parameters=[OpenApiParameter(IDEMPOTENCY_HEADER, str, location=OpenApiParameter.HEADER, required=True,
                                     pattern=_KEY_PATTERN,
                                     description="1 to 100 printable ASCII characters, unique per request you mean.")],
        request=PaymentCreateSerializer,
        responses={201: PaymentSerializer,
                   400: _error(ERROR_DESCRIPTIONS["400"] + " Also: no or a malformed Idempotency-Key."),
                   409: _error("The channel's external_reference was already posted (`receipt_number` names it)."),
                   422: _error("The Idempotency-Key was used before with another request body.")},
        examples=[CREATE_EXAMPLE],
    )
    def post(self, request: Request) -> Response:
        key = request.headers.get(IDEMPOTENCY_HEADER, "")
        if not re.match(_KEY_PATTERN, key):
            return Response({"detail": f"Send an {IDEMPOTENCY_HEADER} header of 1 to 100 printable ASCII "
                                       "characters (no spaces)."}, status=status.HTTP_400_BAD_REQUEST)
        body = request.data.dict() if hasattr(request.data, "dict") else request.data

        def post() -> tuple[Payment, int, Any]:
            data = PaymentCreateSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            attrs = data.validated_data
            try:
                account = account_get(account_number=attrs["account"])
            except Exception as exc:  # noqa: BLE001 - cis's Account.DoesNotExist
                raise ValidationError({"account": [f"No account {attrs['account']!r}."]}) from exc
            try:
                payment = services.payment_post(
                    account_id=account.pk, amount=attrs["amount"], received_date=attrs["received_date"],
                    channel=attrs["channel"], tender_type=attrs["tender_type"],
                    external_reference=attrs["external_reference"], reference=attrs["reference"],
                    reason=attrs["reason"], actor=Actor.of(request.user))
            except DjangoValidationError as exc:
                raise _django_error(exc) from exc
            return payment, status.HTTP_201_CREATED, _answer(payment)

        try:
            answer = services.payment_post_idempotent(
                user_id=request.user.pk or 0, key=key, fingerprint=services.request_fingerprint(body), post=post)
        except services.IdempotencyKeyReused as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_422_UNPROCESSABLE_ENTITY)
        except services.PaymentDuplicate as exc:
            return Response({"detail": str(exc), "receipt_number": exc.payment.receipt_number},
                            status=status.HTTP_409_CONFLICT)
        response = Response(answer.body, status=answer.status)
        if answer.replayed:
            response["Idempotent-Replayed"] = "true"
        return response


@extend_schema_view(get=extend_schema(summary="Get a payment by receipt number"))
class PaymentDetail(generics.RetrieveAPIView):
    schema = ApiAutoSchema()
    read_roles = READ_ROLES
    serializer_class = PaymentSerializer
    lookup_field = "receipt_number"

    def get_queryset(self) -> QuerySet[Payment]:
        return _payments()


class _PaymentUndo(generics.GenericAPIView):
    schema = ApiAutoSchema()
    write_roles = RETURN_ROLES
    serializer_class = PaymentSerializer
    lookup_field = "receipt_number"
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[Payment]:
        return _payments()

    def _undo(self, call) -> Response:
        payment = self.get_object()
        try:
            call(payment)
        except DjangoValidationError as exc:
            raise _django_error(exc) from exc
        except services.PaymentAlreadyReturned as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(_answer(payment), status=status.HTTP_200_OK)


class PaymentReturnView(_PaymentUndo):
    @extend_schema(
        summary="Return a payment (NSF / chargeback)",
        description=("Reverses the payment's credit in the ledger, releases its allocations (the charges it paid "
                     "reopen), charges the returned-payment fee (the configured one unless `fee` is given) and "
                     "counts the return for the account's credit rating. A payment is returned at most once."),
        request=PaymentReturnInputSerializer,
        responses={200: PaymentSerializer, 409: _error("The payment was already returned or reversed.")},
    )
    def post(self, request: Request, receipt_number: str) -> Response:
        data = PaymentReturnInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        attrs = data.validated_data
        return self._undo(lambda payment: services.payment_return(
            payment=payment, kind=attrs["kind"], return_date=attrs["return_date"], reason=attrs["reason"],
            external_reference=attrs["external_reference"], fee=attrs.get("fee"), actor=Actor.of(request.user)))


class PaymentReverseView(_PaymentUndo):
    @extend_schema(
        summary="Reverse a payment posted in error",
        description="Reverses the credit and releases its allocations: no fee, no count for the credit rating.",
        request=PaymentReverseInputSerializer,
        responses={200: PaymentSerializer, 409: _error("The payment was already returned or reversed.")},
    )
    def post(self, request: Request, receipt_number: str) -> Response:
        data = PaymentReverseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        attrs = data.validated_data
        return self._undo(lambda payment: services.payment_reverse(
            payment=payment, effective_date=attrs["effective_date"], reason=attrs["reason"],
            actor=Actor.of(request.user)))


urlpatterns = [
    *autopay_api.urlpatterns,  # autopay/...: before "<receipt_number>/"
    path("", PaymentListCreate.as_view(), name="billing-payments"),
    path("<str:receipt_number>/", PaymentDetail.as_view(), name="billing-payment"),
    path("<str:receipt_number>/return/", PaymentReturnView.as_view(), name="billing-payment-return"),
    path("<str:receipt_number>/reverse/", PaymentReverseView.as_view(), name="billing-payment-reverse"),
]
