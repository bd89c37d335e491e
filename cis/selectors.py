"""Reads for the customer & premise core: the hub's one-box search, the account 360 view,
and the audit trail of an account."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.contrib.postgres.search import TrigramWordSimilarity
from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet

from cis.models import (
    Account,
    Move,
    Premise,
    ServiceAgreement,
    ServicePoint,
    normalise_text,
    phone_digits,
)

SEARCH_KINDS = ("auto", "name", "account", "address", "phone", "email", "id_number", "meter")

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
        elif k == "meter":
            accounts = _accounts_by_meter(base, q, limit)
        for acc in accounts:
            if acc.pk not in found:
                found[acc.pk] = SearchHit(account=acc, matched_on=k, service_address="")
    hits = list(found.values())[:limit]
    addresses = service_addresses([h.account.pk for h in hits])
    return [SearchHit(h.account, h.matched_on, addresses.get(h.account.pk, "")) for h in hits]


def _accounts_by_meter(base: QuerySet[Account], q: str, limit: int) -> list[Account]:
    """Meter numbers belong to mdm; it answers with service point ids through its selectors."""
    try:
        from mdm.selectors import service_point_ids_for_meter_serial
    except ImportError:
        return []
    sp_ids = service_point_ids_for_meter_serial(q)
    account_ids = ServiceAgreement.objects.filter(service_point_id__in=sp_ids).values_list("account_id", flat=True)
    return list(_with_relations(base.filter(pk__in=account_ids)).order_by("account_number")[:limit])


def service_point_labels(*, service_point_ids: list[int]) -> dict[int, str]:
    """'SP1000001 · 12 Maple Avenue, Toronto' for each service point id (for other apps' pages)."""
    rows = ServicePoint.objects.filter(pk__in=service_point_ids).select_related("premise")
    return {sp.pk: f"{sp.sp_number} · {sp.premise.address_text()}" for sp in rows}


def service_point_ids_for_numbers(*, query: str) -> list[int]:
    """Service points whose number is `query`, or served (ever) by the account numbered `query`."""
    q = query.strip()
    if not q:
        return []
    ids = set(ServicePoint.objects.filter(sp_number__iexact=q).values_list("pk", flat=True))
    ids |= set(ServiceAgreement.objects.filter(account__account_number=q).values_list("service_point_id", flat=True))
    return sorted(ids)


def account_service_point_ids(*, account_id: int) -> list[int]:
    return sorted(set(ServiceAgreement.objects.filter(account_id=account_id).values_list("service_point_id", flat=True)))


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


@dataclass(frozen=True)
class AuditEntry:
    at: dt.datetime
    model: str
    object_id: str
    label: str
    user_id: int | None
    username: str
    reason: str
    url: str
    changes: dict  # field -> [before, after]


_HIDDEN_FIELDS = {
    "updated_at", "created_at", "search_name", "search_address", "phone_search", "id_number_search", "display_name",
}
_SNAPSHOT_SKIP = {"pgh_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "pgh_context_id"}


def _event_model(name: str):
    from django.apps import apps

    return apps.get_model("cis", f"{name}Event")


def _snapshot(event) -> dict:
    return {
        f.attname: getattr(event, f.attname)
        for f in event._meta.concrete_fields
        if f.attname not in _SNAPSHOT_SKIP and f.attname not in _HIDDEN_FIELDS
    }


def _plain(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)


def account_audit_trail(*, account: Account, limit: int = 200) -> list[AuditEntry]:
    """Every recorded change to the account, its customer, its agreements (deleted ones too),
    the service points and premises they cover, and its contacts, notes and complaints,
    newest first, with before/after per changed field.

    Reads the event tables pghistory's triggers fill; objects are found through the event
    snapshots, not the live tables, so a deleted agreement keeps its history here."""
    from django.contrib.auth import get_user_model

    agreement_events = _event_model("ServiceAgreement").objects.filter(account_id=account.pk)
    sp_ids = set(agreement_events.values_list("service_point_id", flat=True))
    sp_events = _event_model("ServicePoint").objects.filter(pgh_obj_id__in=sp_ids)
    premise_ids = set(sp_events.values_list("premise_id", flat=True))
    sources = [
        ("Customer", _event_model("Customer").objects.filter(pgh_obj_id=account.customer_id)),
        ("Account", _event_model("Account").objects.filter(pgh_obj_id=account.pk)),
        ("Agreement", agreement_events),
        ("Service point", sp_events),
        ("Premise", _event_model("Premise").objects.filter(pgh_obj_id__in=premise_ids)),
        ("Contact", _event_model("Contact").objects.filter(account_id=account.pk)),
        ("Note", _event_model("Note").objects.filter(account_id=account.pk)),
        ("Complaint", _event_model("Complaint").objects.filter(account_id=account.pk)),
    ]
    entries: list[tuple] = []
    for label, qs in sources:
        previous: dict = {}
        for event in qs.select_related("pgh_context").order_by("pgh_obj_id", "pgh_id"):
            snap = _snapshot(event)
            before = previous.get(event.pgh_obj_id)
            if event.pgh_label == "insert" or before is None and event.pgh_label != "delete":
                changes = {k: [None, _plain(v)] for k, v in snap.items() if v not in (None, "")}
            elif event.pgh_label == "delete":
                changes = {k: [_plain(v), None] for k, v in snap.items() if v not in (None, "")}
            else:
                changes = {k: [_plain(before.get(k)), _plain(v)] for k, v in snap.items() if before.get(k) != v}
            previous[event.pgh_obj_id] = snap
            if event.pgh_label == "update" and not changes:
                continue
            ctx = event.pgh_context.metadata if event.pgh_context_id else {}
            entries.append((event.pgh_created_at, event.pgh_id, label, event, ctx, changes))
    entries.sort(key=lambda e: (e[0], e[1]), reverse=True)
    entries = entries[:limit]
    user_ids = {e[4].get("user") for e in entries if e[4].get("user")}
    names = dict(get_user_model().objects.filter(pk__in=user_ids).values_list("pk", "username"))
    return [
        AuditEntry(
            at=at, model=label, object_id=str(event.pgh_obj_id), label=event.pgh_label, user_id=ctx.get("user"),
            username=names.get(ctx.get("user"), "system"), reason=ctx.get("reason", ""), url=ctx.get("url", ""),
            changes=changes,
        )
        for at, _, label, event, ctx, changes in entries
    ]


def accounts_with_open_followups(*, today: dt.date) -> QuerySet[Account]:
    from cis.models import Complaint, Contact

    due = Q(follow_up_date__lte=today)
    return Account.objects.filter(
        Exists(Contact.objects.filter(due, account=OuterRef("pk"), status=Contact.Status.OPEN))
        | Exists(Complaint.objects.filter(due, account=OuterRef("pk")).exclude(status=Complaint.Status.RESOLVED))
    )
