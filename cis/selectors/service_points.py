"""Reads about service points: labels for other apps' pages, lookups by number, what VEE and
the demo's meter fleet need to know of each (rate class, active periods, premise type)."""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q

from cis.models import Premise, ServiceAgreement, ServicePoint
from cis.selectors.accounts import address_filter


def service_point_labels(*, service_point_ids: Iterable[int]) -> dict[int, str]:
    """'SP1000001 · 12 Maple Avenue, Toronto' for each service point id (for other apps' pages)."""
    rows = ServicePoint.objects.filter(pk__in=list(service_point_ids)).select_related("premise")
    return {sp.pk: f"{sp.sp_number} · {sp.premise.address_text()}" for sp in rows}


def service_point_ids_for_number(*, number: str, include_accounts: bool = False) -> list[int]:
    """The service point numbered `number` (exact, case-insensitive), as a sorted list; with
    `include_accounts`, also every service point ever served by the account numbered `number`."""
    q = number.strip()
    if not q:
        return []
    ids = set(ServicePoint.objects.filter(sp_number__iexact=q).values_list("pk", flat=True))
    if include_accounts:
        ids |= set(ServiceAgreement.objects.filter(account__account_number=q).values_list("service_point_id", flat=True))
    return sorted(ids)


def account_service_point_ids(*, account_id: int) -> list[int]:
    return sorted(set(ServiceAgreement.objects.filter(account_id=account_id).values_list("service_point_id", flat=True)))


def service_point_rate_classes(*, service_point_ids: Iterable[int]) -> dict[int, str]:
    """{service point id: rate class} ("" when none is set); unknown ids are left out."""
    ids = [int(i) for i in service_point_ids]
    if not ids:
        return {}
    return dict(ServicePoint.objects.filter(pk__in=ids).values_list("pk", "rate_class"))


def service_point_agreement_periods(*, service_point_ids: Iterable[int], start_date: dt.date,
                                    end_date: dt.date) -> dict[int, list[tuple[dt.date, dt.date | None]]]:
    """{service point id: [(start_date, end_date or None), ...]} of the agreements overlapping
    [start_date, end_date): the days a service is active (VEE judges zero usage only then)."""
    out: dict[int, list[tuple[dt.date, dt.date | None]]] = {}
    rows = ServiceAgreement.objects.filter(
        Q(end_date__isnull=True) | Q(end_date__gt=start_date),
        service_point_id__in=[int(i) for i in service_point_ids], start_date__lt=end_date,
    ).values_list("service_point_id", "start_date", "end_date")
    for sp, start, end in rows:
        out.setdefault(sp, []).append((start, end))
    return out


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
    so a seeded generator gives the same meters for the same utility). Reads every service
    point at once: for seeding and conversion commands, not for screens."""
    rows = ServicePoint.objects.order_by("id").values_list(
        "id", "sp_number", "commodity", "rate_class", "status", "premise__premise_type"
    )
    return [ServicePointForMetering(*row) for row in rows]


def service_points_for_metering_by_number(*, numbers: Iterable[str]) -> dict[str, ServicePointForMetering]:
    """The service points numbered `numbers`, keyed by the number as asked: what a meter
    installation checks (does it exist, its commodity and status). An exact number is found
    through the unique index; only one not found so is looked up again ignoring case."""
    asked = {n.strip(): n for n in numbers if n and n.strip()}
    fields = ("id", "sp_number", "commodity", "rate_class", "status", "premise__premise_type")
    found: dict[str, ServicePointForMetering] = {}
    for row in ServicePoint.objects.filter(sp_number__in=list(asked)).values_list(*fields):
        found[asked[row[1]]] = ServicePointForMetering(*row)
    for number, original in asked.items():
        if original not in found:
            row = ServicePoint.objects.filter(sp_number__iexact=number).values_list(*fields).first()
            if row is not None:
                found[original] = ServicePointForMetering(*row)
    return found


def _premises_open_for_applications():
    active = ServicePoint.objects.filter(premise=OuterRef("pk"), status=ServicePoint.Status.ACTIVE)
    return Premise.objects.exclude(premise_type=Premise.PremiseType.STREETLIGHT_DISTRICT).filter(Exists(active))


def premises_open_for_applications(*, query: str, limit: int = 10) -> list[Premise]:
    """Premises of the territory a new customer may apply for (an active service point, not a
    streetlight district) whose address has every word of `query`; [] for fewer than 3
    letters or digits. Only addresses: nothing about who is served there."""
    if len(re.sub(r"\W", "", query)) < 3:
        return []
    condition = address_filter(query, "search_address")
    if condition is None:
        return []
    return list(_premises_open_for_applications().filter(condition).order_by("search_address", "id")[:limit])


def premise_open_for_applications(*, premise_id: int) -> Premise:
    """The premise, if a new customer may apply for it. Raises Premise.DoesNotExist otherwise."""
    return _premises_open_for_applications().get(pk=premise_id)
