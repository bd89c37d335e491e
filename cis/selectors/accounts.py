"""Reads about accounts: the hub's one-box search and the account 360 view."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.contrib.postgres.search import TrigramWordSimilarity
from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet

from core.search import search_provider, search_providers

from cis.models import (
    Account,
    Complaint,
    Contact,
    Move,
    Premise,
    ServiceAgreement,
    ServicePoint,
    normalise_text,
    phone_digits,
)

# The kinds cis answers itself; apps above add more through core.search (mdm: "meter").
BUILT_IN_SEARCH_KINDS = ("auto", "name", "account", "address", "phone", "email", "id_number")


def search_kinds() -> tuple[str, ...]:
    """Every kind the one box can be narrowed to: cis's own, then the registered providers'."""
    return BUILT_IN_SEARCH_KINDS + tuple(p.kind for p in search_providers())

_EMAIL_RE = re.compile(r"^[^@\s]*@[^@\s]*$")
_DIGITS_RE = re.compile(r"^[\d\s()+.-]+$")


@dataclass(frozen=True)
class SearchHit:
    account: Account
    matched_on: str
    service_address: str


def classify_query(query: str) -> list[str]:
    """Which kinds of search a query from the one box could be, most likely first."""
    q = query.strip()
    if not q:
        return []
    if "@" in q and _EMAIL_RE.match(q):
        return ["email"]
    if _DIGITS_RE.match(q):
        digits = re.sub(r"\D", "", q)
        kinds = ["account"]
        if len(digits) >= 7:
            kinds.append("phone")
        kinds += ["id_number", "address"]
        return kinds
    if re.match(r"^\d{1,5}[a-zA-Z]?\s+\S", q):  # a street number has at most 5 digits
        return ["address", "name"]
    if re.match(r"^[A-Za-z]{1,3}[\d-]{4,}$", q):
        return ["id_number", "account", "name"]
    compact = re.sub(r"[\s-]", "", q)
    if compact.isalnum() and sum(c.isdigit() for c in compact) >= 3 and any(c.isalpha() for c in compact):
        # Letters and several digits that are not an address: an ID typed with spaces or dashes.
        return ["id_number", "name", "address"]
    return ["name", "address"]


def _with_relations(qs: QuerySet) -> QuerySet:
    return qs.select_related("customer", "parent")


def _filtered_accounts(status: str, commodity: str) -> QuerySet[Account]:
    """Accounts narrowed by the search filters: applied inside each kind's query, before the
    limit, so better-ranked accounts of another status never crowd out the ones asked for."""
    qs = Account.objects.all()
    if status:
        qs = qs.filter(status=status)
    if commodity:
        qs = qs.filter(
            Exists(ServiceAgreement.objects.filter(account=OuterRef("pk"), service_point__commodity=commodity))
        )
    return qs


def _accounts_by_name(base: QuerySet[Account], q: str, limit: int) -> list[Account]:
    term = normalise_text(q)
    return list(
        _with_relations(base.filter(customer__search_name__contains=term))
        .annotate(rank=TrigramWordSimilarity(term, "customer__search_name"))
        .order_by("-rank", "customer__search_name", "status", "account_number")[:limit]
    )


def _accounts_by_address(base: QuerySet[Account], q: str, limit: int) -> list[Account]:
    term = normalise_text(q)
    ranked = (
        ServiceAgreement.objects.filter(service_point__premise__search_address__contains=term, account__in=base)
        .annotate(rank=TrigramWordSimilarity(term, "service_point__premise__search_address"))
        .select_related("account__customer", "account__parent")
        .order_by("-rank", "-start_date")[: limit * 4]
    )
    best: dict[int, tuple] = {}
    for ag in ranked:
        # Best address match first; among equals the current agreement, then the latest.
        key = (-ag.rank, ag.end_date is not None, -ag.start_date.toordinal())
        if ag.account_id not in best or key < best[ag.account_id][0]:
            best[ag.account_id] = (key, ag.account)
    return [acc for _, acc in sorted(best.values(), key=lambda kv: (kv[0], kv[1].account_number))][:limit]


def search_accounts(query: str, *, kind: str = "auto", status: str = "", commodity: str = "",
                    limit: int = 25) -> list[SearchHit]:
    """One-box search. `kind` narrows it; `auto` tries what the query looks like, best first.
    Filters apply before the limit. Returns at most `limit` accounts, each once, with what it
    matched on and its service address."""
    q = (query or "").strip()
    if len(q) < 2:
        return []
    kinds = classify_query(q) if kind == "auto" else [kind]
    base = _filtered_accounts(status, commodity)
    found: dict[int, SearchHit] = {}
    for k in kinds:
        if len(found) >= limit:
            break
        accounts: list[Account] = []
        if k == "account":
            digits = re.sub(r"\s", "", q)
            accounts = list(_with_relations(base.filter(account_number__startswith=digits)).order_by("account_number")[:limit])
        elif k == "name":
            accounts = _accounts_by_name(base, q, limit)
        elif k == "address":
            accounts = _accounts_by_address(base, q, limit)
        elif k == "phone":
            digits = phone_digits(q)
            if len(digits) >= 4:
                accounts = list(_with_relations(base.filter(customer__phone_search__contains=digits)).order_by("account_number")[:limit])
        elif k == "email":
            accounts = list(_with_relations(base.filter(customer__email__istartswith=q.lower())).order_by("account_number")[:limit])
        elif k == "id_number":
            ident = re.sub(r"[\s-]", "", q).upper()
            accounts = list(_with_relations(base.filter(customer__id_number_search=ident)).order_by("account_number")[:limit])
        elif (provider := search_provider(k)) is not None:
            accounts = _accounts_at_service_points(base, provider.service_point_ids(q), limit)
        for acc in accounts:
            if acc.pk not in found:
                found[acc.pk] = SearchHit(account=acc, matched_on=k, service_address="")
    hits = list(found.values())[:limit]
    addresses = service_addresses([h.account.pk for h in hits])
    return [SearchHit(h.account, h.matched_on, addresses.get(h.account.pk, "")) for h in hits]


def _accounts_at_service_points(base: QuerySet[Account], sp_ids, limit: int) -> list[Account]:
    account_ids = ServiceAgreement.objects.filter(service_point_id__in=list(sp_ids)).values_list("account_id", flat=True)
    return list(_with_relations(base.filter(pk__in=account_ids)).order_by("account_number")[:limit])


def service_addresses(account_ids: list[int]) -> dict[int, str]:
    """The service address of each account: its current (else latest) agreement's premise."""
    result: dict[int, tuple] = {}
    rows = (
        ServiceAgreement.objects.filter(account_id__in=account_ids)
        .select_related("service_point__premise")
        .order_by("account_id", "-start_date")
    )
    for ag in rows:
        key = (ag.end_date is not None, -ag.start_date.toordinal())
        if ag.account_id not in result or key < result[ag.account_id][0]:
            result[ag.account_id] = (key, ag.service_point.premise.address_text())
    return {k: v[1] for k, v in result.items()}


