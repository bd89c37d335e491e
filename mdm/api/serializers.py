"""Small input/output serializers of the MDM REST API."""
from __future__ import annotations

from decimal import Decimal
from typing import ClassVar, cast
from zoneinfo import ZoneInfo

from django.conf import settings

from drf_spectacular.extensions import OpenApiViewExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.views import APIView

from core.http import ApiAutoSchema, ErrorSerializer

from mdm.flags import Flag
from mdm.importing import FORMATS, ImportInputError, time_zone_check
from mdm.models import Channel, ImportRun, Installation, Meter, QuarantinedRecord


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The read file; above UTILIS_IMPORT_MAX_UPLOAD_BYTES it is refused (413).")
    format = serializers.ChoiceField(choices=[])
    time_zone = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=64,
        help_text="IANA zone of the file's timestamps without an offset; blank: UTILIS_READ_FILE_TIME_ZONE.",
    )

    def validate_time_zone(self, value: str) -> str:
        try:
            return time_zone_check(value)
        except ImportInputError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["format"].choices = sorted(FORMATS)


class ImportRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = ImportRun
        fields = [
            "id", "file_name", "format", "status", "sha256", "duplicate_of", "records", "intervals_loaded",
            "intervals_unchanged", "intervals_corrected", "registers_loaded", "quarantined", "progress_done",
            "progress_total", "error", "created_at", "started_at", "finished_at",
        ]


class QuarantinedRecordSerializer(serializers.ModelSerializer):
    class Meta:
        model = QuarantinedRecord
        fields = ["id", "import_run", "file_name", "line", "field", "message", "raw", "status", "fixed_raw",
                  "resubmit_run", "resolved_at"]


class ResubmitSerializer(serializers.Serializer):
    fixed_raw = serializers.CharField(trim_whitespace=False)


class ChannelSerializer(serializers.ModelSerializer):
    class Meta:
        model = Channel
        fields = ["id", "channel_number", "unit", "direction", "interval_minutes", "dials"]


class InstallationSerializer(serializers.ModelSerializer):
    """One period of the record of installation: the meter at a service point over
    [installed_at, removed_at), with the register reads taken in and out."""

    meter = serializers.CharField(source="meter.serial_number", read_only=True, help_text="The meter's serial number.")
    service_point = serializers.CharField(source="service_point.sp_number", read_only=True,
                                          help_text="The service point's number.")
    current = serializers.SerializerMethodField(help_text="True while the meter is still installed there.")

    class Meta:
        model = Installation
        fields = ["id", "meter", "service_point", "commodity", "installed_at", "removed_at", "install_read",
                  "removal_read", "current"]

    def get_current(self, obj: Installation) -> bool:
        return obj.removed_at is None


class MeterSerializer(serializers.ModelSerializer):
    channels = ChannelSerializer(many=True, read_only=True)
    installations = InstallationSerializer(many=True, read_only=True,
                                           help_text="The record of installation, latest first.")

    class Meta:
        model = Meter
        fields = ["id", "serial_number", "manufacturer", "model", "kind", "ami_capable", "status", "channels",
                  "installations", "created_at", "updated_at"]


class ChannelInputSerializer(serializers.Serializer):
    unit = serializers.ChoiceField(choices=Channel.Unit.choices)
    direction = serializers.ChoiceField(choices=Channel.Direction.choices, default=Channel.Direction.DELIVERED)
    interval_minutes = serializers.ChoiceField(choices=[5, 15, 30, 60], required=False, allow_null=True, default=None,
                                               help_text="Interval length; null or left out for a register channel.")
    dials = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1, max_value=12,
                                     help_text="Register digits (it rolls over at 10^dials).")


