"""REST views for the customer & premise core.

Each write makes one cis.services call and maps its domain errors to HTTP 400; entities
without a service (premises, service points, note and contact edits) are saved by their
serializer, and the pghistory middleware records the API user for those. Nothing here is
deletable: agreements and moves are history, and customers, accounts, premises and
service points are referenced by bills and meters (close or retire them instead).

Roles (core.roles.Role; administrators always pass):
- read: CSR, billing, metering and API clients; case notes (contacts, notes, complaints) only
  the roles core.privacy lets read them (not metering);
- write: CSR; API clients may also log contacts (integration partners' call centres);
- field crews and customers have no access here (they use the service-order API and the portal).
Identifiers a role may not read (government ID numbers) come back masked (core.privacy).
"""
from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from cis import selectors, services
from cis.api import filters
from cis.api import serializers as s
from cis.models import Account, Complaint, Contact, Customer, Move, Note, Premise, ServiceAgreement, ServicePoint
from cis.api.pagination import SearchPagination
from core import clock as core_clock
from core import privacy
from core.http import ERROR_DESCRIPTIONS, ApiAutoSchema, ErrorSerializer
from core.roles import Role

READ_ROLES = (Role.CSR, Role.BILLING, Role.METERING, Role.API_CLIENT)
WRITE_ROLES = (Role.CSR,)
# Case notes are free text about a person: only the roles core.privacy names read them.
CASE_NOTE_READ_ROLES = tuple(sorted(privacy.FULL_ACCESS[privacy.PersonalData.CASE_NOTES]))

_DETAIL = inline_serializer("ErrorDetail", fields={"detail": serializers.CharField()})
BAD_REQUEST = OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS["400"])


def utility_today() -> dt.date:
    """Today in the utility's own time zone: a move dated 'today' in Toronto must not be
    treated as tomorrow because the server clock is in UTC."""
    return core_clock.utility_today()


def call_service(fn, **kwargs):
    """Run a cis.services write; a model's ValidationError becomes a field-level 400."""
    try:
        return fn(**kwargs)
    except DjangoValidationError as exc:
        raise s.drf_error_from_django(exc) from exc


class _ReadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    schema = ApiAutoSchema()
    read_roles: tuple[Role, ...] = READ_ROLES
    write_roles = WRITE_ROLES


# --- customers ------------------------------------------------------------------------

