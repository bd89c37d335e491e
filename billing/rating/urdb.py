"""Import an OpenEI Utility Rate Database (URDB) tariff as a RateVersion.

Mapping (URDB v7/v8 keys):
- energyratestructure + energyweekdayschedule/energyweekendschedule -> a `tou_schedule`
  ("energy-periods", period names "E1".."En" for URDB's 0-based periods 0..n-1) and a `tou`
  component in "month_total" mode (SAM's reading of tiers on TOU: limits on the month's
  total kWh, the cost split by period share). price = rate + adj. Tier units: "kWh" (per
  bill), "kWh daily", "kWh/kW", "kWh/kW daily".
- fixedchargefirstmeter + fixedchargeunits ($/month, $/day, $/year) or the old
  fixedmonthlycharge -> `fixed`.
- minmonthlycharge (old) or mincharge + minchargeunits ($/month, $/day) -> `minimum`;
  annualmincharge or mincharge in $/year -> `annual_minimum`.
- demandratestructure + demandweekdayschedule/demandweekendschedule -> a second
  `tou_schedule` ("demand-periods", "D1".."Dn") and a `tou_demand` component.
- flatdemandstructure + flatdemandmonths -> `demand` with tiers chosen by month.
- dgrules "Net Metering" -> `net_metering` carrying kWh.
- startdate / enddate (epoch seconds) -> the effective range (UTC dates).

Keys that change money and are not supported raise UnsupportedURDBFeature (see
UNSUPPORTED); descriptive keys are ignored (see INFORMATIONAL). Anything else unknown also
raises, so a new URDB field is never silently dropped."""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from core.money import to_decimal

from .types import Component, RateVersion

# URDB writes "no limit" as 1e38 (or 9.99e37 after a float32 round trip).
UNLIMITED = 1e37

INFORMATIONAL = frozenset({
    "label", "uri", "sector", "description", "country", "name", "utility", "eiaid", "source", "sourceparent",
    "revisions", "approved", "is_default", "supersedes", "supercedes", "servicetype", "voltagecategory", "phasewiring",
    "energycomments", "demandcomments", "basicinformationcomments", "fixedchargeunits", "minchargeunits",
    "flatdemandunit", "demandrateunit", "demandunits", "energyattrs", "demandattrs", "fixedattrs", "useddemandunits",
    "peakkwcapacitymin", "peakkwcapacitymax", "peakkwcapacityhistory", "peakkwhusagemin", "peakkwhusagemax",
    "peakkwhusagehistory", "voltageminimum", "voltagemaximum", "demandmin", "demandmax", "demandhist",
    "latest_update", "country", "utility_name", "state", "zipcodes", "serviceareas", "is_default",
    "startdate", "enddate", "dgrules", "annualmincharge", "minmonthlycharge", "mincharge", "fixedmonthlycharge",
    "fixedchargefirstmeter", "energyratestructure", "energyweekdayschedule", "energyweekendschedule",
    "demandratestructure", "demandweekdayschedule", "demandweekendschedule", "flatdemandstructure",
    "flatdemandmonths", "demandwindow",
})

UNSUPPORTED = {
    "fixedchargeeaaddl": "a fixed charge per additional meter",
    "coincidentratestructure": "coincident-peak demand charges",
    "coincidentrateschedule": "coincident-peak demand charges",
    "coincidentsched": "coincident-peak demand charges",
    "demandreactivepowercharge": "reactive power (kVAR) charges",
    "lookbackpercent": "URDB billing-demand lookback (use a `demand` ratchet instead)",
    "lookbackrange": "URDB billing-demand lookback (use a `demand` ratchet instead)",
    "lookbackmonths": "URDB billing-demand lookback (use a `demand` ratchet instead)",
    "demandratchetpercentage": "URDB demand ratchets (use a `demand` ratchet instead)",
    "fueladjustmentsmonthly": "monthly fuel adjustments",
    "energyratestructure/sell": "a separate sell rate for exported energy (net billing)",
}


class UnsupportedURDBFeature(ValueError):
    """The tariff uses a URDB feature that changes money and that the import cannot represent."""


def decode(raw: str | bytes | Mapping[str, Any]) -> dict[str, Any]:
    """A URDB document as a dict: accepts a dict, JSON text, JSON text holding a JSON string
    (as PySAM's sample files store it), or an API response {"items": [tariff]}."""
    doc: Any = raw
    while isinstance(doc, (str, bytes)):
        doc = json.loads(doc)
    if isinstance(doc, Mapping) and "items" in doc:
        items = doc["items"]
        if len(items) != 1:
            raise ValueError(f"expected one tariff in items, got {len(items)}")
        doc = items[0]
    return dict(doc)


def _num(value: Any) -> Decimal:
    return to_decimal(value)


