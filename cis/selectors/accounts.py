"""Reads about accounts: the hub's one-box search and the account 360 view."""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.postgres.search import TrigramWordSimilarity
from django.db import connection
from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import Length
from unidecode import unidecode

from core.lookups import AnyOf
from core.privacy import PersonalData, may_read
from core.search import auto_search_providers, search_provider, search_providers

from cis.models import (
    Account,
    Complaint,
    Contact,
    Move,
    Premise,
    ServiceAgreement,
    ServicePoint,
    account_number_digits,
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


@dataclass(frozen=True)
class SearchPage:
    """One page of the one-box search: its hits, which page it is, and whether more follow."""

    hits: list[SearchHit]
    page: int
    per_page: int
    has_next: bool

    @property
    def first_number(self) -> int:
        """The position (from 1) of the page's first hit among all hits."""
        return (self.page - 1) * self.per_page + 1

    @property
    def last_number(self) -> int:
        return (self.page - 1) * self.per_page + len(self.hits)


def classify_query(query: str) -> list[str]:
    """Which of cis's own kinds of search a query from the one box could be, most likely
    first. (search_accounts adds the registered providers whose looks_like says yes.)"""
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
    if re.match(r"^#?\d{1,5}[a-zA-Z]?[\s,]+\S", q):  # a street (or suite) number has at most 5 digits
        # A number, then a comma later: an address pasted as written, not a name ("3M Canada").
        return ["address"] if "," in q else ["address", "name"]
    if re.match(r"^[A-Za-z]{1,3}[\d-]{4,}$", q):
        return ["id_number", "account", "name"]
    compact = re.sub(r"[\s-]", "", q)
    if compact.isalnum() and sum(c.isdigit() for c in compact) >= 3 and any(c.isalpha() for c in compact):
        # Letters and several digits that are not an address: an ID typed with spaces or dashes.
        return ["id_number", "name", "address"]
    return ["name", "address"]


def auto_kinds(query: str) -> list[str]:
    """What "Anything" tries, in order: cis's likely kinds, then each registered provider
    (core.search) whose looks_like says the query may be one of its kind (mdm: a serial)."""
    kinds = classify_query(query)
    if not kinds:
        return []
    return kinds + [p.kind for p in auto_search_providers(query.strip()) if p.kind not in kinds]


# --- addresses as typed or pasted ---------------------------------------------------------
# A query and a stored address are compared as sets of words: every word of the query must be
# in the address (as a substring, so each is a trigram-indexed LIKE), in any order, with the
# punctuation of a pasted address ("159 Sydenham Boulevard, Suite 107") and the unit words
# (Suite, Apt, Unit, #) left out, and a street type or direction matching its usual
# abbreviations either way (Blvd = Boulevard, St = Street, Ave = Avenue ...).

_ADDRESS_EQUIVALENTS: tuple[tuple[str, ...], ...] = (
    # The canonical spelling first (it is what the ranking compares).
    ("street", "st", "str"), ("saint", "st"), ("avenue", "ave", "av"), ("boulevard", "blvd", "boul"),
    ("road", "rd"), ("drive", "dr"), ("crescent", "cres", "cresc"), ("court", "crt", "ct"), ("lane", "ln"),
    ("place", "pl"), ("highway", "hwy"), ("parkway", "pkwy"), ("terrace", "terr", "ter"), ("square", "sq"),
    ("circle", "cir", "circ"), ("trail", "trl"), ("heights", "hts"), ("gardens", "gdns"), ("grove", "grv"),
    ("mount", "mt"), ("point", "pt"), ("expressway", "expy"), ("close", "cl"), ("gate", "gt"),
    ("north", "n"), ("south", "s"), ("east", "e"), ("west", "w"),
)
# word -> its spellings, the canonical one of its first group first ("st" -> street, st, str, saint).
_ADDRESS_ALTERNATIVES: dict[str, list[str]] = {}
for _group in _ADDRESS_EQUIVALENTS:
    for _word in _group:
        _spellings = _ADDRESS_ALTERNATIVES.setdefault(_word, [])
        _spellings += [w for w in _group if w not in _spellings]
_UNIT_WORDS = frozenset({"suite", "ste", "apt", "apartment", "unit", "app", "bureau"})
_UNIT_CIVIC_RE = re.compile(r"^\d+[a-z]?-\d+[a-z]?$")
_ADDRESS_PUNCTUATION_RE = re.compile(r"[,;:.#()/\\\"]+")


def address_words(query: str) -> list[list[str]]:
    """The words of an address query, each with the spellings it may be stored in, the
    canonical one first: "159 Sydenham Blvd, Apt 107" -> [["159"], ["sydenham"],
    ["boulevard", "blvd", "boul"], ["107"]]. Unit words (Suite, Apt, Unit, #) are left out:
    the suite's number is enough, whichever word the address was stored with."""
    text = normalise_text(_ADDRESS_PUNCTUATION_RE.sub(" ", unidecode(query or "")))
    words: list[list[str]] = []
    for word in text.split():
        word = word.strip("-'")
        if _UNIT_CIVIC_RE.match(word):  # "107-159": suite 107 at number 159
            words += [[part] for part in word.split("-")]
        elif word and word not in _UNIT_WORDS:
            words.append(_ADDRESS_ALTERNATIVES.get(word, [word]))
    return words


def _minimal(alternatives: list[str]) -> list[str]:
    """Drop spellings that contain another one (LIKE '%st%' already finds "street")."""
    return [a for a in alternatives if not any(b != a and b in a for b in alternatives)]


def address_filter(query: str, field: str) -> Q | None:
    """Every word of the query (in one of its spellings) in `field`; None if no word."""
    words = address_words(query)
    if not words:
        return None
    condition = Q()
    for alternatives in words:
        either = Q()
        for spelling in _minimal(alternatives):
            either |= Q(**{f"{field}__contains": spelling})
        condition &= either
    return condition


def address_rank_term(query: str) -> str:
    """The query in the canonical spellings, for ranking by trigram word similarity."""
    return " ".join(alternatives[0] for alternatives in address_words(query))


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


def _accounts_by_number(base: QuerySet[Account], q: str, limit: int) -> list[Account]:
    """Account numbers by prefix, the leading zeros optional: "104542" finds 0000104542 (the
    exact unpadded number first, then longer ones in number order), "0000104" still finds it.
    An index range scan on LTRIM(account_number, '0') text_pattern_ops."""
    typed = re.sub(r"\s", "", q)
    digits = typed.lstrip("0")
    if not digits:  # only zeros typed
        qs = base.filter(account_number__startswith=typed).order_by("account_number")
    else:
        qs = base.annotate(number_digits=account_number_digits()).filter(number_digits__startswith=digits)
        if digits != typed:  # the zeros that were typed must be there too
            qs = qs.filter(account_number__startswith=typed)
        qs = qs.order_by(Length("number_digits"), "account_number")
    return list(_with_relations(qs)[:limit])


def _accounts_by_name(base: QuerySet[Account], q: str, limit: int) -> list[Account]:
    term = normalise_text(q)
    return list(
        _with_relations(base.filter(customer__search_name__contains=term))
        .annotate(rank=TrigramWordSimilarity(term, "customer__search_name"))
        .order_by("-rank", "customer__search_name", "status", "account_number")[:limit]
    )


def _accounts_by_address(base: QuerySet[Account], q: str, limit: int) -> list[Account]:
    condition = address_filter(q, "service_point__premise__search_address")
    if condition is None:
        return []
    term = address_rank_term(q)
    ranked = (
        ServiceAgreement.objects.filter(condition, account__in=base)
        .annotate(rank=TrigramWordSimilarity(term, "service_point__premise__search_address"))
        .select_related("account__customer", "account__parent")
        .order_by("-rank", "-start_date", "id")[: limit * 4]
    )
    best: dict[int, tuple] = {}
    for ag in ranked:
        # Best address match first; among equals the current agreement, then the latest.
        key = (-ag.rank, ag.end_date is not None, -ag.start_date.toordinal())
        if ag.account_id not in best or key < best[ag.account_id][0]:
            best[ag.account_id] = (key, ag.account)
    return [acc for _, acc in sorted(best.values(), key=lambda kv: (kv[0], kv[1].account_number))][:limit]


# Paging goes this deep at most: the first 1,000 hits (40 pages of the hub's 25); deeper,
# narrow the search.
SEARCH_MAX_HITS = 1000
SEARCH_MAX_PAGE = 40
# Kinds that match on an identifier a role may not read (core.privacy): for such a role the
# search leaves them out, or a hit would confirm a guessed ID number.
PRIVATE_SEARCH_KINDS = {"id_number": PersonalData.GOVERNMENT_ID}


def search_kinds_hidden_from(user) -> frozenset[str]:
    """The kinds `user` may not search by (see PRIVATE_SEARCH_KINDS)."""
    return frozenset(kind for kind, data in PRIVATE_SEARCH_KINDS.items() if not may_read(user, data))


def _search(q: str, kind: str, status: str, commodity: str, want: int,
            hidden_kinds: frozenset[str] = frozenset()) -> list[SearchHit]:
    """The first `want` hits, each account once, kinds in order (no service address yet)."""
    kinds = [k for k in (auto_kinds(q) if kind == "auto" else [kind]) if k not in hidden_kinds]
    base = _filtered_accounts(status, commodity)
    found: dict[int, SearchHit] = {}
    for k in kinds:
        if len(found) >= want:
            break
        accounts: list[Account] = []
        if k == "account":
            accounts = _accounts_by_number(base, q, want)
        elif k == "name":
            accounts = _accounts_by_name(base, q, want)
        elif k == "address":
            accounts = _accounts_by_address(base, q, want)
        elif k == "phone":
            digits = phone_digits(q)
            if len(digits) >= 4:
                accounts = list(_with_relations(base.filter(customer__phone_search__contains=digits)).order_by("account_number")[:want])
        elif k == "email":
            accounts = list(_with_relations(base.filter(customer__email__istartswith=q.lower())).order_by("account_number")[:want])
        elif k == "id_number":
            ident = re.sub(r"[\s-]", "", q).upper()
            accounts = list(_with_relations(base.filter(customer__id_number_search=ident)).order_by("account_number")[:want])
        elif (provider := search_provider(k)) is not None:
            accounts = _accounts_at_service_points(base, provider.service_point_ids(q), want)
        for acc in accounts:
            if acc.pk not in found:
                found[acc.pk] = SearchHit(account=acc, matched_on=k, service_address="")
    return list(found.values())[:want]


def _with_addresses(hits: list[SearchHit]) -> list[SearchHit]:
    addresses = service_addresses([h.account.pk for h in hits])
    return [SearchHit(h.account, h.matched_on, addresses.get(h.account.pk, "")) for h in hits]


def search_accounts(query: str, *, kind: str = "auto", status: str = "", commodity: str = "",
                    limit: int = 25, offset: int = 0, hidden_kinds: frozenset[str] = frozenset()) -> list[SearchHit]:
    """One-box search. `kind` narrows it; `auto` tries what the query looks like, best first
    (cis's kinds, then the registered providers that recognise it). Filters apply before the
    limit. Returns at most `limit` accounts after the first `offset`, each once, with what it
    matched on and its service address. `hidden_kinds` (search_kinds_hidden_from) are never
    tried."""
    q = (query or "").strip()
    if len(q) < 2:
        return []
    return _with_addresses(_search(q, kind, status, commodity, offset + limit, hidden_kinds)[offset:])


def search_max_page(per_page: int) -> int:
    """The deepest page of `per_page` hits that stays within SEARCH_MAX_HITS."""
    return max(1, SEARCH_MAX_HITS // max(per_page, 1))


def search_accounts_page(query: str, *, kind: str = "auto", status: str = "", commodity: str = "",
                         page: int = 1, per_page: int = 25,
                         hidden_kinds: frozenset[str] = frozenset()) -> SearchPage:
    """One page of search_accounts (pages from 1, at most search_max_page(per_page): the first
    SEARCH_MAX_HITS hits) and whether another follows: the hub's and the API's "next page"."""
    last_page = search_max_page(per_page)
    page = min(max(page, 1), last_page)
    q = (query or "").strip()
    if len(q) < 2:
        return SearchPage([], page, per_page, False)
    hits = _search(q, kind, status, commodity, page * per_page + 1, hidden_kinds)
    start = (page - 1) * per_page
    shown = hits[start:start + per_page]
    has_next = len(hits) > start + per_page and page < last_page
    return SearchPage(_with_addresses(shown), page, per_page, has_next)


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


def account_ids_by_number(*, account_numbers: Iterable[str]) -> dict[str, int]:
    """The id of each account whose number is one of `account_numbers` exactly (one query on
    the unique index; numbers with no account are left out): many lookups of account_get at once."""
    numbers = sorted({n for n in account_numbers if n})
    if not numbers:
        return {}
    return dict(Account.objects.filter(AnyOf(F("account_number"), numbers, kind="text")).order_by()
                .values_list("account_number", "id"))


def accounts_by_number_prefix(*, prefixes: Iterable[str], limit: int = 50) -> dict[str, list[tuple[int, str]]]:
    """For each digits prefix, the (id, number) of the accounts search_accounts(prefix,
    kind="account") finds, in its order: numbers whose digits without leading zeros start with
    it, the shortest first, at most `limit` each. One query for all prefixes (a range scan of
    account_number_digits_idx per prefix)."""
    wanted = sorted({p for p in prefixes if p and p.isdigit() and p.lstrip("0") == p})
    if not wanted:
        return {}
    # Under text_pattern_ops the strings starting with p are those >= p and < p with its last
    # character raised by one (digits only, so it stays ASCII).
    upper = [p[:-1] + chr(ord(p[-1]) + 1) for p in wanted]
    found: dict[str, list[tuple[int, str]]] = {p: [] for p in wanted}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.prefix, a.id, a.account_number FROM unnest(%s::text[], %s::text[]) AS r(prefix, upper) "
            "CROSS JOIN LATERAL (SELECT id, account_number FROM cis_account "
            "  WHERE LTRIM(account_number, '0') ~>=~ r.prefix AND LTRIM(account_number, '0') ~<~ r.upper "
            "  ORDER BY LENGTH(LTRIM(account_number, '0')), account_number LIMIT %s) AS a",
            [wanted, upper, limit])
        for prefix, account_id, number in cursor.fetchall():
            found[prefix].append((account_id, number))
    return found


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
    condition = Q(sp_number__istartswith=query.strip())
    by_address = address_filter(query, "premise__search_address")
    if by_address is not None:  # every word of an address as typed or pasted (see address_words)
        condition |= by_address
    return list(
        ServicePoint.objects.filter(condition)
        .select_related("premise")
        .order_by("premise__search_address", "commodity")[:limit]
    )


def accounts_with_open_followups(*, today: dt.date) -> QuerySet[Account]:
    due = Q(follow_up_date__lte=today)
    return Account.objects.filter(
        Exists(Contact.objects.filter(due, account=OuterRef("pk"), status=Contact.Status.OPEN))
        | Exists(Complaint.objects.filter(due, account=OuterRef("pk")).exclude(status=Complaint.Status.RESOLVED))
    )


def accounts_by_ids(*, account_ids) -> list[Account]:
    """The accounts (with their customer), in id order; unknown ids are left out."""
    return list(Account.objects.filter(pk__in=[int(i) for i in account_ids]).select_related("customer").order_by("pk"))


def account_ids_opened_between(*, start: dt.date, end: dt.date, status: str = Account.Status.ACTIVE) -> list[int]:
    """Ids of the accounts of `status` opened on (start, end] (billing's deposits: new customers)."""
    return list(Account.objects.filter(opened_date__gt=start, opened_date__lte=end, status=status)
                .order_by("pk").values_list("pk", flat=True))


def customer_account_openings(*, customer_id: int, as_of: dt.date) -> list[tuple[int, dt.date]]:
    """(account id, opened date) of each account of the customer opened by `as_of`."""
    return list(Account.objects.filter(customer_id=customer_id, opened_date__lte=as_of).order_by("opened_date", "pk")
                .values_list("pk", "opened_date"))
