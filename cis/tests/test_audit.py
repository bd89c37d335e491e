"""The audit trail: every create, change and delete of the core records is kept by PostgreSQL
triggers with who (pghistory context 'user'), when, why and each field before/after, and the
account's trail (cis.selectors.account_audit_trail) shows it newest first."""
import datetime as dt

import pghistory
import pghistory.models
import pytest
from django.urls import reverse

from cis import services
from cis.models import Account, Move
from cis.selectors import account_audit_trail
from cis.tests.factories import (
    AccountFactory,
    CustomerFactory,
    PremiseFactory,
    ServiceAgreementFactory,
    ServicePointFactory,
)
from cis.tests.test_admin import change_form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser(username="ada.admin", password="x", email="ada@example.test")


@pytest.fixture
def admin_client_for(client, admin_user):
    client.force_login(admin_user)
    return client


def admin_change(client, model_name: str, obj, **changes):
    url = reverse(f"admin:cis_{model_name}_change", args=[obj.pk])
    response = client.post(url, change_form_data(client.get(url), **changes))
    assert response.status_code == 302, response.context["adminform"].form.errors
    return url


def entries(trail, model: str, label: str):
    return [e for e in trail if e.model == model and e.label == label]


def one(items):
    assert len(items) == 1, items
    return items[0]


def test_customer_created_by_a_service_is_recorded_with_the_user_and_its_values(csr):
    customer = services.customer_create(
        user=csr, first_name="Ana", last_name="Silva", email="Ana.Silva@Example.test", phone="416 555 0101",
        mailing_address_line1="3 Elm St", mailing_city="Toronto", mailing_region="ON", mailing_postal_code="M4C 1A1",
    )
    account = services.account_open(customer=customer, opened_date=dt.date(2026, 1, 5), user=csr)

    trail = account_audit_trail(account=account)

    created = one(entries(trail, "Customer", "insert"))
    assert created.username == "csr1" and created.user_id == csr.pk
    assert created.reason == "customer_create"
    assert created.changes["last_name"] == [None, "Silva"]
    assert created.changes["email"] == [None, "ana.silva@example.test"]
    # derived search keys are noise for a reader of the trail
    assert "search_name" not in created.changes and "phone_search" not in created.changes
    opened = one(entries(trail, "Account", "insert"))
    assert opened.changes["opened_date"] == [None, "2026-01-05"]
    assert opened.changes["billing_address_line1"] == [None, "3 Elm St"]
    assert opened.reason == "account_open"


def test_email_changed_in_the_admin_shows_old_and_new_value_and_the_admin(admin_client_for, admin_user):
    account = AccountFactory(customer=CustomerFactory(first_name="Bo", last_name="Lind", email="bo@old.test"))

    url = admin_change(admin_client_for, "customer", account.customer, email="Bo@New.test")

    newest = one(entries(account_audit_trail(account=account), "Customer", "update"))
    assert newest.changes == {"email": ["bo@old.test", "bo@new.test"]}
    assert newest.username == "ada.admin" and newest.user_id == admin_user.pk
    assert newest.url == url
    assert newest.reason == "admin"


def test_account_premise_and_service_point_changes_in_the_admin_are_all_in_the_account_trail(admin_client_for):
    agreement = ServiceAgreementFactory()
    account = agreement.account
    sp = agreement.service_point
    premise = sp.premise
    old_address, old_route = premise.address_line1, sp.route

    admin_change(admin_client_for, "account", account, bill_cycle_code="C07")
    admin_change(admin_client_for, "premise", premise, address_line1="99 Birch Road")
    admin_change(admin_client_for, "servicepoint", sp, route="R42")

    updates = [(e.model, e.changes, e.username) for e in account_audit_trail(account=account) if e.label == "update"]
    # Sorted: a test runs in one transaction, and pghistory stamps events with the
    # transaction's NOW(), so the three have the same time.
    assert sorted(updates) == [
        ("Account", {"bill_cycle_code": ["C01", "C07"]}, "ada.admin"),
        ("Premise", {"address_line1": [old_address, "99 Birch Road"]}, "ada.admin"),
        ("Service point", {"route": [old_route, "R42"]}, "ada.admin"),
    ]


def test_move_out_shows_the_agreement_end_date_set_and_the_account_closed(csr, today):
    agreement = ServiceAgreementFactory(start_date=dt.date(2025, 1, 1))

    services.move_out_request(
        account=agreement.account, service_point=agreement.service_point, move_out_date=today, today=today, user=csr
    )

    trail = account_audit_trail(account=agreement.account)
    stopped = one(entries(trail, "Agreement", "update"))
    assert stopped.changes == {"end_date": [None, "2026-03-15"]}
    assert (stopped.username, stopped.reason) == ("csr1", "move_out")
    closed = one(entries(trail, "Account", "update"))
    assert closed.changes == {"status": ["active", "closed"], "closed_date": [None, "2026-03-15"]}
    assert closed.username == "csr1"


