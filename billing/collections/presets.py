"""Jurisdiction presets: the default dunning plans and Ontario's protection rules, as data.

The migration loads them once; `collections_preset_load` (billing.services) loads them again
for a fresh database or after staff deleted rows: rows that exist (by code) are left as staff
edited them."""
from __future__ import annotations

from decimal import Decimal

# (kind, delay days after the oldest overdue due date, minimum overdue, notice days)
PLANS: dict[str, dict] = {
    "RES-STD": {
        "name": "Residential standard", "customer_class": "residential", "late_charge_percent": Decimal("1.50"),
        "steps": [
            ("reminder", 5, Decimal("10.00"), 0),
            ("late_charge", 16, Decimal("10.00"), 0),
            ("final_notice", 30, Decimal("50.00"), 0),
            ("disconnect_notice", 45, Decimal("100.00"), 14),
            ("disconnect", 60, Decimal("100.00"), 0),
            ("write_off", 120, Decimal("0.01"), 0),
        ],
    },
    "COM-STD": {
        "name": "Commercial standard", "customer_class": "commercial", "late_charge_percent": Decimal("1.50"),
        "steps": [
            ("reminder", 3, Decimal("25.00"), 0),
            ("late_charge", 16, Decimal("25.00"), 0),
            ("final_notice", 21, Decimal("100.00"), 0),
            ("disconnect_notice", 30, Decimal("250.00"), 10),
            ("disconnect", 45, Decimal("250.00"), 0),
            ("write_off", 120, Decimal("0.01"), 0),
        ],
    },
}

# code: (kind, applies_to, customer_class, params, description)
ONTARIO_RULES: dict[str, tuple[str, str, str, dict, str]] = {
    "ON-WINTER-BAN": ("seasonal_ban", "disconnect", "residential",
                      {"start": "11-15", "end": "04-30", "reconnect_lead_days": 14},
                      "No residential disconnection for non-payment Nov 15 - Apr 30; homes disconnected "
                      "before it are reconnected by Nov 15."),
    "ON-NO-DISCONNECT-DAYS": ("no_disconnect_days", "disconnect", "",
                              {"weekdays": [4, 5, 6], "holidays": True, "day_before_holiday": True},
                              "No disconnection Friday to Sunday, on a holiday or the day before one."),
    "ON-EXTREME-WEATHER": ("extreme_weather", "disconnect", "", {},
                           "No disconnection in an area on a day staff declared extreme weather."),
    "ON-NOTICE-PERIOD": ("notice_period", "disconnect", "", {"days": 14},
                         "A disconnection notice at least this many days before the order."),
    "ON-CONTACT-48H": ("contact_attempt", "disconnect", "", {"hours": 48},
                       "An attempt to contact the customer at least 48 hours before disconnection."),
    "ON-MEDICAL": ("medical", "all", "", {"days": 30, "max_renewals": 2},
                   "A medical / life-support certificate holds the account (30 days, renewable twice)."),
    "ON-EMERGENCY-ASSISTANCE": ("emergency_assistance", "all", "", {"days": 21},
                                "An emergency assistance application suspends collections for 21 days."),
    "ON-ARRANGEMENT": ("arrangement", "all", "", {}, "An active payment arrangement holds the account."),
    "ON-PROMISE": ("promise", "all", "", {}, "An open promise to pay holds the account until its date."),
    "ON-DISPUTE": ("dispute", "all", "", {}, "A disputed bill holds the account until it is resolved."),
    "ON-PENDING-PAYMENT": ("pending_payment", "all", "", {"days": 5}, "A payment on its way holds the account."),
    "ON-STAFF-HOLD": ("staff_hold", "all", "", {}, "Staff put the account on hold."),
}


def load(plan_model, step_model, rule_model) -> dict[str, int]:
    """Create the preset rows whose code does not exist yet. Returns what was created."""
    created = {"plans": 0, "rules": 0}
    for code, spec in PLANS.items():
        if plan_model.objects.filter(code=code).exists():
            continue
        active = not plan_model.objects.filter(customer_class=spec["customer_class"], active=True).exists()
        plan = plan_model.objects.create(code=code, name=spec["name"], customer_class=spec["customer_class"],
                                         late_charge_percent=spec["late_charge_percent"], active=active)
        for sequence, (kind, delay, minimum, notice) in enumerate(spec["steps"], start=1):
            step_model.objects.create(plan=plan, sequence=sequence * 10, kind=kind, delay_days=delay,
                                      min_overdue=minimum, notice_days=notice)
        created["plans"] += 1
    for code, (kind, applies_to, customer_class, params, description) in ONTARIO_RULES.items():
        _, made = rule_model.objects.get_or_create(code=code, defaults={
            "kind": kind, "applies_to": applies_to, "customer_class": customer_class, "params": params,
            "description": description, "jurisdiction": "ON"})
        created["rules"] += int(made)
    return created
