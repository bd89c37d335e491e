"""A TOU schedule: 12 x 24 grids (month x local hour) of period names for weekdays and for
weekends/holidays. It makes no lines; `tou` and `tou_demand` components price its periods and
determinant calculation splits usage by it."""
from __future__ import annotations

from .base import ParamSpec, PHASE_NONE, ComponentConfigError, ComponentKind, LineDraft, Params, PartContext, require


class TouScheduleDefinition(ComponentKind):
    """params: weekday [[12 x 24 period names]], weekend [[12 x 24]]."""

    kind = "tou_schedule"
    params_schema = (
        ParamSpec("weekday", "grid", True, "12 months x 24 hours of period names, weekdays."),
        ParamSpec("weekend", "grid", True, "12 months x 24 hours of period names, weekends and holidays."),
    )
    phase = PHASE_NONE

    def check(self, params: Params) -> None:
        require(params, "weekday", "weekend")
        for name in ("weekday", "weekend"):
            grid = params[name]
            if len(grid) != 12 or any(len(row) != 24 for row in grid):
                raise ComponentConfigError(f"{name} must be 12 rows (months) of 24 hours")

    def lines(self, ctx: PartContext, params: Params) -> list[LineDraft]:
        return []