def _limit(entry: Mapping[str, Any]) -> str | None:
    value = entry.get("max")
    if value is None or float(value) >= UNLIMITED:
        return None
    return str(_num(value))


def _grid(schedule: Sequence[Sequence[Any]], prefix: str) -> list[list[str]]:
    if len(schedule) != 12 or any(len(row) != 24 for row in schedule):
        raise ValueError("URDB schedules are 12 months x 24 hours")
    return [[f"{prefix}{int(x) + 1}" for x in row] for row in schedule]


ENERGY_UNITS = {"kwh": "bill", "kwh daily": "day", "kwh/kw": "kw", "kwh/kw daily": "kw_day"}


def _energy(doc: Mapping[str, Any]) -> list[Component]:
    structure = doc["energyratestructure"]
    if "energyweekdayschedule" not in doc or "energyweekendschedule" not in doc:
        raise ValueError("energyratestructure needs energyweekdayschedule and energyweekendschedule")
    bases = set()
    periods: dict[str, Any] = {}
    for index, tiers in enumerate(structure):
        out = []
        for entry in tiers:
            if float(entry.get("sell", 0) or 0) != 0:
                raise UnsupportedURDBFeature(f"energyratestructure sell rate: {UNSUPPORTED['energyratestructure/sell']}")
            unit = str(entry.get("unit", "kWh")).lower()
            if unit not in ENERGY_UNITS:
                raise UnsupportedURDBFeature(f"energy tier unit {entry.get('unit')!r}")
            bases.add(ENERGY_UNITS[unit])
            price = _num(entry.get("rate", 0)) + _num(entry.get("adj", 0))
            tier = {"price": str(price)}
            limit = _limit(entry)
            if limit is not None:
                tier["limit"] = limit
            out.append(tier)
        periods[f"E{index + 1}"] = out
    if len(bases) > 1:
        raise UnsupportedURDBFeature(f"energy tiers mix limit units {sorted(bases)}")
    used = {int(x) for grid in ("energyweekdayschedule", "energyweekendschedule") for row in doc[grid] for x in row}
    if max(used) >= len(structure):
        raise ValueError(f"energy schedule uses period {max(used)} but energyratestructure has {len(structure)}")
    return [
        Component(kind="tou_schedule", code="energy-periods", params={
            "weekday": _grid(doc["energyweekdayschedule"], "E"), "weekend": _grid(doc["energyweekendschedule"], "E")}),
        Component(kind="tou", code="energy", description="Energy charge", tags=frozenset({"energy"}), params={
            "periods": periods, "mode": "month_total", "limit_basis": bases.pop() if bases else "bill"}),
    ]


