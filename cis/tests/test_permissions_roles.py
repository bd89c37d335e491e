"""Roles are Django groups: core.roles answers who holds which, core.permissions guards hub
views with it, demo.users seeds one user per role, and migrate creates the groups."""
import pytest
from django.contrib.auth.models import AnonymousUser, Group
from django.http import HttpResponse
from django.urls import include, path

from demo.users import DEMO_USERS, demo_users_create
from core.permissions import role_required
from core.roles import Role, has_role, user_roles

pytestmark = pytest.mark.django_db


@role_required(Role.BILLING)
def billing_page(request):
    return HttpResponse("billing page")


@role_required(Role.CSR, Role.METERING)
def csr_or_metering_page(request):
    return HttpResponse("shared page")


# This module is the URLconf for these tests (pytest.mark.urls): two guarded test pages in
# front of the project's own URLs, so the real login page and 403 template are used.
urlpatterns = [
    path("t/billing/", billing_page),
    path("t/shared/", csr_or_metering_page),
    path("", include("config.urls")),
]

uses_test_urls = pytest.mark.urls(__name__)


@uses_test_urls
def test_anonymous_visitor_is_sent_to_login_with_the_page_to_come_back_to(client):
    response = client.get("/t/billing/?cycle=7")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/t/billing/%3Fcycle%3D7"


@uses_test_urls
def test_signed_in_user_without_the_role_gets_403(client, csr):
    client.force_login(csr)
    assert client.get("/t/billing/").status_code == 403


@uses_test_urls
def test_user_with_the_role_passes(client, billing_user):
    client.force_login(billing_user)
    response = client.get("/t/billing/")
    assert response.status_code == 200 and response.content == b"billing page"


@uses_test_urls
def test_any_one_of_several_roles_is_enough(client, csr, metering_user, billing_user):
    for user, status in [(csr, 200), (metering_user, 200), (billing_user, 403)]:
        client.force_login(user)
        assert client.get("/t/shared/").status_code == status, user.username


@uses_test_urls
def test_administrator_role_and_superuser_pass_every_role_check(client, admin_user_role, django_user_model):
    superuser = django_user_model.objects.create_superuser(username="root", password="x", email="r@example.test")
    for user in (admin_user_role, superuser):
        client.force_login(user)
        assert client.get("/t/billing/").status_code == 200
        assert client.get("/t/shared/").status_code == 200


@uses_test_urls
def test_staff_flag_alone_grants_no_role(client, make_user):
    client.force_login(make_user("staffonly", is_staff=True))
    assert client.get("/t/billing/").status_code == 403


def test_has_role_reads_group_membership(csr):
    assert has_role(csr, Role.CSR)
    assert has_role(csr, Role.BILLING, Role.CSR)
    assert not has_role(csr, Role.BILLING)
    assert not has_role(csr)


def test_anonymous_and_missing_users_hold_no_roles():
    assert user_roles(AnonymousUser()) == frozenset()
    assert user_roles(None) == frozenset()
    assert not has_role(AnonymousUser(), Role.CSR)


def test_superuser_holds_every_role(django_user_model):
    superuser = django_user_model.objects.create_superuser(username="root", password="x", email="r@example.test")
    assert user_roles(superuser) == frozenset(Role)


def test_roles_are_cached_on_the_user_for_the_request(csr, django_assert_num_queries):
    with django_assert_num_queries(1):
        has_role(csr, Role.CSR)
        has_role(csr, Role.BILLING)
        user_roles(csr)


def test_every_role_group_exists_after_migrate():
    assert set(Group.objects.values_list("name", flat=True)) >= {role.value for role in Role}


def test_demo_users_are_one_per_role_and_can_sign_in(client, django_user_model):
    demo_users_create()

    users = {u.username: u for u in django_user_model.objects.filter(username__in=[d[0] for d in DEMO_USERS])}
    assert len(users) == len(DEMO_USERS)
    assert {role for _, _, role, _ in DEMO_USERS} >= STAFF_AND_API_ROLES
    for username, password, role, is_staff in DEMO_USERS:
        user = users[username]
        assert set(user.groups.values_list("name", flat=True)) == {role.value}, username
        assert user.is_staff is is_staff
        assert user.is_superuser is (role == Role.ADMIN)
        assert client.login(username=username, password=password), username


def test_creating_demo_users_twice_changes_nothing(django_user_model):
    demo_users_create()
    demo_users_create()
    assert django_user_model.objects.filter(username__in=[d[0] for d in DEMO_USERS]).count() == len(DEMO_USERS)
    assert Group.objects.get(name=Role.CSR).user_set.count() == 1


STAFF_AND_API_ROLES = {Role.ADMIN, Role.CSR, Role.BILLING, Role.METERING, Role.FIELD_CREW, Role.API_CLIENT}
