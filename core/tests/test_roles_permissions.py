"""core.roles and core.permissions: roles are groups, administrators pass every check, and a
view that declares no roles is for administrators only (fails closed)."""
from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.test import RequestFactory
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from core.permissions import RolePermission, role_required
from core.roles import ROLE_LABELS, STAFF_ROLES, Role, has_role, user_roles

pytestmark = pytest.mark.django_db


# --- roles ------------------------------------------------------------------------------

def test_roles_are_the_users_groups_and_superusers_hold_all(make_user, django_user_model):
    csr = make_user("r-csr", Role.CSR, Role.BILLING)
    assert user_roles(csr) == {"csr", "billing"}
    assert has_role(csr, Role.BILLING) and not has_role(csr, Role.METERING, Role.ADMIN)
    root = django_user_model.objects.create_superuser("r-root", password="x-pass-123456")
    assert user_roles(root) == frozenset(Role)
    assert has_role(root, Role.FIELD_CREW)


def test_nobody_and_anonymous_hold_no_role():
    assert user_roles(None) == frozenset() and user_roles(AnonymousUser()) == frozenset()
    assert not has_role(AnonymousUser(), *Role)


def test_roles_are_cached_on_the_user_object(make_user, django_assert_num_queries):
    user = make_user("r-cached", Role.CSR)
    with django_assert_num_queries(1):
        assert user_roles(user) == {"csr"}
        assert user_roles(user) == {"csr"}


def test_every_role_has_a_label_and_customers_are_not_staff():
    assert set(ROLE_LABELS) == set(Role)
    assert Role.CUSTOMER not in STAFF_ROLES and Role.API_CLIENT not in STAFF_ROLES
    assert Role.ADMIN in STAFF_ROLES


# --- role_required (hub views) ------------------------------------------------------------

@role_required(Role.BILLING)
def billing_page(request):
    return HttpResponse("billing")


@role_required()
def nobody_declared(request):
    return HttpResponse("secret")


def _get(user, path="/billing/page/?x=1"):
    request = RequestFactory().get(path)
    request.user = user
    return request


def test_role_required_sends_anonymous_users_to_log_in():
    response = billing_page(_get(AnonymousUser()))
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/billing/page/%3Fx%3D1"


def test_role_required_refuses_other_roles_and_lets_the_role_and_administrators_in(make_user):
    with pytest.raises(PermissionDenied):
        billing_page(_get(make_user("rr-csr", Role.CSR)))
    with pytest.raises(PermissionDenied):
        billing_page(_get(make_user("rr-none")))
    assert billing_page(_get(make_user("rr-billing", Role.BILLING))).content == b"billing"
    assert billing_page(_get(make_user("rr-admin", Role.ADMIN))).content == b"billing"
    assert billing_page.__name__ == "billing_page"  # wraps keeps the view's name


def test_role_required_without_roles_fails_closed(make_user):
    for user in (make_user("nd-csr", Role.CSR), make_user("nd-staff", is_staff=True)):
        with pytest.raises(PermissionDenied):
            nobody_declared(_get(user))
    assert nobody_declared(_get(make_user("nd-admin", Role.ADMIN))).status_code == 200


# --- RolePermission (DRF) -----------------------------------------------------------------

class ReadCsrWriteBilling(APIView):
    read_roles = (Role.CSR,)
    write_roles = (Role.BILLING,)

    def get(self, request):
        return Response({"ok": True})

    def post(self, request):
        return Response({"ok": True}, status=201)


class WriteOnlyDeclared(ReadCsrWriteBilling):
    read_roles = ()


class Undeclared(APIView):
    def get(self, request):
        return Response({"ok": True})


def call(view, method, user=None):
    request = getattr(APIRequestFactory(), method)("/api/x/", {}, format="json")
    if user is not None:
        force_authenticate(request, user=user)
    return view.as_view()(request).status_code


def test_role_permission_is_the_default_and_anonymous_gets_401():
    assert call(ReadCsrWriteBilling, "get") == 401
    assert call(Undeclared, "get") == 401


def test_role_permission_reads_and_writes_by_declared_roles(make_user):
    csr, billing, admin = make_user("rp-csr", Role.CSR), make_user("rp-bill", Role.BILLING), make_user("rp-adm", Role.ADMIN)
    assert (call(ReadCsrWriteBilling, "get", csr), call(ReadCsrWriteBilling, "post", csr)) == (200, 403)
    assert (call(ReadCsrWriteBilling, "get", billing), call(ReadCsrWriteBilling, "post", billing)) == (403, 201)
    assert (call(ReadCsrWriteBilling, "get", admin), call(ReadCsrWriteBilling, "post", admin)) == (200, 201)
    # With no read roles, the write roles may read.
    assert (call(WriteOnlyDeclared, "get", billing), call(WriteOnlyDeclared, "get", csr)) == (200, 403)


def test_role_permission_on_a_view_that_declares_nothing_is_administrators_only(make_user):
    for user in (make_user("u-csr", Role.CSR), make_user("u-staff", is_staff=True), make_user("u-api", Role.API_CLIENT)):
        assert call(Undeclared, "get", user) == 403
    assert call(Undeclared, "get", make_user("u-admin", Role.ADMIN)) == 200


def test_role_permission_refuses_without_a_user():
    request = APIRequestFactory().get("/api/x/")
    request.user = None
    assert RolePermission().has_permission(request, ReadCsrWriteBilling()) is False
