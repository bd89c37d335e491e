"""MDM REST API for meters: list and read a meter with its channels and record of
installation; provision a meter with its channels; install it at a service point, exchange it
(old out with its final read, new in with its first read) and remove it.

Every write is one call into mdm.services (which checks it, names what is wrong, and records
who and why in the audit trail); the views only map its errors to HTTP: MeterExistsError and
InstallationOverlapError are 409, MeterNotFoundError for the meter in the URL is 404, every
other MeterError is a 400 on the field it names."""
from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.actors import Actor
from core.http import ERROR_DESCRIPTIONS, ApiAutoSchema, ErrorSerializer
from core.roles import Role
from mdm import services
from mdm.api.serializers import (
    InstallationSerializer,
    MeterCreateSerializer,
    MeterExchangeResultSerializer,
    MeterExchangeSerializer,
    MeterInstallSerializer,
    MeterRemoveSerializer,
    MeterSerializer,
)
from mdm.models import Installation, Meter

READERS = (Role.CSR, Role.BILLING, Role.METERING, Role.API_CLIENT)
# Metering staff, and the outside systems that provision and swap meters (AMI head-ends,
# work-management systems); CSRs and billing staff read only.
WRITERS = (Role.METERING, Role.API_CLIENT)

_BAD = OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS["400"] + " Each message names the meter, "
                       "service point or time it is about.")
_CONFLICT = OpenApiResponse(ErrorSerializer, description="`{\"detail\": message}`: a meter with that serial number "
                            "already exists (nothing was created), or the installation would overlap another one "
                            "(the message names it).")
_NO_METER = OpenApiResponse(ErrorSerializer, description="No meter with the serial number in the URL.")


def meters_with_history() -> QuerySet[Meter]:
    installations = Installation.objects.select_related("service_point", "meter").order_by("-installed_at", "-id")
    return Meter.objects.prefetch_related("channels", Prefetch("installations", queryset=installations))


def _meter(serial: str) -> Meter:
    meter = meters_with_history().filter(serial_number=serial).first()
    if meter is None:
        raise NotFound(f"There is no meter {serial}.")
    return meter


