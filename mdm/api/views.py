"""MDM REST API: read imports (upload, poll, quarantine), meters and their interval data.

Head-ends (API clients) and metering staff upload; CSRs and billing staff read."""
from __future__ import annotations

from core.clock import utility_zone
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from core.roles import Role
from cis.selectors import service_point_ids_for_number, service_point_rate_classes
from mdm import importing, selectors
from mdm.api.serializers import (
    DeterminantQuerySerializer,
    DeterminantsSerializer,
    ImportRunSerializer,
    ImportUploadSerializer,
    IntervalQuerySerializer,
    QuarantinedRecordSerializer,
    ResubmitSerializer,
    flag_name,
)
from mdm.models import ImportRun, Meter, QuarantinedRecord

READERS = (Role.CSR, Role.BILLING, Role.METERING, Role.API_CLIENT)
METERING = (Role.METERING,)


MULTIPART_SLACK = 64 * 1024  # bytes of a multipart body that are not the file


class ImportListCreate(generics.ListAPIView):
    """GET: recent import runs. POST (multipart `file`, `format`): 202 with the run to poll."""

    read_roles = READERS
    write_roles = (Role.METERING, Role.API_CLIENT)
    serializer_class = ImportRunSerializer
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self):
        return ImportRun.objects.order_by("-created_at", "-id")

    @extend_schema(request=ImportUploadSerializer, responses={202: ImportRunSerializer})
    def post(self, request):
        # Refused before the body is read when the client announces a size above the limit
        # (with room for the multipart envelope; the file itself is checked below).
        try:
            importing.upload_size_check(max(int(request.META.get("CONTENT_LENGTH") or 0) - MULTIPART_SLACK, 0) or None)
        except importing.ImportInputError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        except ValueError:
            pass
        data = ImportUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        try:
            # the upload (a temporary file above FILE_UPLOAD_MAX_MEMORY_SIZE) is streamed to storage
            run = importing.import_run_submit(
                content=upload, file_name=upload.name, format=data.validated_data["format"],
                now=timezone.now(), user=request.user, time_zone=data.validated_data.get("time_zone", ""),
            )
        except importing.ImportInputError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        return Response(ImportRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class ImportDetail(generics.RetrieveAPIView):
    read_roles = READERS
    serializer_class = ImportRunSerializer
    queryset = ImportRun.objects.all()


class ImportQuarantine(generics.ListAPIView):
    read_roles = READERS
    serializer_class = QuarantinedRecordSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no run to look up
            return QuarantinedRecord.objects.none()
        run = get_object_or_404(ImportRun, pk=self.kwargs["pk"])
        return selectors.import_run_quarantine(import_run=run, status=self.request.query_params.get("status", ""))


class QuarantineResubmit(APIView):
    """POST {"fixed_raw": "..."}: parse the corrected record and load it."""

    read_roles = READERS
    write_roles = METERING

    @extend_schema(request=ResubmitSerializer, responses={200: QuarantinedRecordSerializer})
    def post(self, request, pk: int):
        record = get_object_or_404(QuarantinedRecord.objects.select_related("import_run"), pk=pk)
        data = ResubmitSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            importing.quarantine_record_resubmit(
                record=record, fixed_raw=data.validated_data["fixed_raw"], now=timezone.now(), user=request.user
            )
        except importing.QuarantineError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        record.refresh_from_db()
        return Response(QuarantinedRecordSerializer(record).data)


class QuarantineDiscard(APIView):
    read_roles = READERS
    write_roles = METERING

    @extend_schema(request=None, responses={200: QuarantinedRecordSerializer})
    def post(self, request, pk: int):
        record = get_object_or_404(QuarantinedRecord, pk=pk)
        try:
            importing.quarantine_record_discard(record=record, now=timezone.now(), user=request.user)
        except importing.QuarantineError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(QuarantinedRecordSerializer(record).data)


class MeterIntervals(APIView):
    """Interval values with quality flags over local dates [start, end), each interval with its
    UTC start and end."""

    read_roles = READERS

    @extend_schema(parameters=[IntervalQuerySerializer], responses={200: dict})
    def get(self, request, serial: str):
        meter = get_object_or_404(Meter, serial_number=serial)
        query = IntervalQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        tz = utility_zone()
        series = selectors.meter_intervals(
            meter=meter, start_date=query.validated_data["start"], end_date=query.validated_data["end"], tz=tz
        )
        return Response({
            "meter": meter.serial_number,
            "time_zone": str(tz.key),
            "start": query.validated_data["start"],
            "end": query.validated_data["end"],
            "channels": [
                {
                    "id": ch.pk, "unit": ch.unit, "direction": ch.direction, "interval_minutes": ch.interval_minutes,
                    "intervals": [
                        {"start": p.start_at, "end": p.end_at, "value": p.value, "flag": flag_name(p.flag)}
                        for p in points
                    ],
                }
                for ch, points in series.items()
            ],
        })


class Determinants(APIView):
    """Billing determinants of a service point (or its virtual meter) over local dates
    [start, end), counting only days before `as_of`: total consumption with multipliers, per TOU
    period of the given grid, maximum demand, received energy, estimated/missing counts and
    whether the data is complete. A meter exchange inside the period is included."""

    read_roles = (Role.BILLING, Role.METERING, Role.CSR, Role.API_CLIENT)

    @extend_schema(parameters=[DeterminantQuerySerializer], responses={200: DeterminantsSerializer})
    def get(self, request):
        from mdm.determinants import DeterminantError

        query = DeterminantQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        sp_id = _service_point_id(q["service_point"])
        if sp_id is None:
            return Response({"service_point": ["No such service point."]}, status=status.HTTP_404_NOT_FOUND)
        try:
            det = selectors.determinants_for_agreement_period(
                service_point_id=sp_id, start_date=q["start"], end_date=q["end"], as_of=q["as_of"],
                tou_grids=q.get("tou_schedule"), demand_window_minutes=int(q["demand_window"]),
                demand_rolling=q["rolling"],
            )
        except DeterminantError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        data = {
            "service_point": sp_id, "period_start": det.period_start, "period_end": det.period_end,
            "interval_minutes": det.interval_minutes, "total": det.total,
            "by_tou": {str(k): v for k, v in det.by_tou.items()},
            "max_demand_kw": det.max_demand_kw, "max_demand_at": det.max_demand_at,
            "max_demand_by_tou": {str(k): v for k, v in det.max_demand_by_tou.items()},
            "demand_window_minutes": det.demand_window_minutes, "demand_rolling": det.demand_rolling,
            "received_total": det.received_total, "received_by_tou": {str(k): v for k, v in det.received_by_tou.items()},
            "interval_count": det.interval_count, "missing_intervals": det.missing_intervals,
            "estimated_intervals": det.estimated_intervals, "edited_intervals": det.edited_intervals,
            "failed_intervals": det.failed_intervals, "complete": det.complete,
        }
        if q["detail"] == "hour":
            data["by_hour"] = [{"start": t, "quantity": str(v)} for t, v in det.by_hour]
        elif q["detail"] == "interval":
            data["by_interval"] = [{"start": t, "quantity": None if v is None else str(v)} for t, v in det.by_interval]
        return Response(DeterminantsSerializer(data).data)


def _service_point_id(value: str) -> int | None:
    """A service point id, or the id of the service point with that number."""
    value = value.strip()
    if value.isdigit() and service_point_rate_classes(service_point_ids=[int(value)]):
        return int(value)
    ids = service_point_ids_for_number(number=value)
    return ids[0] if ids else None
