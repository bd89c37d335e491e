"""Roles are Django groups. Every staff surface and API view checks them through here."""
from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    CSR = "csr"
    BILLING = "billing"
    METERING = "metering"
    FIELD_CREW = "field_crew"
    ADMIN = "administrator"
    CUSTOMER = "customer"
    API_CLIENT = "api_client"


ROLE_LABELS = {
    Role.CSR: "Customer service representative",
    Role.BILLING: "Billing staff",
    Role.METERING: "Metering staff",
    Role.FIELD_CREW: "Field crew",
    Role.ADMIN: "Administrator",
    Role.CUSTOMER: "Customer",
    Role.API_CLIENT: "API client",
}

STAFF_ROLES = frozenset({Role.CSR, Role.BILLING, Role.METERING, Role.FIELD_CREW, Role.ADMIN})


def user_roles(user) -> frozenset[str]:
    """The role names a user holds; superusers hold every role. Cached on the user object."""
    if user is None or not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_utilis_roles", None)
    if cached is not None:
        return cached
    if user.is_superuser:
        roles = frozenset(Role)
    else:
        roles = frozenset(user.groups.values_list("name", flat=True))
    user._utilis_roles = roles
    return roles


def has_role(user, *roles: str) -> bool:
    return bool(user_roles(user) & set(roles))