def test_move_applied_by_the_due_move_run_is_recorded_as_the_system(today):
    account = AccountFactory()
    sp = ServicePointFactory()
    result = services.move_in_request(
        account=account, service_point=sp, move_in_date=today + dt.timedelta(days=1), rate_code="RES", today=today
    )
    assert result.move.status == Move.Status.PENDING

    services.moves_apply_due(today=today + dt.timedelta(days=1))

    started = one(entries(account_audit_trail(account=account), "Agreement", "insert"))
    assert (started.username, started.user_id, started.reason) == ("system", None, "moves_apply_due")
    assert started.changes["start_date"] == [None, "2026-03-16"]
    assert started.changes["rate_code"] == [None, "RES"]


def test_agreement_created_by_a_service_is_in_the_trail_with_its_dates(csr):
    account = AccountFactory()
    services.agreement_create(
        account=account, service_point=ServicePointFactory(), rate_code="GS-50", start_date=dt.date(2025, 2, 1),
        end_date=dt.date(2025, 8, 1), user=csr,
    )
    created = one(entries(account_audit_trail(account=account), "Agreement", "insert"))
    assert created.changes["start_date"] == [None, "2025-02-01"]
    assert created.changes["end_date"] == [None, "2025-08-01"]
    assert created.changes["rate_code"] == [None, "GS-50"]
    assert (created.username, created.reason) == ("csr1", "agreement_create")


def test_trail_is_newest_first_and_respects_the_limit(csr):
    account = AccountFactory(customer=CustomerFactory(email="first@example.test"))
    for n in range(3):
        services.customer_update(customer=account.customer, email=f"e{n}@example.test", user=csr)

    trail = account_audit_trail(account=account)

    # Only within one model: a test is one transaction and pghistory stamps every event with
    # the transaction's NOW(), so across tables the order of same-time events is arbitrary.
    assert [e.changes for e in entries(trail, "Customer", "update")] == [
        {"email": ["e1@example.test", "e2@example.test"]},
        {"email": ["e0@example.test", "e1@example.test"]},
        {"email": ["first@example.test", "e0@example.test"]},
    ]
    assert [e.at for e in trail] == sorted((e.at for e in trail), reverse=True)
    assert len(account_audit_trail(account=account, limit=2)) == 2


def test_an_update_that_only_touches_derived_columns_is_not_shown(csr):
    account = AccountFactory()
    with pghistory.context(user=csr.pk):
        Account.objects.filter(pk=account.pk).update(updated_at=account.updated_at + dt.timedelta(seconds=1))
    assert entries(account_audit_trail(account=account), "Account", "update") == []


def test_a_deleted_agreement_stays_in_the_account_trail(admin_client_for):
    agreement = ServiceAgreementFactory(rate_code="RES-TOU")
    account = agreement.account
    response = admin_client_for.post(
        reverse("admin:cis_serviceagreement_delete", args=[agreement.pk]), {"post": "yes"}
    )
    assert response.status_code == 302

    deleted = one(entries(account_audit_trail(account=account), "Agreement", "delete"))
    assert deleted.changes["rate_code"] == ["RES-TOU", None]
    assert deleted.username == "ada.admin"


FACTORIES = {
    "customer": (CustomerFactory, "email", "changed@example.test"),
    "account": (AccountFactory, "bill_cycle_code", "C09"),
    "premise": (PremiseFactory, "address_line1", "1 Changed Street"),
    "servicepoint": (ServicePointFactory, "route", "R99"),
    "serviceagreement": (ServiceAgreementFactory, "rate_code", "CHANGED"),
}


@pytest.mark.parametrize("model_name", FACTORIES)
def test_create_change_and_delete_in_the_admin_are_each_recorded_with_who_and_before_after(
    admin_client_for, admin_user, csr, model_name
):
    factory, field, new_value = FACTORIES[model_name]
    with pghistory.context(user=csr.pk, reason="import"):
        obj = factory()
    old_value = getattr(obj, field)
    pk = obj.pk

    admin_change(admin_client_for, model_name, obj, **{field: new_value})
    response = admin_client_for.post(reverse(f"admin:cis_{model_name}_delete", args=[pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not type(obj).objects.filter(pk=pk).exists()

    events = list(pghistory.models.Events.objects.tracks(type(obj)(pk=pk)).order_by("pgh_created_at", "pgh_id"))
    assert [e.pgh_label for e in events] == ["insert", "update", "delete"]
    inserted, updated, deleted = events
    assert inserted.pgh_context["user"] == csr.pk and inserted.pgh_context["reason"] == "import"
    assert updated.pgh_context["user"] == admin_user.pk
    assert updated.pgh_diff[field] == [old_value, new_value]
    assert deleted.pgh_context["user"] == admin_user.pk
    assert deleted.pgh_data[field] == new_value
    assert inserted.pgh_created_at <= updated.pgh_created_at <= deleted.pgh_created_at


def test_change_page_shows_the_recent_audit_history(admin_client_for):
    account = AccountFactory(customer=CustomerFactory(email="old@example.test"))
    admin_change(admin_client_for, "customer", account.customer, email="new@example.test")

    page = admin_client_for.get(reverse("admin:cis_customer_change", args=[account.customer.pk])).content.decode()

    assert "email: old@example.test → new@example.test" in page
    assert "ada.admin" in page
    assert f"obj=cis.Customer%3A{account.customer.pk}" in page  # link to all of its events
