"""Registry of extra kinds of the CSR hub's one-box search.

cis owns the search and its built-in kinds (name, account, address, phone, email, ID). An app
above it that knows another way to find a customer registers a provider in its
AppConfig.ready(): mdm adds "meter" (a meter serial answers with the service points it was
installed at). A provider maps the query to service point ids; cis turns those into the
accounts whose agreements cover them, so providers never touch accounts.

A provider with `looks_like` is also tried by the one box's "Anything" (auto) mode, after
cis's own likely kinds, whenever `looks_like(query)` says the query may be one of its kind
(mdm: serial-like text). A provider without it is only searched when its kind is chosen.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class SearchProvider:
    kind: str  # the value of the search form's "kind" and of a hit's matched_on
    label: str  # what the search form shows
    service_point_ids: Callable[[str], Iterable[int]]
    order: int = 100
    # Whether a query typed in "Anything" may be of this kind (cheap, no database); None: never.
    looks_like: Callable[[str], bool] | None = None


_PROVIDERS: dict[str, SearchProvider] = {}


def register_search_provider(provider: SearchProvider) -> None:
    _PROVIDERS[provider.kind] = provider


def search_providers() -> list[SearchProvider]:
    return sorted(_PROVIDERS.values(), key=lambda p: (p.order, p.kind))


def search_provider(kind: str) -> SearchProvider | None:
    return _PROVIDERS.get(kind)


def auto_search_providers(query: str) -> list[SearchProvider]:
    """The providers the "Anything" mode tries for this query, in their order."""
    return [p for p in search_providers() if p.looks_like is not None and p.looks_like(query)]
