"""Reads other apps need to build demo data on top of the cis demo utility (mdm's demo meters).

Kept apart from cis/selectors.py: nothing here serves a CSR screen, and it reads every service
point at once, which only a seeding command should do."""
from __future__ import annotations

from dataclasses import dataclass

from cis.models import ServicePoint


@dataclass(frozen=True)
class ServicePointForMetering:
    id: int
    sp_number: str
    commodity: str  # cis.models.Commodity value
    rate_class: str  # residential, commercial, industrial, streetlight, or ""
    status: str
    premise_type: str  # cis.models.Premise.PremiseType value


def service_points_for_metering() -> list[ServicePointForMetering]:
    """Every service point with what decides the meter it gets, ordered by id (a stable order,
    so a seeded generator gives the same meters for the same utility)."""
    rows = ServicePoint.objects.order_by("id").values_list(
        "id", "sp_number", "commodity", "rate_class", "status", "premise__premise_type"
    )
    return [ServicePointForMetering(*row) for row in rows]
