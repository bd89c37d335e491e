"""Demo users, one per role. Only seed_demo creates them; production installs never do."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from core.roles import Role

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
