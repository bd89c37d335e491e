"""The pre-bill rules start with thresholds a utility would configure (issue 9): a bill with a
whole day of data still missing after VEE is held; one with an hour or two unfilled is not."""
from __future__ import annotations

import pytest

from billing.services import prebill
from billing.tests.test_prebill_registry import facts, fired

MONTH = 30 * 96  # quarter hours in a 30-day bill


@pytest.mark.parametrize("missing, held", [
    (0, False),
    (8, False),  # two unfilled hours: 0.3 %
    (28, False),  # seven hours: just under 1 %
    (96, True),  # a day that never arrived: 3.3 %
])
def test_missing_data_holds_a_bill_at_the_default_only_beyond_one_percent(missing, held):
    bill = facts(interval_count=MONTH, missing_intervals=missing)
    params = prebill.DEFAULT_RULES["missing_determinants"]
    assert (fired("missing_determinants", bill, **params) == ["missing_determinants"]) is held


def test_a_segment_with_no_data_at_all_is_held_whatever_the_threshold():
    bill = facts(interval_count=MONTH, unmeasured_segments=1)
    assert fired("missing_determinants", bill, **prebill.DEFAULT_RULES["missing_determinants"]) == [
        "missing_determinants"]
