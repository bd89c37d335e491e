from __future__ import annotations

from rest_framework import serializers


class AccountOut(serializers.Serializer):
    account_number = serializers.CharField()
    status = serializers.CharField()
    service_address = serializers.CharField()
    balance = serializers.DecimalField(max_digits=14, decimal_places=2)
    amount_due = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    due_date = serializers.DateField(allow_null=True)


class BillOut(serializers.Serializer):
    id = serializers.IntegerField()
    bill_number = serializers.CharField()
    status = serializers.CharField()
    bill_date = serializers.DateField()
    period_start = serializers.DateField()
    period_end = serializers.DateField(help_text="Exclusive.")
    due_date = serializers.DateField()
    total = serializers.DecimalField(max_digits=14, decimal_places=2)
    amount_due = serializers.DecimalField(max_digits=14, decimal_places=2)


class BillLineOut(serializers.Serializer):
    description = serializers.CharField()
    quantity = serializers.DecimalField(max_digits=18, decimal_places=6, allow_null=True)
    unit = serializers.CharField()
    price = serializers.DecimalField(max_digits=18, decimal_places=6, allow_null=True)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    how = serializers.CharField(help_text="How the amount is worked out, in words.")


class BillDetailOut(BillOut):
    lines = BillLineOut(many=True)


class UsageQuery(serializers.Serializer):
    start = serializers.DateField(help_text="First local day.")
    end = serializers.DateField(help_text="Last local day (inclusive).")
    group = serializers.ChoiceField(choices=["interval", "hour", "day", "month"], default="day")

    def validate(self, attrs):
        if attrs["end"] < attrs["start"]:
            raise serializers.ValidationError({"end": "The end date is before the start date."})
        days = (attrs["end"] - attrs["start"]).days + 1
        limit = 31 if attrs["group"] in ("interval", "hour") else 400
        if days > limit:
            raise serializers.ValidationError(
                {"end": f"At most {limit} days at a time for group={attrs['group']}."})
        return attrs


class RangeQuery(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField(help_text="Inclusive.")

    def validate(self, attrs):
        if attrs["end"] < attrs["start"]:
            raise serializers.ValidationError({"end": "The end date is before the start date."})
        if (attrs["end"] - attrs["start"]).days + 1 > 400:
            raise serializers.ValidationError({"end": "At most 400 days at a time."})
        return attrs


class UsageRowOut(serializers.Serializer):
    service_point = serializers.CharField()
    unit = serializers.CharField()
    direction = serializers.CharField(help_text="delivered (used) or received (sent to the grid).")
    period = serializers.CharField(help_text="Interval start (ISO 8601, UTC) or the local hour, day or month.")
    actual = serializers.FloatField()
    estimated = serializers.FloatField()
