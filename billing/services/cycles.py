"""Bill cycles and their windows: the schedule a utility bills on. A cycle (C01..C20) groups
the accounts read and billed together; each window is one scheduled billing of it: usage up to
`period_end_date` (exclusive) billed on `bill_date`, reads expected in the read window."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from billing.models import BillCycle, BillWindow


class BillCycleError(Exception):
    """A cycle or window cannot be saved as asked; the message says why."""


@dataclass(frozen=True)
class BillWindowSpec:
    period_end_date: dt.date  # first day NOT in the billed period
    bill_date: dt.date
    read_window_start: dt.date
    read_window_end: dt.date
    due_days: int = 21


def bill_cycle_create(*, code: str, name: str = "", description: str = "", active: bool = True) -> BillCycle:
    """Raises BillCycleError when the code is empty or already used."""
    code = (code or "").strip()
    if not code:
        raise BillCycleError("A bill cycle needs a code.")
    try:
        with transaction.atomic():
            return BillCycle.objects.create(code=code, name=(name or code)[:100], description=description,
                                            active=active)
    except IntegrityError as exc:
        raise BillCycleError(f"Bill cycle {code} already exists.") from exc


def bill_cycle_ensure(*, code: str, name: str = "", description: str = "") -> tuple[BillCycle, bool]:
    """The cycle with `code`, created (with `name` and `description`) when missing; (cycle,
    created). What an existing cycle says is kept. Raises BillCycleError for an empty code."""
    existing = BillCycle.objects.filter(code=(code or "").strip()).first()
    if existing is not None:
        return existing, False
    return bill_cycle_create(code=code, name=name, description=description), True


def _window_problem(w: BillWindowSpec) -> str | None:
    if w.read_window_end < w.read_window_start:
        return f"the read window ends {w.read_window_end} before it starts {w.read_window_start}"
    if w.read_window_start >= w.period_end_date + dt.timedelta(days=1) + dt.timedelta(days=30):
        return "the read window lies more than a month after the period"
    if w.bill_date < w.read_window_start:
        return f"the bill date {w.bill_date} is before the read window"
    if w.due_days < 0:
        return "due days cannot be negative"
    return None


@transaction.atomic
def bill_windows_create(*, cycle: BillCycle, windows: Sequence[BillWindowSpec]) -> int:
    """Schedule the cycle's windows; a window whose bill date the cycle already has is left as
    it is (a schedule loaded twice creates nothing twice). Returns how many were created.

    Raises BillCycleError naming the first bad window (read window out of order, bill date
    before the reads, negative due days, a bill date given twice); nothing is created then."""
    seen: set[dt.date] = set()
    for w in windows:
        problem = _window_problem(w)
        if problem is None and w.bill_date in seen:
            problem = "the bill date is given twice"
        if problem:
            raise BillCycleError(f"{cycle.code} window billed {w.bill_date}: {problem}.")
        seen.add(w.bill_date)
    existing = set(BillWindow.objects.filter(cycle=cycle, bill_date__in=seen).values_list("bill_date", flat=True))
    new = [BillWindow(cycle=cycle, period_end_date=w.period_end_date, bill_date=w.bill_date,
                      read_window_start=w.read_window_start, read_window_end=w.read_window_end, due_days=w.due_days)
           for w in windows if w.bill_date not in existing]
    BillWindow.objects.bulk_create(new)
    return len(new)
