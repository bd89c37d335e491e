"""Quality flag codes of the interval store: one small integer per interval, kept in the
`flags` bytes parallel to `values` (one byte a slot). Pure Python (no ORM) so numpy VEE code can use it.

An estimated value keeps its method in the code itself (ESTIMATED_BASE + method), so one array
says both "estimated" and "how"; the rule that failed a validation and the who/why of an edit
live beside the data (VEE results, interval_day.changed_by/reason), not in the flag."""
from __future__ import annotations

from enum import IntEnum

import numpy as np


class Flag(IntEnum):
    ACTUAL = 0
    MISSING = 1
    EDITED = 2
    FAILED_VALIDATION = 3
    # 10 + EstimationMethod
    ESTIMATED_LINEAR = 11
    ESTIMATED_LIKE_DAY = 12
    ESTIMATED_CLASS_PROFILE = 13
    ESTIMATED_HEAD_END = 14
    ESTIMATED_MANUAL = 15


ESTIMATED_BASE = 10


class EstimationMethod(IntEnum):
    LINEAR = 1
    LIKE_DAY = 2
    CLASS_PROFILE = 3
    HEAD_END = 4  # the meter or head-end sent an estimate
    MANUAL = 5


# Only inside an import's staging rows: "this file says nothing about that slot". It never
# reaches interval_day (a new day stores MISSING there).
NOT_PROVIDED = -1

# What head-end quality words in a parsed IntervalBlock mean.
QUALITY_WORDS = {
    "": Flag.ACTUAL,
    "actual": Flag.ACTUAL,
    "estimated": Flag.ESTIMATED_HEAD_END,
    "missing": Flag.MISSING,
    "edited": Flag.EDITED,
}


def estimated(method: EstimationMethod) -> Flag:
    return Flag(ESTIMATED_BASE + int(method))


def is_estimated(flags: np.ndarray) -> np.ndarray:
    """Boolean mask of estimated intervals in a flags array."""
    flags = np.asarray(flags)
    return (flags > ESTIMATED_BASE) & (flags < ESTIMATED_BASE + 10)


def estimation_method(flag: int) -> EstimationMethod | None:
    if ESTIMATED_BASE < flag < ESTIMATED_BASE + 10:
        return EstimationMethod(flag - ESTIMATED_BASE)
    return None