def _error(exc: services.MeterError) -> Response:
    if isinstance(exc, (services.MeterExistsError, services.InstallationOverlapError)):
        return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
    if exc.field:
        return Response({exc.field: [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
    return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)


def _actor(request: Request, reason: str, action: str) -> Actor:
    return Actor.of(request.user, reason.strip() or f"{action} through the API")


class MeterListCreate(generics.ListAPIView):
    """GET: meters by serial number, with their channels and record of installation (paged).
    POST: provision a meter with its channels (in stock until it is installed)."""

    schema = ApiAutoSchema()
    read_roles = READERS
    write_roles = WRITERS
    serializer_class = MeterSerializer

    @extend_schema(summary="List meters", parameters=[
        OpenApiParameter("serial", str, description="Serial number or its beginning (case ignored)."),
        OpenApiParameter("status", str, enum=Meter.Status.values, description="Only meters in this status."),
        OpenApiParameter("kind", str, enum=Meter.Kind.values, description="Only meters of this kind."),
        OpenApiParameter("service_point", str, description="Only the meter(s) installed now at this service point number."),
    ])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        qs = meters_with_history().order_by("serial_number")
        params = self.request.query_params
        if serial := params.get("serial", "").strip():
            qs = qs.filter(serial_number__istartswith=serial)
        if value := params.get("status", "").strip():
            qs = qs.filter(status=value)
        if value := params.get("kind", "").strip():
            qs = qs.filter(kind=value)
        if value := params.get("service_point", "").strip():
            qs = qs.filter(Q(installations__service_point__sp_number__iexact=value)
                           & Q(installations__removed_at__isnull=True)).distinct()
        return qs

    @extend_schema(
        summary="Provision a meter",
        request=MeterCreateSerializer,
        responses={201: MeterSerializer, 400: _BAD, 409: _CONFLICT},
        examples=[OpenApiExample("An interval meter", request_only=True, value={
            "serial_number": "E9001234", "kind": "electric_single_phase", "manufacturer": "Itron", "model": "Gen5",
            "channels": [{"unit": "kWh", "direction": "delivered", "interval_minutes": 15},
                         {"unit": "kWh", "direction": "received", "interval_minutes": 15}]})],
    )
    def post(self, request):
        data = MeterCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        try:
            meter = services.meter_provision(
                serial_number=v["serial_number"], kind=v["kind"], manufacturer=v["manufacturer"], model=v["model"],
                ami_capable=v["ami_capable"], actor=_actor(request, v["reason"], "meter provisioned"),
                channels=[services.ChannelSpec(**c) for c in v["channels"]],
                multipliers=[services.MultiplierPeriod(**m) for m in v["multipliers"]],
            )
        except services.MeterError as exc:
            return _error(exc)
        return Response(MeterSerializer(_meter(meter.serial_number)).data, status=status.HTTP_201_CREATED)


class MeterDetail(generics.RetrieveAPIView):
    schema = ApiAutoSchema()
    read_roles = READERS
    serializer_class = MeterSerializer
    lookup_field = "serial_number"
    lookup_url_kwarg = "serial"

    def get_queryset(self):
        return meters_with_history()

    @extend_schema(summary="A meter with its channels and record of installation")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class _MeterAction(APIView):
    """A write on the meter in the URL: the body checked by `body`, then one mdm service call in
    `act` (its MeterError answered by _error), the result answered by `answer`."""
    schema = ApiAutoSchema()
    read_roles = READERS
    write_roles = WRITERS
    body: type[serializers.Serializer]

    def act(self, request, meter, v: dict):
        raise NotImplementedError

    def answer(self, result) -> Response:
        raise NotImplementedError

    def post(self, request, serial: str):
        meter = _meter(serial)
        data = self.body(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            result = self.act(request, meter, data.validated_data)
        except services.MeterError as exc:
            return _error(exc)
        return self.answer(result)


@extend_schema_view(post=extend_schema(
    summary="Install a meter at a service point",
    description="Opens an installation of the meter at the service point from `installed_at`. The meter "
                "must not be installed elsewhere, the service point must have no meter of that commodity then, "
                "and its commodity must be the meter's.",
    request=MeterInstallSerializer,
    responses={201: InstallationSerializer, 400: _BAD, 404: _NO_METER, 409: _CONFLICT},
))
class MeterInstall(_MeterAction):
    body = MeterInstallSerializer

    def act(self, request, meter, v):
        return services.meter_install_by_serial(
            serial_number=meter.serial_number, service_point=v["service_point"], installed_at=v["installed_at"],
            install_read=v["install_read"], actor=_actor(request, v["reason"], "meter installed"))

    def answer(self, result):
        return Response(InstallationSerializer(result).data, status=status.HTTP_201_CREATED)


@extend_schema_view(post=extend_schema(
    summary="Remove a meter from its service point",
    description="Closes the meter's open installation at `removed_at` with its final read; the meter's status "
                "becomes `removed`.",
    request=MeterRemoveSerializer,
    responses={200: InstallationSerializer, 400: _BAD, 404: _NO_METER},
))
class MeterRemove(_MeterAction):
    body = MeterRemoveSerializer

    def act(self, request, meter, v):
        return services.meter_remove_by_serial(
            serial_number=meter.serial_number, removed_at=v["removed_at"], removal_read=v["removal_read"],
            actor=_actor(request, v["reason"], "meter removed"))

    def answer(self, result):
        return Response(InstallationSerializer(result).data)


@extend_schema_view(post=extend_schema(
    summary="Exchange a meter",
    description="Takes the meter in the URL out of its service point and puts `new_meter` in at the same "
                "instant `at`, so usage stays continuous: the old installation closes with `removal_read`, the "
                "new one opens with `install_read`.",
    request=MeterExchangeSerializer,
    responses={201: MeterExchangeResultSerializer, 400: _BAD, 404: _NO_METER, 409: _CONFLICT},
))
class MeterExchange(_MeterAction):
    body = MeterExchangeSerializer

    def act(self, request, meter, v):
        return services.meter_exchange_by_serial(
            old_serial=meter.serial_number, new_serial=v["new_meter"], at=v["at"],
            removal_read=v["removal_read"], install_read=v["install_read"],
            actor=_actor(request, v["reason"], "meter exchanged"))

    def answer(self, result):
        removed, installed = result
        return Response(MeterExchangeResultSerializer({"removed": removed, "installed": installed}).data,
                        status=status.HTTP_201_CREATED)

