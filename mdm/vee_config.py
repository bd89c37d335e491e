"""Rule sets as JSON (what staff edit in the admin and what VeeRuleSet.rules stores) to and from
the frozen dataclasses of `mdm.vee.rules`, and the seeded default.

JSON shape: {"validations": [{"kind": "spike", "name": "spike", "threshold_pct": 300, ...}, ...],
"estimations": [{"kind": "linear", "max_gap_minutes": 180}, {"kind": "like_day", "days": 4},
{"kind": "class_profile", "profiles": {"residential": [24 weights]}}]}. Unknown kinds or
parameters are refused rather than ignored: a typo must not silently switch a rule off."""
from __future__ import annotations

import dataclasses
import hashlib
import json
from types import MappingProxyType

from mdm.vee import rules as r

VALIDATION_KINDS: dict[str, type] = {cls.kind: cls for cls in r.Validation.__args__}
ESTIMATION_KINDS: dict[str, type] = {cls.kind: cls for cls in r.Estimation.__args__}


class RuleSetConfigError(ValueError):
    """The JSON does not describe a valid rule set (unknown kind or parameter, bad value)."""


def _build(entry: dict, kinds: dict[str, type], where: str):
    if not isinstance(entry, dict) or "kind" not in entry:
        raise RuleSetConfigError(f"{where}: each rule needs a 'kind'")
    params = dict(entry)
    kind = params.pop("kind")
    cls = kinds.get(kind)
    if cls is None:
        raise RuleSetConfigError(f"{where}: unknown kind {kind!r} (one of {', '.join(sorted(kinds))})")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(params) - set(fields)
    if unknown:
        raise RuleSetConfigError(f"{where} {kind}: unknown parameters {', '.join(sorted(unknown))}")
    if "on_fail" in params:
        try:
            params["on_fail"] = r.OnFail(params["on_fail"])
        except ValueError as exc:
            raise RuleSetConfigError(f"{where} {kind}: on_fail must be estimate, flag or worklist") from exc
    if "profiles" in params:
        profiles = params["profiles"]
        if not isinstance(profiles, dict) or not all(isinstance(v, list) and v for v in profiles.values()):
            raise RuleSetConfigError(f"{where} {kind}: profiles must map a rate class to a list of weights")
        params["profiles"] = MappingProxyType({k: tuple(float(x) for x in v) for k, v in profiles.items()})
    for name, value in params.items():
        if name in ("on_fail", "profiles", "name"):
            continue
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise RuleSetConfigError(f"{where} {kind}: {name} must be a non-negative number")
    return cls(**params)


def rule_set_from_json(name: str, data: dict) -> r.RuleSet:
    """Raises RuleSetConfigError."""
    if not isinstance(data, dict):
        raise RuleSetConfigError("rules must be an object with 'validations' and 'estimations'")
    validations = tuple(_build(e, VALIDATION_KINDS, "validation") for e in data.get("validations", []))
    estimations = tuple(_build(e, ESTIMATION_KINDS, "estimation") for e in data.get("estimations", []))
    try:
        return r.RuleSet(name=name, validations=validations, estimations=estimations)
    except ValueError as exc:
        raise RuleSetConfigError(str(exc)) from exc


def _entry(rule) -> dict:
    out = {"kind": rule.kind}
    for f in dataclasses.fields(rule):
        value = getattr(rule, f.name)
        if isinstance(value, r.OnFail):
            value = value.value
        elif f.name == "profiles":
            value = {k: list(v) for k, v in value.items()}
        out[f.name] = value
    return out


def rule_set_to_json(rule_set: r.RuleSet) -> dict:
    return {
        "validations": [_entry(v) for v in rule_set.validations],
        "estimations": [_entry(e) for e in rule_set.estimations],
    }


def fingerprint(data) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


# Hourly load shapes (local clock hour 0..23) for the class-profile estimate: a residential
# morning and evening peak; a commercial business-hours plateau. Scaled to the register delta,
# so only their proportions matter.
RESIDENTIAL_SHAPE = [
    0.55, 0.5, 0.48, 0.47, 0.48, 0.55, 0.8, 1.05, 1.0, 0.85, 0.8, 0.8,
    0.82, 0.8, 0.8, 0.85, 1.0, 1.3, 1.5, 1.45, 1.3, 1.1, 0.85, 0.65,
]
COMMERCIAL_SHAPE = [
    0.4, 0.4, 0.4, 0.4, 0.4, 0.45, 0.6, 0.9, 1.3, 1.45, 1.5, 1.5,
    1.5, 1.5, 1.5, 1.45, 1.35, 1.1, 0.8, 0.6, 0.5, 0.45, 0.4, 0.4,
]

DEFAULT_RULE_SET_NAME = "Electric interval (default)"
LARGE_RULE_SET_NAME = "Electric interval (commercial and industrial)"
# Rate classes whose services draw hundreds of kW: the default's 100 kW demand limit would put
# every one of their days on the worklist.
LARGE_RATE_CLASSES = ("commercial", "industrial")


def large_customer_rules_json() -> dict:
    """The default with a 2,000 kW demand limit (a wrong CT multiplier still shows)."""
    rules = default_rules_json()
    for rule in rules["validations"]:
        if rule["kind"] == "max_demand":
            rule["limit_kw"] = 2000
    return rules


def default_rules_json() -> dict:
    """The seeded default: gaps; spike 300 %; high above 250 % / low under 10 % of the average
    day; 8 hours of zeros (32 quarter hours); negatives; 12 identical values; 100 kW max demand;
    sum check 2 %; interval-length and unit mismatch; clock 60 s. Estimation: linear up to 3 h,
    then 4 like days, then the class profile."""
    return {
        "validations": [
            {"kind": "gaps", "max_missing_slots": 48},
            {"kind": "spike", "threshold_pct": 300, "min_peak": 0.5},
            {"kind": "high_low_usage", "high_pct": 150, "low_pct": 90, "lookback_days": 30, "min_history_days": 7},
            {"kind": "zero_consumption", "min_consecutive": 32},
            {"kind": "negative"},
            {"kind": "stuck", "min_run": 12},
            {"kind": "max_demand", "limit_kw": 100},
            {"kind": "sum_check", "tolerance_pct": 2, "tolerance_abs": 0.5},
            {"kind": "interval_length"},
            {"kind": "unit"},
            {"kind": "clock_tolerance", "tolerance_seconds": 60},
        ],
        "estimations": [
            {"kind": "linear", "max_gap_minutes": 180},
            {"kind": "like_day", "days": 4, "min_days": 1, "max_lookback_days": 56},
            {"kind": "class_profile", "profiles": {"residential": RESIDENTIAL_SHAPE, "commercial": COMMERCIAL_SHAPE}},
        ],
    }
