"""Reads about service agreements: the accounts of a bill cycle and the agreements a bill covers.

A child of a summary (parent) account is billed on its parent's bill, so billing works with
"bill accounts": an account without a parent, or a parent of children. Rows are plain
dataclasses (values() queries), so a bill run can read 100k agreements without model objects."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import F, Q
from django.db.models.functions import Coalesce

from cis.models import Account, ServiceAgreement, ServicePoint


@dataclass(frozen=True)
class AgreementRow:
    id: int
    agreement_number: str
    account_id: int
    account_number: str
    bill_account_id: int  # the parent's id for a child account, else the account's own
    service_point_id: int
    commodity: str
    rate_class: str
    rate_code: str
    start_date: dt.date
    end_date: dt.date | None


_FIELDS = ("id", "agreement_number", "account_id", "account__account_number", "bill_account_id", "service_point_id",
           "service_point__commodity", "service_point__rate_class", "rate_code", "start_date", "end_date")


def _rows(qs) -> list[AgreementRow]:
    qs = qs.annotate(bill_account_id=Coalesce(F("account__parent_id"), F("account_id")))
    return [AgreementRow(*values) for values in qs.order_by("id").values_list(*_FIELDS)]


def _rows_by_key(qs) -> list[AgreementRow]:
    """`_rows` without joins: the agreements, then their accounts and service points by primary
    key (three index lookups). Joined, the planner hash-joins the whole account and service
    point tables into a lookup of 1,000 agreements while that looks cheaper than 1,000 probes,
    so a bill-run chunk's cost grew with the utility (13 ms at 30k accounts instead of 3)."""
    agreements = list(qs.order_by("id").values_list(
        "id", "agreement_number", "account_id", "service_point_id", "rate_code", "start_date", "end_date"))
    if not agreements:
        return []
    accounts = {pk: (number, parent) for pk, number, parent in Account.objects.filter(
        pk__in={a[2] for a in agreements}).values_list("id", "account_number", "parent_id")}
    points = {pk: (commodity, rate_class) for pk, commodity, rate_class in ServicePoint.objects.filter(
        pk__in={a[3] for a in agreements}).values_list("id", "commodity", "rate_class")}
    return [
        AgreementRow(pk, number, account_id, accounts[account_id][0], accounts[account_id][1] or account_id, sp,
                     *points[sp], rate_code, start, end)
        for pk, number, account_id, sp, rate_code, start, end in agreements
    ]


def bill_account_ids_in_cycle(*, cycle_code: str) -> list[int]:
    """The bill accounts of a cycle, ascending: accounts in the cycle without a parent, and the
    parents of accounts in the cycle (a child carries its parent's cycle)."""
    ids = (
        Account.objects.filter(bill_cycle_code=cycle_code)
        .annotate(bill_account_id=Coalesce(F("parent_id"), F("id")))
        .order_by()  # no default ordering column in the DISTINCT
        .values_list("bill_account_id", flat=True)
        .distinct()
    )
    return sorted(ids)


def agreements_for_bill_accounts(*, bill_account_ids: Iterable[int], before: dt.date) -> list[AgreementRow]:
    """Agreements of the bill accounts (their own and their children's) that started before
    `before`: the ones a bill for a period ending at `before` may cover."""
    ids = sorted({int(i) for i in bill_account_ids})
    if not ids:
        return []
    # Two lookups, each on its own index (agreement.account_id; account.parent_id), not one
    # `account_id IN (...) OR account.parent_id IN (...)`: PostgreSQL cannot use an index for
    # an OR across the two joined tables and scanned both tables in full for every chunk of a
    # bill run (10 ms a chunk at 10k accounts, 100 ms at 100k; 220 ms on a loaded machine).
    # An account in `ids` has no parent, so the two sets do not overlap; the merge still keeps
    # each agreement once.
    # The children are looked up first (account.parent_id's index) and their agreements by
    # account_id after, so neither step can become a scan of the agreement table.
    own = _rows_by_key(ServiceAgreement.objects.filter(account_id__in=ids, start_date__lt=before))
    child_ids = list(Account.objects.filter(parent_id__in=ids).values_list("id", flat=True))
    if not child_ids:
        return own
    children = _rows_by_key(ServiceAgreement.objects.filter(account_id__in=child_ids, start_date__lt=before))
    merged = {row.id: row for row in (*own, *children)}
    return [merged[k] for k in sorted(merged)]


def agreements_by_ids(*, agreement_ids: Iterable[int]) -> list[AgreementRow]:
    return _rows(ServiceAgreement.objects.filter(pk__in=list(agreement_ids)))


def bill_account_of(*, account_id: int) -> int:
    """The account that is billed for `account_id` (its parent, if it has one).
    Raises Account.DoesNotExist."""
    parent_id = Account.objects.values_list("parent_id", flat=True).get(pk=account_id)
    return parent_id or account_id


def account_numbers(*, account_ids: Iterable[int]) -> dict[int, str]:
    return dict(Account.objects.filter(pk__in=list(account_ids)).values_list("id", "account_number"))


def rate_codes_in_use() -> list[str]:
    return sorted(set(ServiceAgreement.objects.values_list("rate_code", flat=True)))


def agreements_in_service_between(*, start: dt.date, end: dt.date) -> list[AgreementRow]:
    """Agreements serving some day of [start, end)."""
    qs = ServiceAgreement.objects.filter(start_date__lt=end).filter(Q(end_date__isnull=True) | Q(end_date__gt=start))
    return _rows(qs)


def account_agreement_periods(*, account_id: int) -> dict[int, list[tuple[dt.date, dt.date | None]]]:
    """{service point id: [(start_date, end_date or None), ...]} of the account's own agreements,
    oldest first: the only local days whose usage belongs to this account (a customer who moved
    in today sees nothing of the previous occupant's usage)."""
    out: dict[int, list[tuple[dt.date, dt.date | None]]] = {}
    rows = (ServiceAgreement.objects.filter(account_id=account_id).order_by("service_point_id", "start_date")
            .values_list("service_point_id", "start_date", "end_date"))
    for sp, start, end in rows:
        out.setdefault(sp, []).append((start, end))
    return out
