"""The pre-bill rules registry: each registered rule fires just past its threshold and not on
it, params are checked against what the rule reads, and a kind with no rule is refused."""
from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal as D

import pytest

from billing.services import prebill
from billing.models import PreBillRule

pytestmark = pytest.mark.django_db

FEB, MAR = dt.date(2026, 2, 1), dt.date(2026, 3, 1)  # 28 days


def facts(**changes) -> prebill.BillFacts:
    base = prebill.BillFacts(
        period_start=FEB, period_end=MAR, total=D("50.00"), consumption=D("280"), metered=True,
        interval_count=672, estimated_intervals=0, missing_intervals=0, unmeasured_segments=0,
    )
    return dataclasses.replace(base, **changes)


def history(start, end, consumption, *, intervals=744, estimated=0) -> prebill.HistoryBill:
    return prebill.HistoryBill(start, end, D(consumption), intervals, estimated)


JANUARY = history(dt.date(2026, 1, 1), FEB, "310")  # 10 kWh/day
FEB_LAST_YEAR = history(dt.date(2025, 2, 1), dt.date(2025, 3, 1), "2800")  # 100 kWh/day


def fired(kind, bill, **params) -> list[str]:
    return [f.rule for f in prebill.evaluate(bill, {kind: params})]


def test_every_model_kind_has_a_registered_rule_and_nothing_else_is_registered():
    assert sorted(prebill.prebill_rule_kinds()) == sorted(PreBillRule.Kind.values)
    assert set(prebill.DEFAULT_RULES) == set(prebill.REGISTRY)
    for kind, params in prebill.DEFAULT_RULES.items():
        prebill.prebill_rule_check(kind, params)  # the seeded params pass their own checks


# (kind, params, facts that must not fire: on the threshold, facts just past it)
BOUNDARIES = [
    # +100% exactly (20/day against 10/day) is inside the band; 561 kWh is +100.4%.
    ("high_low_last_bill", {"high_percent": 100, "low_percent": 70},
     facts(consumption=D("560"), history=(JANUARY,)), facts(consumption=D("561"), history=(JANUARY,))),
    # -70% exactly (3/day) is inside the band; 83 kWh is -70.4%.
    ("high_low_last_bill", {"high_percent": 100, "low_percent": 70},
     facts(consumption=D("84"), history=(JANUARY,)), facts(consumption=D("83"), history=(JANUARY,))),
    # Against 100/day in February 2025: +150% is 250/day, -80% is 20/day.
    ("high_low_last_year", {"high_percent": 150, "low_percent": 80},
     facts(consumption=D("7000"), history=(FEB_LAST_YEAR, JANUARY)),
     facts(consumption=D("7001"), history=(FEB_LAST_YEAR, JANUARY))),
    ("high_low_last_year", {"high_percent": 150, "low_percent": 80},
     facts(consumption=D("560"), history=(FEB_LAST_YEAR,)), facts(consumption=D("559"), history=(FEB_LAST_YEAR,))),
    ("zero_consumption", {}, facts(consumption=D("0.001")), facts(consumption=D("0"))),
    # 168 of 672 intervals is 25.0%: not over 25%.
    ("too_many_estimated", {"max_percent": 25}, facts(estimated_intervals=168), facts(estimated_intervals=169)),
    # This bill is estimated (10% of its intervals, the threshold counts): with one estimated
    # bill before it that is 2 in a row, with two it is 3, over the limit of 2.
    ("consecutive_estimated", {"max_bills": 2, "estimated_bill_percent": 10},
     facts(interval_count=100, estimated_intervals=10, history=(history(dt.date(2026, 1, 1), FEB, "300", estimated=80),)),
     facts(interval_count=100, estimated_intervals=10, history=(
         history(dt.date(2025, 12, 1), dt.date(2026, 1, 1), "300", estimated=75),
         history(dt.date(2026, 1, 1), FEB, "300", estimated=80)))),
    ("negative_amount", {}, facts(total=D("0.00")), facts(total=D("-0.01"))),
    ("over_limit", {"limit": "100.00"}, facts(total=D("100.00")), facts(total=D("100.01"))),
    # 10 of 100 intervals missing is 10%: not over 10%.
    ("missing_determinants", {"max_missing_percent": 10},
     facts(interval_count=100, missing_intervals=10), facts(interval_count=100, missing_intervals=11)),
    ("missing_determinants", {"max_missing_percent": 10}, facts(), facts(unmeasured_segments=1)),
]


