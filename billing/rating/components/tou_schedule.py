"""A TOU schedule: 12 x 24 grids (month x local hour) of period names for weekdays and for
weekends/holidays. It makes no lines; `tou` and `tou_demand` components price its periods and
determinant calculation splits usage by it."""
from __future__ import annotations

from .base import PHASE_NONE, ComponentKind, LineDraft, ParamSpec, Params, PartContext


class TouScheduleDefinition(ComponentKind):
    """params: weekday [[12 x 24 period names]], weekend [[12 x 24]]."""

    kind = "tou_schedule"
    label = "TOU schedule (periods by month and hour)"
    params_schema = (
        ParamSpec("weekday", "grid", True, "The period of each local hour (0-23) of each month, on weekdays."),
        ParamSpec("weekend", "grid", True, "The same for weekends and holidays."),
    )
    phase = PHASE_NONE

    def lines(self, ctx: PartContext, params: Params) -> list[LineDraft]:
        return []