def account_get(*, account_number: str) -> Account:
    return Account.objects.select_related("customer", "parent").get(account_number=account_number)


def account_agreements(*, account: Account) -> list[ServiceAgreement]:
    return list(
        ServiceAgreement.objects.filter(account=account)
        .select_related("service_point__premise__parent")
        .order_by(F("end_date").desc(nulls_first=True), "-start_date", "agreement_number")
    )


def account_premises(*, account: Account) -> list[Premise]:
    premise_ids = ServiceAgreement.objects.filter(account=account).values("service_point__premise_id")
    return list(
        Premise.objects.filter(pk__in=premise_ids)
        .select_related("parent")
        .prefetch_related(Prefetch("service_points", queryset=ServicePoint.objects.order_by("commodity")))
    )


def pending_moves(*, until: dt.date | None = None) -> QuerySet[Move]:
    qs = Move.objects.filter(status=Move.Status.PENDING).select_related(
        "account__customer", "service_point__premise", "requested_by"
    )
    if until is not None:
        qs = qs.filter(effective_date__lte=until)
    return qs.order_by("effective_date", "id")


def active_agreement_on(*, service_point: ServicePoint, day: dt.date) -> ServiceAgreement | None:
    return (
        ServiceAgreement.objects.filter(service_point=service_point, start_date__lte=day)
        .filter(Q(end_date__isnull=True) | Q(end_date__gt=day))
        .select_related("account__customer")
        .first()
    )


def service_points_available(*, query: str, limit: int = 20) -> list[ServicePoint]:
    """Service points to pick in the move-in wizard, found by number or address."""
    term = normalise_text(query)
    if len(term) < 2:
        return []
    return list(
        ServicePoint.objects.filter(Q(sp_number__istartswith=query.strip()) | Q(premise__search_address__contains=term))
        .select_related("premise")
        .order_by("premise__search_address", "commodity")[:limit]
    )


def accounts_with_open_followups(*, today: dt.date) -> QuerySet[Account]:
    due = Q(follow_up_date__lte=today)
    return Account.objects.filter(
        Exists(Contact.objects.filter(due, account=OuterRef("pk"), status=Contact.Status.OPEN))
        | Exists(Complaint.objects.filter(due, account=OuterRef("pk")).exclude(status=Complaint.Status.RESOLVED))
    )
