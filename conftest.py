"""Shared pytest fixtures: users in each role, API clients, and a frozen 'today'."""
from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from knox.models import get_token_model
from rest_framework.test import APIClient

from core.roles import Role

PASSWORD = "utilis-test-pass-1"


@pytest.fixture
def make_user(db, django_user_model):
    def make(username: str, *roles: str, **extra):
        user = django_user_model.objects.create_user(username=username, password=PASSWORD, **extra)
        for role in roles:
            user.groups.add(Group.objects.get_or_create(name=role)[0])
        return user

    return make


@pytest.fixture
def csr(make_user):
    return make_user("csr1", Role.CSR, first_name="Casey", last_name="Rep")


@pytest.fixture
def billing_user(make_user):
    return make_user("billing1", Role.BILLING)


@pytest.fixture
def metering_user(make_user):
    return make_user("meter1", Role.METERING)


@pytest.fixture
def field_user(make_user):
    return make_user("field1", Role.FIELD_CREW)


@pytest.fixture
def admin_user_role(make_user):
    return make_user("admin1", Role.ADMIN, is_staff=True)


@pytest.fixture
def api_for():
    """An APIClient authenticated with a knox API token (core.ApiToken) for the given user."""

    def make(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            _, token = get_token_model().objects.create(user=user, name="test client")
            client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        return client

    return make


@pytest.fixture
def today() -> dt.date:
    return dt.date(2026, 3, 15)


REAL_WORKER_GROUP = "real-celery-worker"


def pytest_collection_modifyitems(config, items):
    """Tests that start a real Celery worker subprocess are marked `celery_worker`. The whole
    suite (bin/utilis test) runs them after the rest, one after another in one process; a
    chosen subset run with `--dist loadgroup` keeps them on one xdist process."""
    for item in items:
        uses_worker = (
            "celery_worker" in getattr(item, "fixturenames", ())
            or item.get_closest_marker("celery_worker") is not None
            or "worker" in item.path.name
        )
        if uses_worker:
            item.add_marker(pytest.mark.celery_worker)
            item.add_marker(pytest.mark.xdist_group(REAL_WORKER_GROUP))
