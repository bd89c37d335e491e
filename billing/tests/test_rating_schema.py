"""The component registry's parameter schemas: every kind declares one, the strategies validate
from it with messages that name the field, the hub's rate editor is given it and reports
errors by field, and docs/rating.md carries the tables generated from it."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from billing.models import RateVersion
from billing.rating import REGISTRY, Component, ComponentConfigError, strategy_for
from billing.rating.components import component_errors, schema_document
from billing.rating.components.__main__ import DOC, with_tables
from billing.rating.components.schema import PARAM_TYPES
from billing.services.rates import rate_schedule_create, rate_version_add
from conftest import PASSWORD

GRID = [["off"] * 17 + ["on"] * 4 + ["off"] * 3 for _ in range(12)]
TIERS = [{"limit": 500, "price": "0.10"}, {"limit": "1000", "price": "0.12"}, {"price": "0.15"}]

# One usable params example per kind: the schema must accept each and the strategy load it.
GOOD = {
    "fixed": {"amount": "10.00", "per": "day", "prorate": False},
    "meter_size_fixed": {"charges": {"5/8": "12.50", "1.5": 30}, "prorate": True},
    "flat": {"price": 0.11, "unit": "m3"},
    "tiered": {"tiers": TIERS, "limit_basis": "day", "scale_limits": False, "unit": "kWh"},
    "tou_schedule": {"weekday": GRID, "weekend": GRID},
    "tou": {"periods": {"on": "0.20", "off": [{"limit": 300, "price": "0.08"}, {"price": "0.09"}]},
            "mode": "month_total", "limit_basis": "kw", "scale_limits": True, "unit": "kWh"},
    "demand": {"tiers": [{"limit": 50, "price": "8"}, {"price": "10"}], "ratchet": {"percent": 80, "months": 11}},
    "tou_demand": {"periods": {"on": "12.00", "off": [{"limit": 100, "price": 2}, {"price": 3}]}},
    "interval_price": {"series": "hoep", "adder": "0.01"},
    "rider": {"price": "1.2", "basis": "demand", "unit": "kW"},
    "percentage": {"percent": 3, "applies_to": ["delivery"]},
    "tax": {"percent": "13", "applies_to": []},
    "minimum": {"amount": "25", "per": "bill", "applies_to": ["energy"]},
    "annual_minimum": {"amount": "300"},
    "transformer_allowance": {"price": "0.60"},
    "primary_metering_discount": {"percent": "1.5", "applies_to": ["delivery"]},
    "unmetered": {"price": "0.11", "burn_hours": {str(m): 350 for m in range(1, 13)}, "fixtures": ["HPS100"]},
    "net_metering": {"carry": "dollars", "credit_price": "0.08", "applies_to": ["energy"]},
    "generation_credit": {"price": "0.396"},
}


def errors_of(kind: str, params) -> dict[str, str]:
    return REGISTRY[kind].errors_for(params)


def test_every_kind_declares_a_schema_of_known_types_and_a_label():
    assert set(GOOD) == set(REGISTRY)
    for kind, cls in REGISTRY.items():
        assert cls.label and cls.params_schema, kind
        for spec in cls.params_schema:
            assert spec.type in PARAM_TYPES and spec.help, (kind, spec.name)
            assert not (spec.required and spec.default is not None), (kind, spec.name)


@pytest.mark.parametrize("kind", sorted(GOOD))
def test_each_kinds_example_is_accepted_and_every_param_of_it_is_declared(kind):
    assert errors_of(kind, GOOD[kind]) == {}
    strategy_for(Component(kind=kind, code="c", params=GOOD[kind]))
    # The examples use every declared param (the schema lists nothing the strategy ignores).
    assert {s.name for s in REGISTRY[kind].params_schema} <= set(GOOD[kind]) | {"price", "tiers"}


@pytest.mark.parametrize("kind", sorted(GOOD))
def test_an_unknown_param_and_a_missing_required_one_are_named(kind):
    params = {**GOOD[kind], "prise": "1"}
    assert errors_of(kind, params)["prise"].startswith("prise is not a parameter here (known: ")
    for spec in REGISTRY[kind].params_schema:
        if spec.required:
            missing = {k: v for k, v in GOOD[kind].items() if k != spec.name}
            assert errors_of(kind, missing)[spec.name] == f"{spec.name} is required"


def test_tier_errors_name_the_block_and_the_block_it_must_exceed():
    errors = errors_of("tiered", {"tiers": [{"limit": 500, "price": "0.10"}, {"limit": "400", "price": "x"},
                                            {"price": "0.2", "upto": 3}]})
    assert errors == {
        "tiers[2].limit": "tiers[2].limit must be greater than tiers[1].limit (500)",
        "tiers[2].price": "tiers[2].price must be a number, not 'x'",
        "tiers[3].upto": "tiers[3].upto is not a block field (limit, price)",
    }
    assert errors_of("tiered", {"tiers": [{"price": "0.1"}, {"price": "0.2"}]}) == {
        "tiers[1].limit": "tiers[1].limit is required (only the last block may be open-ended)"}
    assert errors_of("tiered", {"tiers": []}) == {
        "tiers": 'tiers must list at least one block ({"limit": ..., "price": ...})'}
    assert errors_of("tiered", {"tiers": [{"limit": 0, "price": 1}, {"price": 2}]}) == {
        "tiers[1].limit": "tiers[1].limit must be greater than 0"}
    assert errors_of("tiered", {"tiers": [{"limit": 100}]}) == {
        "tiers[1].price": "tiers[1].price is required (every block needs a price)"}


def test_choices_bounds_objects_and_conditional_requirements():
    assert errors_of("fixed", {"amount": "1", "per": "week", "prorate": "yes"}) == {
        "per": "per must be one of bill, day, not 'week'", "prorate": "prorate must be true or false, not 'yes'"}
    assert errors_of("demand", {"price": "5", "ratchet": {"percent": 120}}) == {
        "ratchet.percent": "ratchet.percent must be at most 100", "ratchet.months": "ratchet.months is required"}
    assert errors_of("demand", {"price": "5", "ratchet": {"percent": 80, "months": 1.5}}) == {
        "ratchet.months": "ratchet.months must be a whole number, not 1.5"}
    assert errors_of("demand", {}) == {"price": "price or tiers: give exactly one"}
    assert errors_of("demand", {"price": 1, "tiers": [{"price": 2}]}) == {"price": "price or tiers: give exactly one"}
    assert errors_of("net_metering", {"carry": "dollars"}) == {
        "credit_price": "credit_price is required when carry is dollars"}
    assert errors_of("net_metering", {}) == {}
    assert errors_of("transformer_allowance", {"price": "-1"}) == {"price": "price must be at least 0"}
    assert errors_of("flat", {"price": "NaN"}) == {"price": "price must be a number, not 'NaN'"}
    assert errors_of("flat", {"price": True}) == {"price": "price must be a number, not True"}
    assert errors_of("percentage", {"percent": 3, "applies_to": "delivery"}) == {
        "applies_to": "applies_to must be a list of tags (text)"}


def test_periods_grids_mappings_and_months_name_the_entry():
    assert errors_of("tou", {"periods": {"on peak": "0.2", "off": [{"limit": 10, "price": "a"}, {"price": 1}]}}) == {
        "periods[on peak]": "periods[on peak] is not a period name (letters, digits, _ and -, at most 30)",
        "periods[off][1].price": "periods[off][1].price must be a number, not 'a'"}
    assert errors_of("tou_demand", {"periods": {}}) == {"periods": "periods must name at least one TOU period with its price"}
    short = [row[:] for row in GRID]
    short[6] = short[6][:23]
    short[2][5] = ""
    assert errors_of("tou_schedule", {"weekday": short, "weekend": GRID[:11]}) == {
        "weekday[3][5]": "weekday[3][5] (Mar 5:00) must be a period name, not ''",
        "weekday[7]": "weekday[7] (Jul) must have 24 hours, not 23",
        "weekend": "weekend must have 12 rows (months January to December), not 11"}
    assert errors_of("meter_size_fixed", {"charges": {"5/8": "x"}}) == {
        "charges[5/8]": "charges[5/8] must be a number, not 'x'"}
    hours = {str(m): 300 for m in range(1, 12)}
    hours["13"] = 1
    hours["2"] = 800
    assert errors_of("unmetered", {"price": 1, "burn_hours": hours}) == {
        "burn_hours[13]": "burn_hours[13] is not a month (1 to 12)",
        "burn_hours[2]": "burn_hours[2] must be at most 744",
        "burn_hours[12]": "burn_hours[12] (Dec) is required (every month needs a value)"}


def test_a_seasonal_value_is_checked_for_every_month_and_the_error_says_which():
    seasonal = {"by_month": {str(m): [{"limit": 500, "price": "0.1"}, {"price": "0.2"}] for m in range(1, 13)}}
    assert errors_of("tiered", {"tiers": seasonal}) == {}
    seasonal["by_month"]["7"] = [{"limit": 500, "price": "0.1"}, {"limit": 200, "price": "0.2"}, {"price": "0.3"}]
    assert errors_of("tiered", {"tiers": seasonal}) == {
        "tiers[2].limit": "tiers[2].limit must be greater than tiers[1].limit (500) (in month 7)"}
    del seasonal["by_month"]["3"]
    assert errors_of("tiered", {"tiers": seasonal})["tiers"] == (
        "tiers is seasonal but seasonal value has no entry for month 3")
    nested = {"tiers": [{"limit": 500, "price": {"by_month": {str(m): "0.1" for m in range(1, 13)}}}, {"price": "x"}]}
    assert errors_of("tiered", nested) == {"tiers[2].price": "tiers[2].price must be a number, not 'x'"}


def test_the_strategy_refuses_bad_params_with_the_field_messages():
    with pytest.raises(ComponentConfigError) as caught:
        strategy_for(Component(kind="tiered", code="energy",
                               params={"tiers": [{"limit": 500, "price": "0.1"}, {"limit": 400, "price": "0.2"}]}))
    assert str(caught.value) == "energy (tiered): tiers[2].limit must be greater than tiers[1].limit (500)"
    assert caught.value.errors == {"tiers[2].limit": "tiers[2].limit must be greater than tiers[1].limit (500)"}
    with pytest.raises(ComponentConfigError, match="price is required"):
        strategy_for(Component(kind="flat", code="energy", params={}))


def test_component_errors_check_the_component_fields_too():
    assert component_errors({"kind": "flat", "code": "e", "params": {"price": 1}, "tags": ["energy"]}) == {}
    assert component_errors({"kind": "flatt", "code": "", "params": {}, "colour": 1, "tags": "x"}) == {
        "kind": "kind must be one of " + ", ".join(REGISTRY) + ", not 'flatt'",
        "code": "code is required (it names the component on bill lines)",
        "tags": "tags must be a list of text",
        "colour": "colour is not a component field (kind, code, description, tags, params)"}


def test_the_editor_is_given_every_kind_with_its_params():
    document = schema_document()
    assert [k["kind"] for k in document] == list(REGISTRY)
    demand = next(k for k in document if k["kind"] == "demand")
    assert demand["one_of"] == ["price", "tiers"]
    ratchet = next(p for p in demand["params"] if p["name"] == "ratchet")
    assert [f["name"] for f in ratchet["fields"]] == ["percent", "months"]
    json.dumps(document)  # it goes into the page as JSON


def test_docs_rating_md_carries_the_generated_tables():
    text = DOC.read_text()
    assert with_tables(text) == text, "docs/rating.md is stale: run `python -m billing.rating.components`"
    for kind in REGISTRY:
        assert f"### `{kind}`: " in text
    assert DOC == Path(__file__).resolve().parents[2] / "docs" / "rating.md"


# ---- the hub's rate page --------------------------------------------------------------------

@pytest.fixture
def staff(client, billing_user):
    client.login(username=billing_user.username, password=PASSWORD)
    return client


@pytest.mark.django_db
def test_the_rate_page_reports_errors_per_component_and_field_and_saves_nothing(staff):
    schedule = rate_schedule_create(code="RES", name="Residential")
    components = [
        {"kind": "tiered", "code": "energy", "params": {"tiers": [{"limit": 500, "price": "0.1"},
                                                                  {"limit": 300, "price": "0.2"}, {"price": "0.3"}]}},
        {"kind": "tou_schedule", "code": "tou-periods", "params": {"weekday": GRID, "weekend": GRID}},
        {"kind": "tou", "code": "energy", "params": {"periods": {"on": "0.2", "shoulder": "0.1"}}},
    ]
    response = staff.post(f"/billing/rates/{schedule.pk}/", {"start_date": "2026-01-01",
                                                             "components": json.dumps(components)})
    assert response.status_code == 200
    errors = response.context["component_errors"]
    assert errors == [
        {"tiers[2].limit": "tiers[2].limit must be greater than tiers[1].limit (500)",
         "code": "code 'energy' is used by another component of this version"},
        {},
        {"code": "code 'energy' is used by another component of this version",
         "periods[shoulder]": "periods[shoulder] is not a period of this version's TOU schedule (off, on)"},
    ]
    page = response.content.decode()
    assert '<script id="rate-errors" type="application/json">' in page
    assert '<script id="rate-schema" type="application/json">' in page
    assert "Version not added: 4 fields to correct: component 1 (energy): tiers[2].limit" in page
    assert not RateVersion.objects.exists()

    components[0]["params"]["tiers"][1]["limit"] = 800
    components[2] = {"kind": "tou", "code": "tou-energy", "params": {"periods": {"on": "0.2", "off": "0.1"}}}
    response = staff.post(f"/billing/rates/{schedule.pk}/", {"start_date": "2026-01-01",
                                                             "components": json.dumps(components)})
    assert response.status_code == 302
    assert RateVersion.objects.get().start_date == dt.date(2026, 1, 1)


@pytest.mark.django_db
def test_tou_prices_without_a_schedule_in_the_version_are_refused(staff):
    schedule = rate_schedule_create(code="RES", name="Residential")
    rate_version_add(schedule=schedule, start_date=dt.date(2025, 1, 1),
                     components=[{"kind": "flat", "code": "e", "params": {"price": "0.1"}}])
    response = staff.post(f"/billing/rates/{schedule.pk}/", {"start_date": "2026-01-01", "components": json.dumps(
        [{"kind": "tou", "code": "e", "params": {"periods": {"on": "0.2"}}}])})
    assert response.context["component_errors"] == [
        {"periods": "periods need a TOU schedule component in this version"}]
    assert RateVersion.objects.count() == 1
