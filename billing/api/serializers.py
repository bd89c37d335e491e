"""Small serializers for the billing API: the bill calculator's input and output; bills, the
ledger and billed-through dates (output, and the query parameters they take)."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from django.conf import settings
from rest_framework import serializers

from billing.models import Bill, LedgerEntry

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


# ---- bills, the ledger and billed-through dates (billing/api/bills.py, ledger.py) ------------

class BillSerializer(serializers.Serializer):
    """A bill's header and totals."""

    id = serializers.IntegerField()
    bill_number = serializers.CharField(allow_null=True, help_text="Given at issue; null on a draft.")
    account = serializers.CharField(source="account.account_number", help_text="The bill account's number.")
    run = serializers.IntegerField(source="run_id", allow_null=True, help_text="The bill run, null for a bill outside one.")
    kind = serializers.ChoiceField(choices=Bill.Kind.choices)
    status = serializers.ChoiceField(choices=Bill.Status.choices)
    period_start = serializers.DateField()
    period_end = serializers.DateField(help_text="Exclusive: the first day not billed.")
    bill_date = serializers.DateField()
    due_date = serializers.DateField()
    total = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="This bill's charges.")
    balance_forward = serializers.DecimalField(max_digits=14, decimal_places=2)
    amount_due = serializers.DecimalField(max_digits=14, decimal_places=2)
    consumption = serializers.DecimalField(max_digits=20, decimal_places=6)
    replaces = serializers.IntegerField(source="replaces_id", allow_null=True, help_text="The bill this one rebills.")
    issued_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)
    cancel_reason = serializers.CharField(allow_blank=True)


class BillLineSerializer(serializers.Serializer):
    sequence = serializers.IntegerField()
    description = serializers.CharField(allow_blank=True)
    component_kind = serializers.CharField(help_text="The rate component kind that made the line (flat, tiered, tou...).")
    component_code = serializers.CharField(help_text="The component's code in the rate version.")
    quantity = serializers.DecimalField(max_digits=20, decimal_places=6, allow_null=True)
    unit = serializers.CharField(allow_blank=True)
    price = serializers.DecimalField(max_digits=20, decimal_places=8, allow_null=True)
    tier = serializers.CharField(allow_blank=True)
    tou_period = serializers.CharField(allow_blank=True)
    proration = serializers.DecimalField(max_digits=12, decimal_places=8, allow_null=True)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    how = serializers.CharField(allow_blank=True, help_text='How it was worked out, in words ("500 kWh × $0.10").')
    rule = serializers.CharField(help_text="The block, TOU period and rate rule behind it.")
    details = serializers.DictField(help_text="The rating breakdown the line stored (block limits, percent...).")


class BillSegmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    agreement = serializers.CharField(source="agreement.agreement_number")
    service_point = serializers.CharField(source="service_point.sp_number")
    rate_code = serializers.CharField()
    period_start = serializers.DateField()
    period_end = serializers.DateField(help_text="Exclusive.")
    live = serializers.BooleanField(help_text="False once the bill is cancelled.")
    determinants = serializers.DictField(help_text="The usage it was rated on (consumption, demand, reads...).")
    subtotal = serializers.DecimalField(max_digits=14, decimal_places=2)
    lines = BillLineSerializer(many=True)


class BillDetailSerializer(BillSerializer):
    """A bill as billing/api/bills.bill_for_detail prepares it."""

    replaced_by = serializers.IntegerField(source="api_replaced_by", allow_null=True,
                                           help_text="The rebill that replaced this bill.")
    segments = BillSegmentSerializer(source="api_segments", many=True)
    segments_total = serializers.DecimalField(source="api_segments_total", max_digits=14, decimal_places=2,
                                              help_text="Sum of the segments.")
    pdf = serializers.CharField(source="api_pdf", help_text="Where its PDF is served.")
    pdf_status = serializers.CharField(source="api_pdf_status", allow_null=True,
                                       help_text="pending, ready, failed, or null when never asked for.")


