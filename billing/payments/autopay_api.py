"""Autopay's REST endpoints (under /api/billing/payments/autopay/, spread into
billing.payments.api's urls): enrol an account, read its active enrolment (bank account always
masked: "•••• 6789"), cancel it. Roles: CSR and billing staff (administrators always pass)."""
from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from billing.payments import autopay
from billing.payments.autopay_models import AutopayEnrolment
from cis.selectors import account_get
from core.actors import Actor
from core.http import ApiAutoSchema, ErrorSerializer
from core.roles import Role

ROLES = (Role.CSR, Role.BILLING)


class EnrolmentSerializer(serializers.ModelSerializer):
    account = serializers.CharField(source="account.account_number", help_text="Account number.")
    bank_account = serializers.SerializerMethodField(help_text='The bank account number, masked ("•••• 6789").')

    class Meta:
        model = AutopayEnrolment
        fields = ["id", "account", "status", "bank_account", "account_type", "holder_name", "start_date", "max_amount",
                  "actor", "created_at", "cancelled_at", "cancel_reason"]

    def get_bank_account(self, obj: AutopayEnrolment) -> str:
        return autopay.masked_account(obj)


class EnrolInputSerializer(serializers.Serializer):
    account = serializers.CharField(max_length=20, help_text="Account number.")
    routing_number = serializers.CharField(max_length=20, help_text="9 digits with a valid ABA check digit.")
    account_number = serializers.CharField(max_length=40, help_text="The bank account number: 4 to 17 digits.")
    account_type = serializers.ChoiceField(choices=AutopayEnrolment.AccountType.choices)
    holder_name = serializers.CharField(max_length=100)
    start_date = serializers.DateField()
    max_amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"), required=False,
                                          allow_null=True, help_text="Debits above it are held for review.")
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class CancelInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


def _account(number: str):
    try:
        return account_get(account_number=number)
    except Exception:  # noqa: BLE001 - cis's DoesNotExist
        return None


def _django_error(exc: DjangoValidationError) -> ValidationError:
    if hasattr(exc, "error_dict"):
        return ValidationError(exc.message_dict)
    return ValidationError({"detail": " ".join(exc.messages)})


class AutopayEnrol(generics.GenericAPIView):
    schema = ApiAutoSchema()
    write_roles = ROLES
    serializer_class = EnrolmentSerializer
    filter_backends: list = []

    @extend_schema(
        summary="Enrol an account in autopay",
        description="Stores the bank account encrypted; answers with it masked. One active enrolment per account.",
        request=EnrolInputSerializer,
        responses={201: EnrolmentSerializer,
                   409: OpenApiResponse(ErrorSerializer, description="The account already has an active enrolment.")},
    )
    def post(self, request: Request) -> Response:
        data = EnrolInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        attrs = data.validated_data
        account = _account(attrs["account"])
        if account is None:
            raise ValidationError({"account": [f"No account {attrs['account']!r}."]})
        try:
            enrolment = autopay.autopay_enrol(
                account_id=account.pk, routing_number=attrs["routing_number"], account_number=attrs["account_number"],
                account_type=attrs["account_type"], holder_name=attrs["holder_name"], start_date=attrs["start_date"],
                max_amount=attrs.get("max_amount"), reason=attrs["reason"], actor=Actor.of(request.user))
        except DjangoValidationError as exc:
            raise _django_error(exc) from exc
        except autopay.AutopayError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(EnrolmentSerializer(enrolment).data, status=status.HTTP_201_CREATED)


class _ByAccount(generics.GenericAPIView):
    schema = ApiAutoSchema()
    serializer_class = EnrolmentSerializer
    filter_backends: list = []
    lookup_field = "account_number"

    def enrolment(self, account_number: str) -> AutopayEnrolment:
        account = _account(account_number)
        enrolment = autopay.active_enrolment(account_id=account.pk) if account is not None else None
        if enrolment is None:
            raise Http404("No active autopay enrolment for this account.")
        return enrolment


class AutopayDetail(_ByAccount):
    read_roles = ROLES

    @extend_schema(summary="An account's active autopay enrolment", responses={200: EnrolmentSerializer})
    def get(self, request: Request, account_number: str) -> Response:
        return Response(EnrolmentSerializer(self.enrolment(account_number)).data)


class AutopayCancel(_ByAccount):
    write_roles = ROLES

    @extend_schema(summary="Cancel an account's autopay", request=CancelInputSerializer,
                   responses={200: EnrolmentSerializer})
    def post(self, request: Request, account_number: str) -> Response:
        data = CancelInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        enrolment = self.enrolment(account_number)
        try:
            enrolment = autopay.autopay_cancel(enrolment=enrolment, reason=data.validated_data["reason"],
                                               actor=Actor.of(request.user))
        except DjangoValidationError as exc:
            raise _django_error(exc) from exc
        except autopay.AutopayError as exc:
            raise Http404(str(exc)) from exc
        return Response(EnrolmentSerializer(enrolment).data)


# Before the payments' "<receipt_number>/" routes (billing.payments.api).
urlpatterns = [
    path("autopay/", AutopayEnrol.as_view(), name="billing-autopay-enrol"),
    path("autopay/<str:account_number>/", AutopayDetail.as_view(), name="billing-autopay"),
    path("autopay/<str:account_number>/cancel/", AutopayCancel.as_view(), name="billing-autopay-cancel"),
]
