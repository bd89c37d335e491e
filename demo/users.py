"""Demo users, one per role. Only seed_demo creates them; production installs never do."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from core.roles import Role
from portal import services as portal_services

# username, password, role, is_staff (may use Django admin)
DEMO_USERS = [
    ("admin", "utilis-admin", Role.ADMIN, True),
    ("csr", "utilis-csr", Role.CSR, False),
    ("billing", "utilis-billing", Role.BILLING, True),
    ("metering", "utilis-metering", Role.METERING, True),
    ("field", "utilis-field", Role.FIELD_CREW, False),
    ("api", "utilis-api", Role.API_CLIENT, False),
]


def demo_users_create() -> None:
    User = get_user_model()
    for username, password, role, is_staff in DEMO_USERS:
        user, _ = User.objects.get_or_create(username=username)
        user.set_password(password)
        user.is_staff = is_staff
        user.is_superuser = role == Role.ADMIN
        user.save()
        user.groups.add(Group.objects.get_or_create(name=role.value)[0])


# Portal logins of demo customers, linked by seed_demo (the start banner prints them): a
# household with one account and a landlord with two.
DEMO_PORTAL_PASSWORD = "utilis-portal"
DEMO_PORTAL_LOGINS = [("customer@demo.utilis.test", 1), ("landlord@demo.utilis.test", 2)]


def demo_portal_logins_create(*, agreements, now) -> list[tuple[str, list[str]]]:
    """Link the first active residential electric accounts of the demo (in account number
    order, from its agreement records) to the demo portal logins. Returns (email, account
    numbers) per login."""
    picks: list[str] = []
    for ag in sorted(agreements, key=lambda a: a.account.account_number):
        account = ag.account
        if (ag.end_date is None and ag.service_point.commodity == "electric" and ag.service_point.rate_class == "residential"
                and account.parent is None and account.status == "active" and account.account_number not in picks):
            picks.append(account.account_number)
        if len(picks) >= sum(count for _, count in DEMO_PORTAL_LOGINS):
            break
    out = []
    for email, count in DEMO_PORTAL_LOGINS:
        numbers, picks = picks[:count], picks[count:]
        if numbers:
            portal_services.portal_login_create(email=email, password=DEMO_PORTAL_PASSWORD, account_numbers=numbers,
                                                now=now, proof="demo")
            out.append((email, numbers))
    return out
