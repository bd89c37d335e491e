"""Small input/output serializers of the MDM REST API."""
from __future__ import annotations

from rest_framework import serializers

from mdm.flags import Flag
from mdm.importing import FORMATS
from mdm.models import Channel, ImportRun, Meter, QuarantinedRecord


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    format = serializers.ChoiceField(choices=[])

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


class MeterSerializer(serializers.ModelSerializer):
    channels = ChannelSerializer(many=True, read_only=True)

    class Meta:
        model = Meter
        fields = ["id", "serial_number", "manufacturer", "model", "kind", "ami_capable", "status", "channels"]


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


def flag_name(code: int) -> str:
    try:
        return Flag(code).name.lower()
    except ValueError:
        return str(code)
