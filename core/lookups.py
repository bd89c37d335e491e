"""`column = ANY(%s)` with the values as ONE array parameter, for filters over a batch of ids.

Django's `__in` writes one placeholder per value, which psycopg's client-side binding then
splits and renders into the query text: for the 2,000 accounts of a lockbox batch that parsing
costs more than the query. Use as an expression: `LedgerEntry.objects.filter(AnyOf(F("account_id"), ids))`
(`AnyOf(..., numbers, kind="text")` for strings). An empty list matches nothing. (mdm's interval
store and VEE use this one too.)"""
from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Lookup

_KINDS = {"bigint", "text"}


class AnyOf(Lookup):
    lookup_name = "any_of"
    prepare_rhs = False

    def __init__(self, lhs, rhs: Iterable[int] | Iterable[str], kind: str = "bigint"):
        if kind not in _KINDS:
            raise ValueError(f"AnyOf kind is one of {sorted(_KINDS)}, not {kind!r}")
        self.kind = kind
        values = sorted({int(v) for v in rhs}) if kind == "bigint" else sorted({str(v) for v in rhs})
        super().__init__(lhs, values)

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s::{self.kind}[])", (*lhs_params, self.rhs)