class MultiplierInputSerializer(serializers.Serializer):
    start_date = serializers.DateField()
    end_date = serializers.DateField(required=False, allow_null=True, default=None, help_text="Exclusive; null: open.")
    ct_ratio = serializers.DecimalField(max_digits=12, decimal_places=4, min_value=Decimal("0.0001"), default=Decimal(1))
    pt_ratio = serializers.DecimalField(max_digits=12, decimal_places=4, min_value=Decimal("0.0001"), default=Decimal(1))
    register_constant = serializers.DecimalField(max_digits=12, decimal_places=6, min_value=Decimal("0.000001"),
                                                 default=Decimal(1))

    def validate(self, attrs):
        if attrs["end_date"] is not None and attrs["end_date"] <= attrs["start_date"]:
            raise serializers.ValidationError({"end_date": "The end date must be after the start date."})
        return attrs


def _text(max_length: int, help_text: str = "", required: bool = False) -> serializers.CharField:
    return serializers.CharField(max_length=max_length, required=required, allow_blank=not required,
                                 default=serializers.empty if required else "", help_text=help_text)


def _reason() -> serializers.CharField:
    return _text(500, "Why (kept in the audit trail with the user).")


def _local_instant(help_text: str) -> serializers.DateTimeField:
    return serializers.DateTimeField(default_timezone=ZoneInfo(settings.UTILIS_LOCAL_TIME_ZONE),
                                     help_text=help_text + " Without an offset it is the utility's local time.")


def _register_read(help_text: str) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=14, decimal_places=4, min_value=Decimal(0), required=False,
                                    allow_null=True, default=None, help_text=help_text)


class MeterCreateSerializer(serializers.Serializer):
    serial_number = _text(50, "The manufacturer's serial number (unique; a second create with it answers 409).",
                          required=True)
    kind = serializers.ChoiceField(choices=Meter.Kind.choices)
    manufacturer = _text(100)
    model = _text(100)
    ami_capable = serializers.BooleanField(default=True)
    channels = ChannelInputSerializer(many=True, help_text="Numbered 1.. in this order.")
    multipliers = MultiplierInputSerializer(many=True, required=False, default=list,
                                            help_text="CT/PT ratio periods, applied to every channel.")
    reason = _reason()

    def validate_channels(self, value):
        if not value:
            raise serializers.ValidationError("A meter needs at least one channel.")
        return value


class MeterInstallSerializer(serializers.Serializer):
    service_point = _text(20, "The service point's number.", required=True)
    installed_at = _local_instant("When the meter was set.")
    install_read = _register_read("The register read when it was set.")
    reason = _reason()


class MeterRemoveSerializer(serializers.Serializer):
    removed_at = _local_instant("When the meter was taken out.")
    removal_read = _register_read("The final register read.")
    reason = _reason()


class MeterExchangeSerializer(serializers.Serializer):
    new_meter = _text(50, "Serial number of the meter put in.", required=True)
    at = _local_instant("When the old meter came out and the new one went in (one instant).")
    removal_read = _register_read("The old meter's final read.")
    install_read = _register_read("The new meter's first read.")
    reason = _reason()


class MeterExchangeResultSerializer(serializers.Serializer):
    removed = InstallationSerializer(help_text="The old meter's installation, now closed.")
    installed = InstallationSerializer(help_text="The new meter's installation, open.")


class IntervalQuerySerializer(serializers.Serializer):
    start = serializers.DateField(help_text="First local date (inclusive).")
    end = serializers.DateField(required=False, help_text="Last local date, exclusive (default: start + 1 day).")

    MAX_DAYS = 93

    def validate(self, attrs):
        import datetime as dt

        attrs.setdefault("end", attrs["start"] + dt.timedelta(days=1))
        days = (attrs["end"] - attrs["start"]).days
        if days <= 0:
            raise serializers.ValidationError("end must be after start.")
        if days > self.MAX_DAYS:
            raise serializers.ValidationError(f"At most {self.MAX_DAYS} days per request.")
        return attrs


class IntervalPointSerializer(serializers.Serializer):
    start = serializers.DateTimeField(help_text="UTC start of the interval.")
    end = serializers.DateTimeField(help_text="UTC end of the interval (exclusive).")
    value = serializers.FloatField(allow_null=True, help_text="null for a missing interval.")
    flag = serializers.CharField(help_text="Quality flag (mdm.flags.Flag), lower case.")


class ChannelIntervalsSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    unit = serializers.CharField()
    direction = serializers.CharField()
    interval_minutes = serializers.IntegerField()
    intervals = IntervalPointSerializer(many=True)


class MeterIntervalsSerializer(serializers.Serializer):
    """What GET /api/mdm/meters/{serial}/intervals/ answers (documentation of the view's body)."""

    meter = serializers.CharField(help_text="The meter's serial number.")
    time_zone = serializers.CharField(help_text="IANA zone of the local dates.")
    start = serializers.DateField()
    end = serializers.DateField()
    channels = ChannelIntervalsSerializer(many=True)


def flag_name(code: int) -> str:
    try:
        return Flag(code).name.lower()
    except ValueError:
        return str(code)


class DeterminantQuerySerializer(serializers.Serializer):
    service_point = serializers.CharField(help_text="Service point id or service point number.")
    start = serializers.DateField(help_text="First local date of the period (inclusive).")
    end = serializers.DateField(help_text="Local date after the period (exclusive).")
    as_of = serializers.DateField(
        required=False, help_text="Count only days before this date (unbilled usage to date); default: end."
    )
    tou_schedule = serializers.JSONField(
        required=False,
        help_text='URDB-style TOU grids as JSON: {"weekday": 12 months x 24 hours of period indexes, "weekend": ...}; '
                  "holidays use the weekend grid.",
    )
    demand_window = serializers.ChoiceField(choices=[5, 15, 30, 60], required=False, default=15,
                                            help_text="Demand window in minutes.")
    rolling = serializers.BooleanField(required=False, default=False, help_text="Rolling rather than fixed windows.")
    detail = serializers.ChoiceField(choices=["none", "hour", "interval"], required=False, default="none",
                                     help_text="Also return consumption by hour or by interval.")

    MAX_DAYS = 400

    def validate(self, attrs):
        from mdm.timeutil import TouGrid

        days = (attrs["end"] - attrs["start"]).days
        if days <= 0:
            raise serializers.ValidationError("end must be after start.")
        if days > self.MAX_DAYS:
            raise serializers.ValidationError(f"At most {self.MAX_DAYS} days per request.")
        attrs.setdefault("as_of", attrs["end"])
        grid = attrs.get("tou_schedule")
        if grid is not None:
            try:
                attrs["tou_schedule"] = TouGrid(
                    weekday=tuple(tuple(int(p) for p in row) for row in grid["weekday"]),
                    weekend=tuple(tuple(int(p) for p in row) for row in grid["weekend"]),
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise serializers.ValidationError({"tou_schedule": f"Not a TOU grid: {exc}"}) from exc
        return attrs


class DeterminantsSerializer(serializers.Serializer):
    """Quantities are decimal strings (6 places), in the channel's unit (kWh, m3...)."""

    service_point = serializers.IntegerField()
    period_start = serializers.DateField()
    period_end = serializers.DateField(help_text="Exclusive; the earlier of end and as_of.")
    interval_minutes = serializers.IntegerField()
    total = serializers.DecimalField(max_digits=20, decimal_places=6)
    by_tou = serializers.DictField(child=serializers.DecimalField(max_digits=20, decimal_places=6))
    max_demand_kw = serializers.DecimalField(max_digits=20, decimal_places=6)
    max_demand_at = serializers.DateTimeField(allow_null=True)
    max_demand_by_tou = serializers.DictField(child=serializers.DecimalField(max_digits=20, decimal_places=6))
    demand_window_minutes = serializers.IntegerField()
    demand_rolling = serializers.BooleanField()
    received_total = serializers.DecimalField(max_digits=20, decimal_places=6)
    received_by_tou = serializers.DictField(child=serializers.DecimalField(max_digits=20, decimal_places=6))
    interval_count = serializers.IntegerField()
    missing_intervals = serializers.IntegerField()
    estimated_intervals = serializers.IntegerField()
    edited_intervals = serializers.IntegerField()
    failed_intervals = serializers.IntegerField()
    complete = serializers.BooleanField()
    by_hour = serializers.ListField(child=serializers.DictField(), required=False,
                                    help_text='[{"start": UTC instant, "quantity": "1.500000"}]')
    by_interval = serializers.ListField(child=serializers.DictField(), required=False,
                                        help_text='[{"start": UTC instant, "quantity": "0.250000" or null}]')


# --- the OpenAPI description of the MDM views ------------------------------------------
# drf-spectacular view extensions: the views (mdm/api/views.py) get Utilis' API schema class
# (core.http.ApiAutoSchema: the 400/401/403/404 answers every operation can give) and the
# 409 answers they give when a quarantined record or a determinant cannot be worked, without
# touching the views themselves. Used only while the document is generated.

_CONFLICT = OpenApiResponse(ErrorSerializer, description="`{\"detail\": message}`: the record was already "
                            "resubmitted or discarded, or the service point cannot be measured that way.")


def _documented(target: type[APIView], **methods: dict) -> type[APIView]:
    """A subclass of `target` for the schema only: each HTTP method handler is re-declared on
    core.http.ApiAutoSchema (keeping the target's own @extend_schema), plus `extend_schema(**kwargs)`
    for the methods named here. The target's functions are left untouched. (drf-spectacular puts
    the target class back before it combines a method's schema with the view's, so the
    combination is made here.)"""
    attrs: dict[str, object] = {"schema": ApiAutoSchema(), "__module__": target.__module__}
    for name in ("get", "post", "put", "patch", "delete"):
        original = getattr(target, name, None)
        if original is None:
            continue

        def method(self, *args, _original=original, **kw):  # pragma: no cover - never served
            return _original(self, *args, **kw)

        method.__name__ = name
        method.__doc__ = original.__doc__
        own = getattr(original, "kwargs", {}).get("schema")
        base = ApiAutoSchema if own is None else type(f"{target.__name__}Schema", (own, ApiAutoSchema), {})
        method.kwargs = {"schema": base}  # type: ignore[attr-defined]  # what @extend_schema reads
        attrs[name] = extend_schema(**methods[name])(method) if name in methods else method
    return type(target.__name__, (target,), attrs)


class _DocumentedView(OpenApiViewExtension):
    """Base: `target_class` (a dotted path) documented by `_documented` with `methods`."""

    methods: ClassVar[dict[str, dict]] = {}

    def view_replacement(self) -> type[APIView]:
        return _documented(cast("type[APIView]", self.target_class), **self.methods)


class _ImportListCreateSchema(_DocumentedView):
    target_class = "mdm.api.views.ImportListCreate"


class _ImportDetailSchema(_DocumentedView):
    target_class = "mdm.api.views.ImportDetail"


class _ImportQuarantineSchema(_DocumentedView):
    target_class = "mdm.api.views.ImportQuarantine"
    methods = {"get": {"parameters": [OpenApiParameter(
        "status", str, description="Only records in this status (open, resubmitted, discarded).")]}}


class _QuarantineResubmitSchema(_DocumentedView):
    target_class = "mdm.api.views.QuarantineResubmit"
    methods = {"post": {"request": ResubmitSerializer, "responses": {200: QuarantinedRecordSerializer, 409: _CONFLICT}}}


class _QuarantineDiscardSchema(_DocumentedView):
    target_class = "mdm.api.views.QuarantineDiscard"
    methods = {"post": {"request": None, "responses": {200: QuarantinedRecordSerializer, 409: _CONFLICT}}}


class _MeterIntervalsSchema(_DocumentedView):
    target_class = "mdm.api.views.MeterIntervals"
    methods = {"get": {"parameters": [IntervalQuerySerializer], "responses": {200: MeterIntervalsSerializer}}}


class _DeterminantsSchema(_DocumentedView):
    target_class = "mdm.api.views.Determinants"
    methods = {"get": {
        "parameters": [DeterminantQuerySerializer],
        "responses": {200: DeterminantsSerializer, 409: _CONFLICT, 404: OpenApiResponse(
            ErrorSerializer, description="`{\"service_point\": [...]}`: no such service point.")}}}