@extend_schema_view(
    list=extend_schema(summary="List customers", description="Filter by `name` (contains, accents ignored), `email`, `phone`, `kind`."),
    retrieve=extend_schema(summary="Get a customer by customer_number"),
)
class CustomerViewSet(_ReadViewSet):
    queryset = Customer.objects.all()
    serializer_class = s.CustomerSerializer
    lookup_field = "customer_number"
    filterset_class = filters.CustomerFilter
    ordering_fields = ["search_name", "customer_number", "created_at"]

    @extend_schema(summary="Create a customer", request=s.CustomerSerializer,
                   responses={201: s.CustomerSerializer, 400: BAD_REQUEST})
    def create(self, request: Request) -> Response:
        data = s.CustomerSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        customer = call_service(services.customer_create, user=request.user, **data.validated_data)
        return Response(s.CustomerSerializer(customer, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(summary="Replace a customer's details", request=s.CustomerSerializer,
                   responses={200: s.CustomerSerializer, 400: BAD_REQUEST})
    def update(self, request: Request, customer_number: str) -> Response:
        return self._update(request, partial=False)

    @extend_schema(summary="Change some of a customer's details", request=s.CustomerSerializer,
                   responses={200: s.CustomerSerializer, 400: BAD_REQUEST})
    def partial_update(self, request: Request, customer_number: str) -> Response:
        return self._update(request, partial=True)

    def _update(self, request: Request, *, partial: bool) -> Response:
        customer = self.get_object()
        data = s.CustomerSerializer(customer, data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        customer = call_service(services.customer_update, customer=customer, user=request.user, **data.validated_data)
        return Response(s.CustomerSerializer(customer, context=self.get_serializer_context()).data)


# --- premises and service points ------------------------------------------------------

@extend_schema_view(
    list=extend_schema(summary="List premises"),
    retrieve=extend_schema(summary="Get a premise by premise_number"),
    create=extend_schema(summary="Create a premise"),
    update=extend_schema(summary="Replace a premise"),
    partial_update=extend_schema(summary="Change a premise"),
)
class PremiseViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, _ReadViewSet):
    queryset = Premise.objects.select_related("parent")
    serializer_class = s.PremiseSerializer
    lookup_field = "premise_number"
    filterset_class = filters.PremiseFilter
    ordering_fields = ["search_address", "premise_number", "created_at"]

    def perform_create(self, serializer: BaseSerializer[Premise]) -> None:
        serializer.save(premise_number=serializer.validated_data.get("premise_number") or services.next_premise_number())


@extend_schema_view(
    list=extend_schema(summary="List service points"),
    retrieve=extend_schema(summary="Get a service point by sp_number"),
    create=extend_schema(summary="Create a service point"),
    update=extend_schema(summary="Replace a service point"),
    partial_update=extend_schema(summary="Change a service point"),
)
class ServicePointViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, _ReadViewSet):
    queryset = ServicePoint.objects.select_related("premise")
    serializer_class = s.ServicePointSerializer
    lookup_field = "sp_number"
    filterset_class = filters.ServicePointFilter
    ordering_fields = ["sp_number", "route", "read_sequence"]

    def perform_create(self, serializer: BaseSerializer[ServicePoint]) -> None:
        serializer.save(sp_number=serializer.validated_data.get("sp_number") or services.next_service_point_number())


# --- accounts and moves ---------------------------------------------------------------

def _move_response(result: services.MoveResult) -> Response:
    return Response(s.MoveResultSerializer(result).data, status=status.HTTP_201_CREATED)


def _move_error_response(exc: services.MoveError) -> Response:
    if isinstance(exc, services.AgreementOverlapError):
        return Response({"service_point": [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
    return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)


def _duplicate_move_response(exc: IntegrityError) -> Response:
    if "one_pending_move_per_kind_sp_date" not in str(exc):
        raise exc
    return Response(
        {"detail": "A pending move of this kind is already waiting for that service point and date."},
        status=status.HTTP_400_BAD_REQUEST,
    )


@extend_schema_view(
    list=extend_schema(summary="List accounts"),
    retrieve=extend_schema(summary="Get an account by account_number"),
)
class AccountViewSet(_ReadViewSet):
    queryset = Account.objects.select_related("customer", "parent")
    serializer_class = s.AccountSerializer
    lookup_field = "account_number"
    filterset_class = filters.AccountFilter
    ordering_fields = ["account_number", "opened_date", "status"]

    @extend_schema(summary="Open an account for a customer", request=s.AccountCreateSerializer,
                   responses={201: s.AccountSerializer, 400: BAD_REQUEST})
    def create(self, request: Request) -> Response:
        data = s.AccountCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        account = call_service(services.account_open, user=request.user, **data.validated_data)
        return Response(s.AccountSerializer(account).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Replace an account's billing details", request=s.AccountUpdateSerializer,
                   responses={200: s.AccountSerializer, 400: BAD_REQUEST})
    def update(self, request: Request, account_number: str) -> Response:
        return self._update(request, partial=False)

    @extend_schema(summary="Change an account's billing details", request=s.AccountUpdateSerializer,
                   responses={200: s.AccountSerializer, 400: BAD_REQUEST})
    def partial_update(self, request: Request, account_number: str) -> Response:
        return self._update(request, partial=True)

    def _update(self, request: Request, *, partial: bool) -> Response:
        # No account_update service exists: the serializer saves; the audit trigger and the
        # pghistory middleware record the change and the user.
        account = self.get_object()
        data = s.AccountUpdateSerializer(account, data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        data.save()
        return Response(s.AccountSerializer(account).data)

    @extend_schema(
        summary="Move out: stop this account's service at a service point",
        description="Dated today or earlier, the agreement stops at once (end_date = move_out_date) and a final "
        "read is ordered; dated later, the move waits as pending.",
        request=s.MoveOutInputSerializer, responses={201: s.MoveResultSerializer, 400: BAD_REQUEST},
    )
    @action(detail=True, methods=["post"], url_path="move-out")
    def move_out(self, request: Request, account_number: str) -> Response:
        account = self.get_object()
        data = s.MoveOutInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            result = services.move_out_request(
                account=account, today=utility_today(), user=request.user, **data.validated_data
            )
        except services.MoveError as exc:
            return _move_error_response(exc)
        except IntegrityError as exc:
            return _duplicate_move_response(exc)
        return _move_response(result)

    @extend_schema(
        summary="Move in: start this account's service at a service point",
        description="An agreement of another account still open on move_in_date is stopped that day "
        "(move clearing house) and listed in stopped_agreements; dated later, the move waits as pending.",
        request=s.MoveInInputSerializer, responses={201: s.MoveResultSerializer, 400: BAD_REQUEST},
    )
    @action(detail=True, methods=["post"], url_path="move-in")
    def move_in(self, request: Request, account_number: str) -> Response:
        account = self.get_object()
        data = s.MoveInInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if not account.bill_cycle_code:
            # Every account has a bill cycle: the one given, else the default for the service point.
            cycle = data.validated_data.get("bill_cycle_code") or services.bill_cycle_default(
                service_point=data.validated_data["service_point"])
            if not cycle:
                return Response({"bill_cycle_code": [services.NO_BILL_CYCLE_MESSAGE]}, status=status.HTTP_400_BAD_REQUEST)
            try:
                data.validated_data["bill_cycle_code"] = s.check_bill_cycle_code(cycle)
            except serializers.ValidationError as exc:
                return Response({"bill_cycle_code": exc.detail}, status=status.HTTP_400_BAD_REQUEST)
        else:
            data.validated_data.pop("bill_cycle_code", None)
        try:
            result = services.move_in_request(
                account=account, today=utility_today(), user=request.user, **data.validated_data
            )
        except services.MoveError as exc:
            return _move_error_response(exc)
        except IntegrityError as exc:
            return _duplicate_move_response(exc)
        return _move_response(result)


@extend_schema_view(
    list=extend_schema(summary="List moves", description="`?status=pending` lists the moves waiting for their date."),
    retrieve=extend_schema(summary="Get a move by id"),
)
class MoveViewSet(_ReadViewSet):
    queryset = Move.objects.select_related("account", "service_point", "agreement", "requested_by")
    serializer_class = s.MoveSerializer
    filterset_class = filters.MoveFilter
    ordering_fields = ["effective_date", "requested_at", "id"]

    @extend_schema(summary="Cancel a pending move", request=None,
                   responses={200: s.MoveSerializer, 400: OpenApiResponse(_DETAIL, description="The move is not pending.")})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        move = self.get_object()
        try:
            move = services.move_cancel(move=move, user=request.user)
        except services.MoveError as exc:
            return _move_error_response(exc)
        return Response(s.MoveSerializer(move).data)


# --- service agreements ---------------------------------------------------------------

@extend_schema_view(
    list=extend_schema(summary="List service agreements",
                       description="`active_on=YYYY-MM-DD` keeps agreements with start_date <= day < end_date."),
    retrieve=extend_schema(summary="Get an agreement by agreement_number"),
)
class AgreementViewSet(_ReadViewSet):
    """Create and read only: an agreement is billing history. It stops by a move-out, and a
    rate change is a new agreement, so no update or delete is offered."""

    queryset = ServiceAgreement.objects.select_related("account", "service_point")
    serializer_class = s.AgreementSerializer
    lookup_field = "agreement_number"
    filterset_class = filters.AgreementFilter
    ordering_fields = ["start_date", "agreement_number"]

    @extend_schema(summary="Create a service agreement", request=s.AgreementCreateSerializer,
                   responses={201: s.AgreementSerializer, 400: BAD_REQUEST})
    def create(self, request: Request) -> Response:
        data = s.AgreementCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            agreement = call_service(services.agreement_create, user=request.user, **data.validated_data)
        except services.AgreementOverlapError as exc:
            return _move_error_response(exc)
        return Response(s.AgreementSerializer(agreement).data, status=status.HTTP_201_CREATED)


# --- contacts, notes, complaints ------------------------------------------------------

class _AccountEntryViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, _ReadViewSet):
    ordering_fields = ["created_at", "id"]
    read_roles = CASE_NOTE_READ_ROLES


@extend_schema_view(
    list=extend_schema(summary="List contacts (customer interactions)"),
    retrieve=extend_schema(summary="Get a contact"),
    create=extend_schema(summary="Log a contact"),
    update=extend_schema(summary="Replace a contact"),
    partial_update=extend_schema(summary="Change a contact (e.g. close it)"),
)
class ContactViewSet(_AccountEntryViewSet):
    queryset = Contact.objects.select_related("account", "created_by")
    serializer_class = s.ContactSerializer
    filterset_class = filters.ContactFilter

    @property
    def write_roles(self):
        # Partners' call centres log the calls they take; editing stays with the utility's CSRs.
        if self.action == "create":
            return (Role.CSR, Role.API_CLIENT)
        return WRITE_ROLES

    def perform_create(self, serializer: BaseSerializer[Contact]) -> None:
        serializer.instance = call_service(services.contact_log, user=self.request.user, **serializer.validated_data)


@extend_schema_view(
    list=extend_schema(summary="List notes"),
    retrieve=extend_schema(summary="Get a note"),
    create=extend_schema(summary="Add a note to an account"),
    update=extend_schema(summary="Replace a note"),
    partial_update=extend_schema(summary="Change a note (e.g. pin it)"),
)
class NoteViewSet(_AccountEntryViewSet):
    queryset = Note.objects.select_related("account", "created_by")
    serializer_class = s.NoteSerializer
    filterset_class = filters.NoteFilter

    def perform_create(self, serializer: BaseSerializer[Note]) -> None:
        serializer.instance = call_service(services.note_add, user=self.request.user, **serializer.validated_data)


@extend_schema_view(
    list=extend_schema(summary="List complaints"),
    retrieve=extend_schema(summary="Get a complaint"),
    create=extend_schema(summary="Open a complaint"),
    update=extend_schema(summary="Replace a complaint"),
    partial_update=extend_schema(summary="Change a complaint (status, resolution)"),
)
class ComplaintViewSet(_AccountEntryViewSet):
    queryset = Complaint.objects.select_related("account", "created_by")
    serializer_class = s.ComplaintSerializer
    filterset_class = filters.ComplaintFilter

    def perform_create(self, serializer: BaseSerializer[Complaint]) -> None:
        serializer.instance = call_service(services.complaint_open, user=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer: BaseSerializer[Complaint]) -> None:
        fields = {k: v for k, v in serializer.validated_data.items() if k != "account"}
        serializer.instance = call_service(
            services.complaint_update, complaint=serializer.instance, today=utility_today(),
            user=self.request.user, **fields,
        )


# --- search ---------------------------------------------------------------------------

class SearchView(APIView):
    """The hub's one-box search over accounts (cis.selectors.search_accounts_page), a page at
    a time: `next` and `previous` link the neighbouring pages."""

    schema = ApiAutoSchema()
    read_roles = READ_ROLES
    pagination_class = SearchPagination

    @extend_schema(
        summary="Search accounts",
        description="`kind=auto` guesses from the query (digits: account number, phone...; words: name, address). "
        "Best first, a page at a time (`page`, `page_size`); `next` is null on the last page. Only the first "
        f"{selectors.SEARCH_MAX_HITS} hits are paged: deeper, narrow the search. A role that may not read "
        "government IDs (docs/cis.md, Personal data by role) is not searched by ID number: `kind=id_number` "
        "is refused (403) and `auto` leaves it out.",
        parameters=[s.SearchQuerySerializer],
        responses={200: s.SearchHitSerializer(many=True), 400: BAD_REQUEST},
    )
    def get(self, request: Request) -> Response:
        query = s.SearchQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        hidden = selectors.search_kinds_hidden_from(request.user)
        if params["kind"] in hidden:
            return Response({"detail": "Your role may not search by this kind (it matches on personal data)."},
                            status=status.HTTP_403_FORBIDDEN)
        results = selectors.search_accounts_page(
            params["q"], kind=params["kind"], status=params["status"], commodity=params["commodity"],
            page=params["page"], per_page=params["page_size"], hidden_kinds=hidden,
        )
        paginator = SearchPagination()
        hits = paginator.paginate(results, request)
        return paginator.get_paginated_response(s.SearchHitSerializer(hits, many=True).data)
