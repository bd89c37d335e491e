"""Billing REST API."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from django.utils.dateparse import parse_datetime
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.api.serializers import CalculatorInputSerializer, CalculatorResultSerializer
from billing.calculator import CalculatorError, calculate, parse_holidays, parse_time_zone
from billing.models import RateSchedule
from core.http import ERROR_DESCRIPTIONS, ApiAutoSchema, ErrorSerializer
from core.roles import Role

CALCULATOR_ROLES = (Role.BILLING, Role.CSR, Role.API_CLIENT)


def _schedule(value: str) -> RateSchedule | None:
    value = value.strip()
    if value.isdigit():
        found = RateSchedule.objects.filter(pk=int(value)).first()
        if found is not None:
            return found
    return RateSchedule.objects.filter(code=value).first()


class CalculatorCalendarInputSerializer(CalculatorInputSerializer):
    """The calculator's input with its calendar: the zone and holidays a load is priced in."""

    time_zone = serializers.CharField(
        required=False, allow_blank=True,
        help_text="IANA time zone the load's local times, TOU hours and months are in (default: the utility's); "
                  "a `start` without an offset is local time in it.")
    holidays = serializers.JSONField(
        required=False,
        help_text='Holidays priced on the weekend TOU grid: a country or country-subdivision code ("CA-ON", "US"), '
                  'a list of ISO dates, or "none" (default: the utility\'s).')

    def validate_time_zone(self, value: str) -> str | None:
        try:
            return parse_time_zone(value)
        except CalculatorError as exc:
            raise serializers.ValidationError(str(exc)) from exc

    def validate_holidays(self, value):
        try:
            return parse_holidays(value)
        except CalculatorError as exc:
            raise serializers.ValidationError(str(exc)) from exc


class BillCalculator(APIView):
    """What a load would cost on a rate, per calendar month. Saves nothing."""

    schema = ApiAutoSchema()
    write_roles = CALCULATOR_ROLES

    @extend_schema(
        summary="Bill calculator",
        description=(
            "Prices a load series on a rate schedule (by id or code) or on an OpenEI URDB tariff, month by "
            "month, with the same rating code as bill runs. Demand is each interval's kWh x 60 / minutes. "
            "A month the load covers only in part is prorated like a partial bill. Nothing is saved."
        ),
        request=CalculatorCalendarInputSerializer,
        responses={200: CalculatorResultSerializer,
                   400: OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS["400"])},
        examples=[OpenApiExample("Two hours on schedule RES", request_only=True, value={
            "rate_schedule": "RES", "start": "2026-03-02T00:00", "interval_minutes": 60, "values": [1.2, 0.8]})],
    )
    def post(self, request):
        data = CalculatorCalendarInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        attrs = data.validated_data
        if "urdb" in attrs:
            rate = attrs["urdb"]
        else:
            rate = _schedule(attrs["rate_schedule"])
            if rate is None:
                return Response({"rate_schedule": [f"No rate schedule {attrs['rate_schedule']!r}."]},
                                status=status.HTTP_400_BAD_REQUEST)
        start = attrs["start"]
        zone = attrs.get("time_zone")
        if zone:
            # The serializer read an offset-less start in the utility's zone; it is local time in `zone`.
            raw = parse_datetime(str(request.data.get("start", "")))
            if raw is not None and raw.tzinfo is None:
                start = raw
        try:
            result = calculate(rate=rate, start=start, interval_minutes=attrs["interval_minutes"],
                               values=attrs["values"], values_are_kw=attrs["unit"] == "kW",
                               received=attrs.get("received"), time_zone=zone, holidays=attrs.get("holidays"))
        except CalculatorError as exc:
            field = "urdb" if exc.field == "rate" and "urdb" in attrs else (
                "rate_schedule" if exc.field == "rate" else exc.field)
            return Response({field: [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
        return Response(CalculatorResultSerializer(result).data)
