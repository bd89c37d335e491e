"""The quality flags VEE reads and writes, as masks over whole arrays.

There is ONE flag enum in the product: `mdm.flags.Flag` (the interval store's
`flags smallint[]` codes). This module re-exports it and adds the groupings VEE works with, so
the import pipeline, the store and VEE can never disagree about a code:

    ACTUAL=0                 a reading as the meter sent it (VEE validates it)
    MISSING=1                no value (NaN in `values`)
    EDITED=2                 a person set the value; VEE never changes or re-validates it
    FAILED_VALIDATION=3      a reading that failed a rule; the rule's name is in the VEE
                             findings/worklist, not in the flag; re-validated on every run
    ESTIMATED_LINEAR=11, ESTIMATED_LIKE_DAY=12, ESTIMATED_CLASS_PROFILE=13
                             VEE's own estimates: re-estimated on every run (idempotence)
    ESTIMATED_HEAD_END=14    the head-end sent an estimate: VEE replaces it when one of its
                             methods can, otherwise keeps the head-end value
    ESTIMATED_MANUAL=15      a person keyed an estimate: kept like EDITED
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mdm.flags import Flag, is_estimated

# Flag and is_estimated are re-exported: the one enum.
__all__ = ["PERSON_SET", "VEE_ESTIMATES", "Flag", "in_codes", "is_estimated", "is_reading"]

# Estimates VEE made itself and recomputes from the readings on every run.
VEE_ESTIMATES = (Flag.ESTIMATED_LINEAR, Flag.ESTIMATED_LIKE_DAY, Flag.ESTIMATED_CLASS_PROFILE)
# Values a person stands behind: never validated, estimated over, or used as "not actual".
PERSON_SET = (Flag.EDITED, Flag.ESTIMATED_MANUAL)


def in_codes(flags: NDArray[np.integer[Any]], codes: Iterable[int]) -> NDArray[np.bool_]:
    # A few equality passes beat np.isin's sort on millions of small ints.
    out = np.zeros(flags.shape, dtype=bool)
    for code in codes:
        out |= flags == int(code)
    return out


def is_reading(flags: NDArray[np.integer[Any]]) -> NDArray[np.bool_]:
    """A meter reading (judged again on every run, even if it failed last time)."""
    reading: NDArray[np.bool_] = (flags == Flag.ACTUAL) | (flags == Flag.FAILED_VALIDATION)
    return reading
