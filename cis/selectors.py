"""Reads for the customer & premise core: the hub's one-box search, the account 360 view,
and the audit trail of an account."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pghistory.models
from django.contrib.postgres.search import TrigramWordSimilarity
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from cis.models import (
    Account,
    Customer,
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
    if re.match(r"^\d+[a-zA-Z]?\s+\S", q):
        return ["address", "name"]
    if re.match(r"^[A-Za-z]{1,3}[\d-]{4,}$", q):
        return ["id_number", "account", "name"]
    return ["name", "address"]


def _with_relations(qs: QuerySet) -> QuerySet:
    return qs.select_related("customer", "parent")


def _accounts_by_name(q: str, limit: int) -> list[Account]:
    term = normalise_text(q)
    customers = (
        Customer.objects.filter(search_name__contains=term)
        .annotate(rank=TrigramWordSimilarity(term, "search_name"))
        .order_by("-rank", "search_name")
        .values_list("id", flat=True)[:limit]
    )
    ids = list(customers)
    order = {cid: i for i, cid in enumerate(ids)}
    accounts = list(_with_relations(Account.objects.filter(customer_id__in=ids)))
    accounts.sort(key=lambda a: (order[a.customer_id], a.status != Account.Status.ACTIVE, a.account_number))
    return accounts[:limit]


def _accounts_by_address(q: str, limit: int) -> list[Account]:
    term = normalise_text(q)
    premises = list(
        Premise.objects.filter(search_address__contains=term)
        .annotate(rank=TrigramWordSimilarity(term, "search_address"))
        .order_by("-rank", "search_address")
        .values_list("id", flat=True)[: limit * 2]
    )
    order = {pid: i for i, pid in enumerate(premises)}
    agreements = (
        ServiceAgreement.objects.filter(service_point__premise_id__in=premises)
        .select_related("service_point", "account__customer", "account__parent")
        .order_by("-start_date")
    )
    seen: dict[int, tuple] = {}
    for ag in agreements:
        key = (order[ag.service_point.premise_id], ag.end_date is not None, -ag.start_date.toordinal())
        if ag.account_id not in seen or key < seen[ag.account_id][0]:
            seen[ag.account_id] = (key, ag.account)
    return [acc for _, acc in sorted(seen.values(), key=lambda kv: kv[0])][:limit]


def search_accounts(query: str, *, kind: str = "auto", status: str = "", commodity: str = "",
                    limit: int = 25) -> list[SearchHit]:
    """One-box search. `kind` narrows it; `auto` tries what the query looks like, best first.
    Returns at most `limit` accounts, each once, with what it matched on."""
    q = (query or "").strip()
    if len(q) < 2:
        return []
    kinds = classify_query(q) if kind == "auto" else [kind]
    found: dict[int, SearchHit] = {}
    for k in kinds:
        if len(found) >= limit:
            break
        accounts: list[Account] = []
        if k == "account":
            digits = re.sub(r"\s", "", q)
            accounts = list(_with_relations(Account.objects.filter(account_number__startswith=digits)).order_by("account_number")[:limit])
        elif k == "name":
            accounts = _accounts_by_name(q, limit)
        elif k == "address":
            accounts = _accounts_by_address(q, limit)
        elif k == "phone":
            digits = phone_digits(q)
            if len(digits) >= 4:
                accounts = list(_with_relations(Account.objects.filter(customer__phone_search__contains=digits))[:limit])
        elif k == "email":
            accounts = list(_with_relations(Account.objects.filter(customer__email__istartswith=q.lower()))[:limit])
        elif k == "id_number":
            ident = re.sub(r"[\s-]", "", q).upper()
            accounts = list(_with_relations(Account.objects.filter(customer__id_number_search=ident))[:limit])
        elif k == "meter":
            accounts = _accounts_by_meter(q, limit)
        for acc in accounts:
            if acc.pk not in found:
                found[acc.pk] = SearchHit(account=acc, matched_on=k, service_address="")
    hits = list(found.values())
    if status:
        hits = [h for h in hits if h.account.status == status]
    if commodity:
        served = set(
            ServiceAgreement.objects.filter(account_id__in=[h.account.pk for h in hits], service_point__commodity=commodity)
            .values_list("account_id", flat=True)
        )
        hits = [h for h in hits if h.account.pk in served]
    addresses = service_addresses([h.account.pk for h in hits])
    return [SearchHit(h.account, h.matched_on, addresses.get(h.account.pk, "")) for h in hits[:limit]]


def _accounts_by_meter(q: str, limit: int) -> list[Account]:
    """Meter numbers belong to mdm; it answers with service point ids through its selectors."""
    try:
        from mdm.selectors import service_point_ids_for_meter_serial
    except ImportError:
        return []
    sp_ids = service_point_ids_for_meter_serial(q)
    account_ids = ServiceAgreement.objects.filter(service_point_id__in=sp_ids).values_list("account_id", flat=True)
    return list(_with_relations(Account.objects.filter(pk__in=account_ids))[:limit])


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
        .order_by("end_date__isnull", "-start_date")
        .reverse()
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


AUDIT_MODELS = {
    "cis.CustomerEvent": "Customer",
    "cis.AccountEvent": "Account",
    "cis.PremiseEvent": "Premise",
    "cis.ServicePointEvent": "Service point",
    "cis.ServiceAgreementEvent": "Agreement",
    "cis.ContactEvent": "Contact",
    "cis.NoteEvent": "Note",
    "cis.ComplaintEvent": "Complaint",
}
_HIDDEN_FIELDS = {"updated_at", "created_at", "search_name", "search_address", "phone_search", "id_number_search", "display_name"}


def account_audit_trail(*, account: Account, limit: int = 200) -> list[AuditEntry]:
    """Every recorded change to the account, its customer, its agreements and the service
    points and premises they cover, newest first, with before/after per field."""
    from django.contrib.auth import get_user_model

    agreements = list(ServiceAgreement.objects.filter(account=account).values_list("pk", "service_point_id", "service_point__premise_id"))
    objs: list = [account, account.customer]
    objs += list(ServiceAgreement.objects.filter(pk__in=[a[0] for a in agreements]))
    objs += list(ServicePoint.objects.filter(pk__in={a[1] for a in agreements}))
    objs += list(Premise.objects.filter(pk__in={a[2] for a in agreements}))
    objs += list(account.contacts.all()) + list(account.notes.all()) + list(account.complaints.all())
    events = (
        pghistory.models.Events.objects.tracks(*objs)
        .order_by("-pgh_created_at", "-pgh_id")[:limit]
    )
    events = list(events)
    user_ids = {e.pgh_context.get("user") for e in events if e.pgh_context and e.pgh_context.get("user")}
    names = dict(get_user_model().objects.filter(pk__in=user_ids).values_list("pk", "username"))
    entries = []
    for e in events:
        ctx = e.pgh_context or {}
        data = e.pgh_data or {}
        if e.pgh_diff:
            changes = {k: v for k, v in e.pgh_diff.items() if k not in _HIDDEN_FIELDS}
        elif e.pgh_label == "insert":
            changes = {k: [None, v] for k, v in data.items() if k not in _HIDDEN_FIELDS and v not in (None, "")}
        else:  # delete: the row as it was
            changes = {k: [v, None] for k, v in data.items() if k not in _HIDDEN_FIELDS and v not in (None, "")}
        if e.pgh_label == "update" and not changes:
            continue
        entries.append(
            AuditEntry(
                at=e.pgh_created_at, model=AUDIT_MODELS.get(e.pgh_model, e.pgh_model), object_id=str(e.pgh_obj_id),
                label=e.pgh_label, user_id=ctx.get("user"), username=names.get(ctx.get("user"), "system"),
                reason=ctx.get("reason", ""), url=ctx.get("url", ""), changes=changes,
            )
        )
    return entries


def accounts_with_open_followups(*, today: dt.date) -> QuerySet[Account]:
    from cis.models import Complaint, Contact

    due = Q(follow_up_date__lte=today)
    return Account.objects.filter(
        Exists(Contact.objects.filter(due, account=OuterRef("pk"), status=Contact.Status.OPEN))
        | Exists(Complaint.objects.filter(due, account=OuterRef("pk")).exclude(status=Complaint.Status.RESOLVED))
    )
