"""Which period each agreement is billed for. Pure: the caller passes the agreements and
where each was last billed to.

An agreement is billed from the end of its last live segment (or its start, if never billed)
up to the window's period end, capped by the agreement's own end (a move-out). Nothing is due
when that range is empty."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cis.selectors import AgreementRow


@dataclass(frozen=True)
class SegmentPlan:
    """One agreement's period on a bill: [start, end)."""

    agreement: AgreementRow
    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days


def plan_segment(agreement: AgreementRow, *, billed_to: dt.date | None, period_end: dt.date) -> SegmentPlan | None:
    start = max(billed_to, agreement.start_date) if billed_to else agreement.start_date
    end = period_end if agreement.end_date is None else min(period_end, agreement.end_date)
    return SegmentPlan(agreement, start, end) if end > start else None


def plan_bills(agreements: Iterable[AgreementRow], *, billed_to: Mapping[int, dt.date], period_end: dt.date
               ) -> dict[int, list[SegmentPlan]]:
    """{bill account id: its segments, by agreement id} for the agreements with something due."""
    out: dict[int, list[SegmentPlan]] = {}
    for agreement in sorted(agreements, key=lambda a: (a.bill_account_id, a.id)):
        plan = plan_segment(agreement, billed_to=billed_to.get(agreement.id), period_end=period_end)
        if plan is not None:
            out.setdefault(agreement.bill_account_id, []).append(plan)
    return out


def window_opens_on(*, period_end_date: dt.date, read_window_end: dt.date) -> dt.date:
    """The first local day a window may be billed: its period is over (the period end is
    exclusive, so that day itself) and its read window has closed (the day after its last
    read day). A window whose reads come late (a read lag) says so with a later read window end."""
    return max(period_end_date, read_window_end + dt.timedelta(days=1))


def window_read_closed(*, period_end_date: dt.date, read_window_end: dt.date, today: dt.date) -> bool:
    """Whether a window may be billed on the utility's local date `today` without an override."""
    return today >= window_opens_on(period_end_date=period_end_date, read_window_end=read_window_end)
