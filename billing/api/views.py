"""Billing REST API."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.api.serializers import CalculatorInputSerializer, CalculatorResultSerializer
from billing.calculator import CalculatorError, calculate
from billing.models import RateSchedule
from core.roles import Role

CALCULATOR_ROLES = (Role.BILLING, Role.CSR, Role.API_CLIENT)


def _schedule(value: str) -> RateSchedule | None:
    value = value.strip()
    if value.isdigit():
        found = RateSchedule.objects.filter(pk=int(value)).first()
        if found is not None:
            return found
    return RateSchedule.objects.filter(code=value).first()


class BillCalculator(APIView):
    """What a load would cost on a rate, per calendar month. Saves nothing."""

    write_roles = CALCULATOR_ROLES

    @extend_schema(
        summary="Bill calculator",
        description=(
            "Prices a load series on a rate schedule (by id or code) or on an OpenEI URDB tariff, month by "
            "month, with the same rating code as bill runs. Demand is each interval's kWh x 60 / minutes. "
            "A month the load covers only in part is prorated like a partial bill. Nothing is saved."
        ),
        request=CalculatorInputSerializer,
        responses={200: CalculatorResultSerializer},
        examples=[OpenApiExample("Two hours on schedule RES", request_only=True, value={
            "rate_schedule": "RES", "start": "2026-03-02T00:00", "interval_minutes": 60, "values": [1.2, 0.8]})],
    )
    def post(self, request):
        data = CalculatorInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        attrs = data.validated_data
        if "urdb" in attrs:
            rate = attrs["urdb"]
        else:
            rate = _schedule(attrs["rate_schedule"])
            if rate is None:
                return Response({"rate_schedule": [f"No rate schedule {attrs['rate_schedule']!r}."]},
                                status=status.HTTP_400_BAD_REQUEST)
        try:
            result = calculate(rate=rate, start=attrs["start"], interval_minutes=attrs["interval_minutes"],
                               values=attrs["values"], values_are_kw=attrs["unit"] == "kW",
                               received=attrs.get("received"))
        except CalculatorError as exc:
            field = "urdb" if exc.field == "rate" and "urdb" in attrs else (
                "rate_schedule" if exc.field == "rate" else exc.field)
            return Response({field: [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
        return Response(CalculatorResultSerializer(result).data)