@pytest.mark.parametrize(("kind", "params", "on", "past"), BOUNDARIES,
                         ids=[f"{b[0]}-{i}" for i, b in enumerate(BOUNDARIES)])
def test_each_rule_fires_just_past_its_threshold_and_not_on_it(kind, params, on, past):
    assert fired(kind, on, **params) == []
    assert fired(kind, past, **params) == [kind]
    # The registered function is what evaluate calls.
    assert prebill.REGISTRY[kind].evaluate(past, params) == prebill.evaluate(past, {kind: params})[0]


@pytest.mark.parametrize(("kind", "bill"), [
    ("high_low_last_bill", facts(consumption=D("1000"))),  # no earlier bill
    ("high_low_last_bill", facts(consumption=D("1000"), metered=False, history=(JANUARY,))),
    ("high_low_last_bill", facts(consumption=D("1000"), history=(history(dt.date(2026, 1, 1), FEB, "0"),))),
    ("high_low_last_year", facts(consumption=D("1000"), history=(JANUARY,))),  # no bill a year ago
    ("high_low_last_year", facts(consumption=D("1"), metered=False, history=(FEB_LAST_YEAR,))),
    ("zero_consumption", facts(consumption=D("0"), interval_count=0)),
    ("zero_consumption", facts(consumption=D("0"), metered=False)),
    ("too_many_estimated", facts(interval_count=0, estimated_intervals=5)),
    ("consecutive_estimated", facts(interval_count=100, estimated_intervals=9, history=(
        history(dt.date(2025, 12, 1), dt.date(2026, 1, 1), "300", estimated=75),
        history(dt.date(2026, 1, 1), FEB, "300", estimated=80)))),
    # A bill that was not estimated breaks the run: 2 in a row, not 3.
    ("consecutive_estimated", facts(interval_count=100, estimated_intervals=10, history=(
        history(dt.date(2025, 11, 1), dt.date(2025, 12, 1), "300", estimated=75),
        history(dt.date(2025, 12, 1), dt.date(2026, 1, 1), "300", estimated=0),
        history(dt.date(2026, 1, 1), FEB, "300", estimated=80)))),
    ("missing_determinants", facts(interval_count=0, missing_intervals=0)),
])
def test_rules_stay_quiet_when_they_do_not_apply(kind, bill):
    assert fired(kind, bill, **prebill.DEFAULT_RULES[kind]) == []


def test_same_month_last_year_of_a_leap_day_is_the_28th():
    leap = facts(period_start=dt.date(2024, 2, 1), period_end=dt.date(2024, 3, 1), consumption=D("2900"),
                 history=(history(dt.date(2023, 2, 1), dt.date(2023, 3, 1), "280"),))  # 10/day -> 100/day
    [finding] = prebill.evaluate(leap, {"high_low_last_year": {"high_percent": 150, "low_percent": 80}})
    assert finding.message == ("Usage 100.000/day is 900.0% above the same month last year "
                               "(10.000/day; limit +150%).")


def test_findings_come_in_rule_order_after_rating_errors():
    bill = facts(total=D("-1.00"), consumption=D("0"), rating_errors=("no rate",))
    findings = prebill.evaluate(bill, {"zero_consumption": {}, "negative_amount": {}, "over_limit": {}})
    assert [(f.rule, f.message) for f in findings] == [
        ("rating_error", "no rate"),
        ("zero_consumption", "Zero consumption on a metered service."),
        ("negative_amount", "The bill total -1.00 is negative."),
    ]
    assert all(type(f.rule) is str for f in findings)


def test_rules_without_params_use_their_fallbacks():
    # Absent params fall back to the rule's own thresholds (over_limit: 10000.00).
    assert fired("over_limit", facts(total=D("10000.00"))) == []
    assert fired("over_limit", facts(total=D("10000.01"))) == ["over_limit"]
    assert prebill.evaluate(facts(total=D("20000")), {"over_limit": None})[0].rule == "over_limit"


