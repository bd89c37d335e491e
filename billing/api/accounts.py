"""An account's money over REST: its ledger entries (paged), its balance and its aging on a day,
and how far each of its agreements is billed (billed-through dates).

Roles: CSRs, billing staff and API clients read them; nothing here writes (payments and
adjustments are posted in the hubs and by the payment files)."""
from __future__ import annotations

import datetime as dt

from django.core.exceptions import ObjectDoesNotExist
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from billing import selectors
from billing.api.serializers import (
    AgingSerializer,
    AsOfQuerySerializer,
    BalanceSerializer,
    BilledThroughQuerySerializer,
    BilledThroughSerializer,
    LedgerEntrySerializer,
    LedgerQuerySerializer,
)
from billing.models import LedgerEntry
from billing.services.ledger import account_aging, account_balance
from cis.selectors import account_agreements, account_get
from core.clock import utility_today
from core.http import ApiAutoSchema, ErrorSerializer
from core.roles import Role

ACCOUNT_READERS = (Role.CSR, Role.BILLING, Role.API_CLIENT)

_NO_ACCOUNT = OpenApiResponse(ErrorSerializer, description="No account with that number.")


def account_or_404(account_number: str, *, field: str = ""):
    """The account numbered so; an unknown number is a 404 in the URL, a 400 on `field` in a query."""
    try:
        return account_get(account_number=account_number.strip())
    except ObjectDoesNotExist:
        message = f"There is no account {account_number.strip() or '(blank)'}."
        if field:
            raise ValidationError({field: [message]}) from None
        raise NotFound(message) from None


def _as_of(request) -> dt.date:
    query = AsOfQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data.get("as_of") or utility_today()


class AccountLedger(generics.ListAPIView):
    schema = ApiAutoSchema()
    read_roles = ACCOUNT_READERS
    serializer_class = LedgerEntrySerializer

    @extend_schema(summary="An account's ledger entries", parameters=[LedgerQuerySerializer],
                   description="Newest first (effective date, then posting order). Entries are never changed: a "
                               "correction is a reversal (`reverses` names the entry) plus a new entry.")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no account to look up
            return LedgerEntry.objects.none()
        account = account_or_404(self.kwargs["account_number"])
        query = LedgerQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        return selectors.ledger_entries(account_id=account.pk, kind=q.get("kind", ""),
                                        effective_from=q.get("effective_after"), effective_to=q.get("effective_before"))


class AccountBalance(APIView):
    schema = ApiAutoSchema()
    read_roles = ACCOUNT_READERS

    @extend_schema(summary="An account's balance on a day", parameters=[AsOfQuerySerializer],
                   responses={200: BalanceSerializer, 404: _NO_ACCOUNT})
    def get(self, request, account_number: str):
        account = account_or_404(account_number)
        as_of = _as_of(request)
        return Response(BalanceSerializer({"account": account.account_number, "as_of": as_of,
                                           "balance": account_balance(account_id=account.pk, as_of=as_of)}).data)


class AccountAging(APIView):
    schema = ApiAutoSchema()
    read_roles = ACCOUNT_READERS

    @extend_schema(summary="An account's balance by age", parameters=[AsOfQuerySerializer],
                   description="Credits pay the oldest charges first; what is left of each charge is bucketed by its "
                               "age on `as_of`. An unused credit shows as a negative `current`.",
                   responses={200: AgingSerializer, 404: _NO_ACCOUNT})
    def get(self, request, account_number: str):
        account = account_or_404(account_number)
        as_of = _as_of(request)
        aging = account_aging(account_id=account.pk, as_of=as_of)
        return Response(AgingSerializer({
            "account": account.account_number, "as_of": as_of, "current": aging.current, "days_30": aging.days_30,
            "days_60": aging.days_60, "days_90_plus": aging.days_90_plus, "total": aging.total}).data)


class AccountBilledThrough(APIView):
    schema = ApiAutoSchema()
    read_roles = ACCOUNT_READERS

    @extend_schema(summary="How far each of an account's agreements is billed", parameters=[BilledThroughQuerySerializer],
                   description="Per agreement (newest first): the last day an issued bill covers (or the date a "
                               "conversion loaded, before the first bill here), the last day a bill not yet issued "
                               "covers, and the first day the next bill will cover.",
                   responses={200: BilledThroughSerializer, 404: _NO_ACCOUNT})
    def get(self, request, account_number: str):
        account = account_or_404(account_number)
        query = BilledThroughQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        wanted = query.validated_data.get("agreement", "").strip().upper()
        agreements = [a for a in account_agreements(account=account)
                      if not wanted or a.agreement_number.upper() == wanted]
        if wanted and not agreements:
            raise ValidationError({"agreement": [f"Account {account.account_number} has no agreement {wanted}."]})
        rows = selectors.agreements_billed_through(agreements=agreements)
        return Response(BilledThroughSerializer({"account": account.account_number, "agreements": [
            {"agreement": a.agreement_number, "service_point": a.service_point.sp_number, "rate_code": a.rate_code,
             "start_date": r.start_date, "end_date": r.end_date, "billed_through": r.billed_through,
             "source": r.source, "drafted_through": r.drafted_through, "next_period_start": r.next_period_start}
            for a, r in zip(agreements, rows)]}).data)
