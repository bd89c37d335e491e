"""What mdm reads about service points for VEE: rate class and whether the service is active."""
from __future__ import annotations

from collections.abc import Iterable

from cis.models import ServicePoint


def service_point_rate_classes(*, service_point_ids: Iterable[int]) -> dict[int, str]:
    """{service point id: rate class} ("" when none is set); unknown ids are left out."""
    ids = [int(i) for i in service_point_ids]
    if not ids:
        return {}
    return dict(ServicePoint.objects.filter(pk__in=ids).values_list("pk", "rate_class"))


def service_point_ids_for_number(*, sp_number: str) -> list[int]:
    """The id of the service point with this number (exact, case-insensitive), as a list."""
    return list(ServicePoint.objects.filter(sp_number__iexact=sp_number.strip()).values_list("pk", flat=True))
