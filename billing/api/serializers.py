"""Small serializers for the billing API: the bill calculator's input and output."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from django.conf import settings
from rest_framework import serializers

def _number() -> serializers.DecimalField:
    """A decimal of any size and precision (the calculator's interval values)."""
    return serializers.DecimalField(max_digits=None, decimal_places=None)


class CalculatorInputSerializer(serializers.Serializer):
    rate_schedule = serializers.CharField(
        required=False, help_text="A rate schedule's id or code. Give this or `urdb`.")
    urdb = serializers.JSONField(
        required=False, help_text="An OpenEI URDB tariff (object, or JSON text). Give this or `rate_schedule`.")
    start = serializers.DateTimeField(
        default_timezone=ZoneInfo(settings.UTILIS_LOCAL_TIME_ZONE),
        help_text="Start of the first interval; without an offset it is the utility's local time.")
    interval_minutes = serializers.IntegerField(min_value=1, max_value=60, help_text="Must divide 60.")
    values = serializers.ListField(child=_number(), allow_empty=False, max_length=200_000,
                                   help_text="Energy per interval (kWh), or average kW with unit=kW.")
    unit = serializers.ChoiceField(choices=["kWh", "kW"], default="kWh")
    received = serializers.ListField(child=_number(), required=False, max_length=200_000,
                                     help_text="Energy received from the customer per interval (kWh), optional.")

    def validate_interval_minutes(self, value: int) -> int:
        if 60 % value:
            raise serializers.ValidationError("The interval length must divide 60 (1, 5, 15, 30, 60...).")
        return value

    def validate(self, attrs):
        if ("rate_schedule" in attrs) == ("urdb" in attrs):
            raise serializers.ValidationError({"rate_schedule": "Give either rate_schedule or urdb (one of them)."})
        received = attrs.get("received")
        if received and len(received) != len(attrs["values"]):
            raise serializers.ValidationError(
                {"received": f"Has {len(received)} values; values has {len(attrs['values'])}."})
        return attrs


class CalculatorLineSerializer(serializers.Serializer):
    part_start = serializers.DateField()
    part_end = serializers.DateField()
    component_code = serializers.CharField()
    component_kind = serializers.CharField()
    description = serializers.CharField()
    quantity = serializers.DecimalField(max_digits=20, decimal_places=6, allow_null=True)
    unit = serializers.CharField()
    price = serializers.DecimalField(max_digits=20, decimal_places=8, allow_null=True)
    tier = serializers.IntegerField(allow_null=True)
    tou_period = serializers.CharField(allow_null=True)
    proration = serializers.DecimalField(max_digits=12, decimal_places=8)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)


class CalculatorMonthSerializer(serializers.Serializer):
    period_start = serializers.DateField()
    period_end = serializers.DateField(help_text="Exclusive.")
    consumption_kwh = serializers.DecimalField(max_digits=20, decimal_places=6)
    received_kwh = serializers.DecimalField(max_digits=20, decimal_places=6)
    max_demand_kw = serializers.DecimalField(max_digits=20, decimal_places=6)
    lines = CalculatorLineSerializer(many=True)
    total = serializers.DecimalField(max_digits=14, decimal_places=2)


class CalculatorResultSerializer(serializers.Serializer):
    rate_code = serializers.CharField()
    months = CalculatorMonthSerializer(many=True)
    total = serializers.DecimalField(max_digits=14, decimal_places=2)
