"""Least privilege on personal data: which role reads which class of personal data, and the
one way Utilis masks what a role may not read.

Two kinds of protection, by what the data is:
- **identifiers** (government ID numbers, birth dates, bank details) are *masked* for a role
  that may see the record but not the identifier: the record stays usable ("Driver's licence
  •••• 0123" still tells a metering clerk an ID is on file) and the value never leaves the
  server;
- **case notes** (an account's notes, complaints and contact log) are free text about a person
  and cannot be masked usefully: a role without the class is *refused* them (403 in the API,
  the sections and their audit rows absent from the hub).

Every surface (REST serializers, hub views, admin, exports, the audit trail, search) asks
here, so bank details for autopay and the customer portal use the same table and helper.
docs/cis.md ("Personal data by role") is the human-readable form of `FULL_ACCESS`.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from enum import StrEnum

from core.roles import Role, user_roles


class PersonalData(StrEnum):
    GOVERNMENT_ID = "government_id"
    BIRTH_DATE = "birth_date"
    BANK_DETAILS = "bank_details"
    CASE_NOTES = "case_notes"


# Who reads each class in full. Administrators (and superusers, who hold every role) always do.
# CSRs verify identity and take bank details on the phone; billing staff work collections,
# deposits and autopay. Metering staff, field crews and integration partners need none of the
# identifiers; partners' call centres do read and log case notes (they answer for the utility).
# A customer sees their own identifiers masked too: a hijacked portal session must not leak them.
FULL_ACCESS: Mapping[PersonalData, frozenset[Role]] = {
    PersonalData.GOVERNMENT_ID: frozenset({Role.ADMIN, Role.CSR, Role.BILLING}),
    PersonalData.BIRTH_DATE: frozenset({Role.ADMIN, Role.CSR, Role.BILLING}),
    PersonalData.BANK_DETAILS: frozenset({Role.ADMIN, Role.CSR, Role.BILLING}),
    PersonalData.CASE_NOTES: frozenset({Role.ADMIN, Role.CSR, Role.BILLING, Role.API_CLIENT}),
}

# The identifier columns of each model ("app_label.ModelName" -> field -> class). An app that
# adds such a column registers it (register_personal_fields, from its AppConfig.ready()) so the
# admin and the audit trails mask it without knowing the app.
_PERSONAL_FIELDS: dict[str, dict[str, PersonalData]] = {
    "cis.Customer": {
        "id_number": PersonalData.GOVERNMENT_ID,
        # The compact copy search uses is the same number.
        "id_number_search": PersonalData.GOVERNMENT_ID,
    },
    # A new customer's application keeps the ID they chose to give until a CSR completes it.
    "cis.MoveRequest": {"applicant_id_number": PersonalData.GOVERNMENT_ID},
}

MASK = "••••"
# A value keeps its last characters visible only when enough stay hidden to make it useless.
_SHOW_LAST = 4
_MIN_HIDDEN = 4


def may_read(user, data: PersonalData) -> bool:
    """Whether `user` reads `data` in full (anonymous users never do)."""
    return bool(user_roles(user) & FULL_ACCESS[data])


def mask(value: str | None) -> str:
    """A masked identifier: "•••• 1234" (its last four letters or digits) when at least four
    more stay hidden, else "••••"; an empty value stays empty (nothing is on file)."""
    if not value:
        return ""
    compact = re.sub(r"[^0-9A-Za-z]", "", str(value))
    if len(compact) >= _SHOW_LAST + _MIN_HIDDEN:
        return f"{MASK} {compact[-_SHOW_LAST:]}"
    return MASK


def mask_date(value: dt.date | str | None) -> str:
    """A masked birth date: nothing of it is shown (the year alone narrows a person down)."""
    return "" if not value else f"{MASK}-••-••"


def shown(user, data: PersonalData, value):
    """`value` as `user` may read it: itself, or masked (dates with mask_date)."""
    if may_read(user, data):
        return value
    if isinstance(value, dt.date):
        return mask_date(value)
    return mask(value)


def register_personal_fields(model_label: str, fields: Mapping[str, PersonalData]) -> None:
    """Declare a model's identifier columns (e.g. billing's bank account number for autopay)."""
    _PERSONAL_FIELDS.setdefault(model_label, {}).update(fields)


def personal_fields(model_label: str) -> dict[str, PersonalData]:
    return dict(_PERSONAL_FIELDS.get(model_label, {}))


def masked_fields(user, model_label: str) -> frozenset[str]:
    """The columns of `model_label` that `user` sees masked."""
    return frozenset(name for name, data in _PERSONAL_FIELDS.get(model_label, {}).items() if not may_read(user, data))


def mask_changes(changes: Mapping[str, list], hidden: frozenset[str]) -> dict[str, list]:
    """An audit row's {field: [before, after]} with the `hidden` fields' values masked."""
    return {
        field: [mask(str(v)) if v not in (None, "") else v for v in pair] if field in hidden else list(pair)
        for field, pair in changes.items()
    }