class BillPdfPreparingSerializer(serializers.Serializer):
    detail = serializers.CharField()
    status = serializers.CharField(help_text="pending (being rendered) or failed (rendering is asked for again).")
    retry_after = serializers.IntegerField(help_text="Seconds to wait before asking again (also the Retry-After header).")


class BillListQuerySerializer(serializers.Serializer):
    account = serializers.CharField(required=False, max_length=30, help_text="Account number.")
    status = serializers.ChoiceField(choices=Bill.Status.choices, required=False)
    kind = serializers.ChoiceField(choices=Bill.Kind.choices, required=False)
    bill_number = serializers.CharField(required=False, max_length=20)
    bill_date_after = serializers.DateField(required=False, help_text="Bill date on or after.")
    bill_date_before = serializers.DateField(required=False, help_text="Bill date on or before.")
    run = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1, help_text="Bill run id.")

    def validate(self, attrs):
        after, before = attrs.get("bill_date_after"), attrs.get("bill_date_before")
        if after and before and before < after:
            raise serializers.ValidationError({"bill_date_before": "Must be on or after bill_date_after."})
        return attrs


class LedgerEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=LedgerEntry.Kind.choices)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2,
                                      help_text="Positive: owed by the customer; negative: a payment or credit.")
    effective_date = serializers.DateField()
    description = serializers.CharField()
    reason = serializers.CharField(allow_blank=True)
    bill = serializers.IntegerField(source="bill_id", allow_null=True)
    bill_number = serializers.CharField(source="bill.bill_number", allow_null=True, default=None)
    reverses = serializers.IntegerField(source="reverses_id", allow_null=True)
    payment_reference = serializers.CharField(allow_blank=True)
    posted_at = serializers.DateTimeField()
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)


class LedgerQuerySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=LedgerEntry.Kind.choices, required=False)
    effective_after = serializers.DateField(required=False, help_text="Effective on or after.")
    effective_before = serializers.DateField(required=False, help_text="Effective on or before.")


class AsOfQuerySerializer(serializers.Serializer):
    as_of = serializers.DateField(required=False, help_text="Count entries effective on or before this day "
                                                            "(default: today, the utility's local day).")


class BalanceSerializer(serializers.Serializer):
    account = serializers.CharField()
    as_of = serializers.DateField()
    balance = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="Positive: the customer owes.")


class AgingSerializer(serializers.Serializer):
    account = serializers.CharField()
    as_of = serializers.DateField()
    current = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="0-29 days (and unused credit).")
    days_30 = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="30-59 days.")
    days_60 = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="60-89 days.")
    days_90_plus = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="90 days and older.")
    total = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="The balance.")


class BilledThroughRowSerializer(serializers.Serializer):
    agreement = serializers.CharField()
    service_point = serializers.CharField()
    rate_code = serializers.CharField()
    start_date = serializers.DateField()
    end_date = serializers.DateField(allow_null=True, help_text="Exclusive; null while in service.")
    billed_through = serializers.DateField(allow_null=True, help_text="Last day (inclusive) an issued bill covers.")
    # The answer's key is "source"; DRF pops declared fields off the class, so it does not
    # shadow Field.source at run time (mypy only sees the class attribute).
    source = serializers.ChoiceField(choices=["bills", "conversion", ""],  # type: ignore[assignment]
                                     help_text="bills; conversion (a legacy CIS's date loaded in MDM); '' never billed.")
    drafted_through = serializers.DateField(allow_null=True, help_text="Last day a draft or approved bill not yet "
                                                                       "issued covers, when later.")
    next_period_start = serializers.DateField(help_text="The first day the next bill will cover.")


class BilledThroughSerializer(serializers.Serializer):
    account = serializers.CharField()
    agreements = BilledThroughRowSerializer(many=True)


class BilledThroughQuerySerializer(serializers.Serializer):
    agreement = serializers.CharField(required=False, max_length=20, help_text="Only this agreement (its number).")