def _demand_tiers(tiers: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    out = []
    for entry in tiers:
        if str(entry.get("unit", "kW")).lower() != "kw":
            raise UnsupportedURDBFeature(f"demand unit {entry.get('unit')!r} (only kW)")
        price = _num(entry.get("rate", 0)) + _num(entry.get("adj", 0))
        tier = {"price": str(price)}
        limit = _limit(entry)
        if limit is not None:
            tier["limit"] = limit
        out.append(tier)
    return out


def _units_check(doc: Mapping[str, Any]) -> None:
    for key in ("flatdemandunit", "demandrateunit", "demandunits"):
        if key in doc and str(doc[key]).lower() != "kw":
            raise UnsupportedURDBFeature(f"{key} {doc[key]!r}: only kW demand is supported")


def rate_from_urdb(raw: str | bytes | Mapping[str, Any], *, code: str | None = None,
                   effective_start: dt.date | None = None, effective_end: dt.date | None = None) -> RateVersion:
    """A RateVersion from a URDB tariff (dict or JSON text; see `decode`).

    Decode, refuse what cannot be represented, then one pure step per part of the tariff
    (customer charge, energy, demand, minimums, net metering, effective dates).

    Raises UnsupportedURDBFeature for money-changing keys it cannot represent (and unknown
    keys), ValueError for a malformed document."""
    doc = decode(raw)
    _supported_check(doc)
    _units_check(doc)
    components: list[Component] = []
    components += _fixed_components(doc)
    if "energyratestructure" in doc:
        components += _energy(doc)
    components += _demand_components(doc)
    components += _minimum_components(doc)
    components = _net_metering_components(doc) + components
    start, end = _effective_dates(doc, effective_start, effective_end)
    return RateVersion(
        code=code or str(doc.get("label") or "urdb"),
        effective_start=start,
        effective_end=end,
        components=tuple(components),
        name=str(doc.get("name", "")),
    )


def _supported_check(doc: Mapping[str, Any]) -> None:
    unknown = sorted(k for k in doc if k not in INFORMATIONAL and k not in UNSUPPORTED)
    present = sorted(k for k in doc if k in UNSUPPORTED and doc[k] not in (None, 0, [], ""))
    if present or unknown:
        reasons = [f"{k} ({UNSUPPORTED[k]})" for k in present] + [f"{k} (unknown key)" for k in unknown]
        raise UnsupportedURDBFeature("URDB tariff uses unsupported features: " + "; ".join(reasons))


def _per_period_amount(amount: Decimal, units: str, key: str) -> dict[str, str]:
    """A $/month, $/day or $/year amount as a monthly component's params."""
    if units == "$/month":
        return {"amount": str(amount)}
    if units == "$/day":
        return {"amount": str(amount), "per": "day"}
    if units == "$/year":
        return {"amount": str(amount / 12)}
    raise UnsupportedURDBFeature(f"{key} {units!r}")


def _fixed_components(doc: Mapping[str, Any]) -> list[Component]:
    if "fixedchargefirstmeter" in doc:
        fixed = _per_period_amount(_num(doc["fixedchargefirstmeter"]), doc.get("fixedchargeunits", "$/month"),
                                   "fixedchargeunits")
    elif "fixedmonthlycharge" in doc:
        fixed = {"amount": str(_num(doc["fixedmonthlycharge"]))}
    else:
        return []
    return [Component(kind="fixed", code="fixed", description="Customer charge", tags=frozenset({"fixed"}),
                      params=fixed)]


def _demand_components(doc: Mapping[str, Any]) -> list[Component]:
    components: list[Component] = []
    if "demandratestructure" in doc:
        if "demandweekdayschedule" not in doc or "demandweekendschedule" not in doc:
            raise ValueError("demandratestructure needs demandweekdayschedule and demandweekendschedule")
        structure = doc["demandratestructure"]
        components.append(Component(kind="tou_schedule", code="demand-periods", params={
            "weekday": _grid(doc["demandweekdayschedule"], "D"), "weekend": _grid(doc["demandweekendschedule"], "D")}))
        components.append(Component(kind="tou_demand", code="tou-demand", description="TOU demand charge",
                                    tags=frozenset({"demand"}),
                                    params={"periods": {f"D{i + 1}": _demand_tiers(t) for i, t in enumerate(structure)}}))
    if "flatdemandstructure" in doc:
        months = doc.get("flatdemandmonths")
        if months is None or len(months) != 12:
            raise ValueError("flatdemandstructure needs flatdemandmonths (12 period numbers)")
        structure = doc["flatdemandstructure"]
        by_month = {}
        for month, period in enumerate(months, 1):
            if int(period) >= len(structure):
                raise ValueError(f"flatdemandmonths names period {int(period)} missing from flatdemandstructure")
            by_month[str(month)] = _demand_tiers(structure[int(period)])
        components.append(Component(kind="demand", code="demand", description="Demand charge",
                                    tags=frozenset({"demand"}), params={"tiers": {"by_month": by_month}}))
    return components


def _minimum_components(doc: Mapping[str, Any]) -> list[Component]:
    monthly_min: dict[str, str] | None = None
    annual_min: dict[str, str] | None = None
    if "minmonthlycharge" in doc:
        monthly_min = {"amount": str(_num(doc["minmonthlycharge"]))}
    if "mincharge" in doc:
        units = doc.get("minchargeunits", "$/month")
        amount = _num(doc["mincharge"])
        if units == "$/year":
            annual_min = {"amount": str(amount)}
        elif units in ("$/month", "$/day"):
            monthly_min = _per_period_amount(amount, units, "minchargeunits")
        else:
            raise UnsupportedURDBFeature(f"minchargeunits {units!r}")
    if "annualmincharge" in doc:
        annual_min = {"amount": str(_num(doc["annualmincharge"]))}
    components: list[Component] = []
    if monthly_min is not None and _num(monthly_min["amount"]) > 0:
        components.append(Component(kind="minimum", code="minimum", description="Minimum charge adjustment",
                                    params=monthly_min))
    if annual_min is not None and _num(annual_min["amount"]) > 0:
        components.append(Component(kind="annual_minimum", code="annual-minimum",
                                    description="Annual minimum charge adjustment", params=annual_min))
    return components


def _net_metering_components(doc: Mapping[str, Any]) -> list[Component]:
    """Net metering goes first: the rest of the bill is rated on the netted usage."""
    rules = doc.get("dgrules")
    if rules == "Net Metering":
        return [Component(kind="net_metering", code="net-metering", params={"carry": "kwh"})]
    if rules not in (None, ""):
        raise UnsupportedURDBFeature(f"dgrules {rules!r}: only 'Net Metering' is supported")
    return []


def _effective_dates(doc: Mapping[str, Any], start: dt.date | None,
                     end: dt.date | None) -> tuple[dt.date, dt.date | None]:
    def day(key: str) -> dt.date | None:
        return dt.datetime.fromtimestamp(int(doc[key]), tz=dt.timezone.utc).date() if doc.get(key) else None

    return start or day("startdate") or dt.date(1900, 1, 1), end or day("enddate")