def test_an_unknown_kind_is_refused_by_evaluate_and_by_the_check():
    with pytest.raises(prebill.PreBillConfigError, match="Unknown pre-bill rule kind 'estimated_too_much'"):
        prebill.evaluate(facts(), {"zero_consumption": {}, "estimated_too_much": {}})
    with pytest.raises(prebill.PreBillConfigError, match="Unknown pre-bill rule kind"):
        prebill.prebill_rule_check("estimated_too_much", {})
    with pytest.raises(prebill.PreBillConfigError):
        prebill.prebill_rule_for("")


def test_an_active_row_of_an_unknown_kind_stops_loading_the_rules():
    PreBillRule.objects.create(kind="over_limit", params={"limit": "50"})
    PreBillRule.objects.create(kind="retired_rule", active=False)
    assert prebill.prebill_rules_active() == {"over_limit": {"limit": "50"}}  # inactive rows are not read
    PreBillRule.objects.filter(kind="retired_rule").update(active=True)
    with pytest.raises(prebill.PreBillConfigError, match="'retired_rule'"):
        prebill.prebill_rules_active()


@pytest.mark.parametrize(("kind", "params", "error"), [
    ("too_many_estimated", {"max_pct": 25}, "unknown params max_pct"),
    ("zero_consumption", {"limit": 1}, r"unknown params limit \(allowed: none\)"),
    ("too_many_estimated", {"max_percent": "lots"}, "max_percent"),
    ("too_many_estimated", {"max_percent": -1}, "max_percent: -1 is negative"),
    ("high_low_last_bill", {"high_percent": True}, "high_percent"),
    ("high_low_last_year", {"low_percent": None}, "low_percent"),
    ("over_limit", {"limit": "NaN"}, "limit"),
    ("consecutive_estimated", {"max_bills": 2.5}, "max_bills: 2.5 is not a whole number"),
    ("consecutive_estimated", {"max_bills": -1}, "max_bills"),
    ("missing_determinants", ["max_missing_percent"], "params must be an object"),
])
def test_unusable_params_are_refused(kind, params, error):
    with pytest.raises(prebill.PreBillConfigError, match=error):
        prebill.prebill_rule_check(kind, params)


def test_usable_params_pass_the_check():
    prebill.prebill_rule_check("over_limit", {"limit": "-25.50"})  # a limit may be any amount
    prebill.prebill_rule_check("consecutive_estimated", {"max_bills": "3", "estimated_bill_percent": 12.5})
    prebill.prebill_rule_check("high_low_last_bill", {})
    prebill.prebill_rule_check("negative_amount", None)


def test_rows_with_unusable_params_stop_loading_the_rules():
    PreBillRule.objects.create(kind="over_limit", params={"limit": "ten thousand"})
    with pytest.raises(prebill.PreBillConfigError, match="over_limit: limit"):
        prebill.prebill_rules_active()


def test_a_kind_registers_once_and_a_new_kind_is_dispatched_through_the_registry():
    before = dict(prebill.REGISTRY)
    with pytest.raises(ValueError, match="registered twice"):
        prebill.prebill_rule("over_limit")(lambda bill, params: None)
    assert prebill.REGISTRY == before
    try:
        @prebill.prebill_rule("long_period", params={"max_days": prebill._count}, defaults={"max_days": 35})
        def long_period(bill, params):
            days = (bill.period_end - bill.period_start).days
            return prebill.Finding("long_period", f"{days} days") if days > params["max_days"] else None

        assert "long_period" in prebill.prebill_rule_kinds()
        assert fired("long_period", facts(), max_days=28) == []
        assert fired("long_period", facts(), max_days=27) == ["long_period"]
        with pytest.raises(prebill.PreBillConfigError):
            prebill.prebill_rule_check("long_period", {"max_days": "soon"})
    finally:
        prebill.REGISTRY.clear()
        prebill.REGISTRY.update(before)


def test_seeding_creates_each_registered_rule_once_and_keeps_staff_settings():
    PreBillRule.objects.create(kind="over_limit", params={"limit": "500.00"})
    assert prebill.prebill_rules_seed() == len(prebill.REGISTRY) - 1
    assert prebill.prebill_rules_seed() == 0
    active = prebill.prebill_rules_active()
    assert active["over_limit"] == {"limit": "500.00"}
    assert active["high_low_last_year"] == {"high_percent": 150, "low_percent": 80}
