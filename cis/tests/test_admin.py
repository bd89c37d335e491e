import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from cis import services
from cis.models import Account, Customer, Move, MoveRequest, ServiceAgreement
from cis.tests.factories import (
    AccountFactory,
    CustomerFactory,
    PremiseFactory,
    ServiceAgreementFactory,
    ServicePointFactory,
)
from service_orders.models import ServiceOrder

pytestmark = pytest.mark.django_db


def change_form_data(response, **changes) -> dict:
    """The POST body the admin change form would send back unchanged, with `changes` applied:
    every editable field of the main form and of each inline formset, as the browser sends it."""

    def encode(value):
        if value is None:
            return ""
        if isinstance(value, (dt.date, dt.datetime)):
            return value.isoformat()
        if isinstance(value, (list, tuple)):
            return [str(v) for v in value]
        return str(value)

    def add_form(form, data):
        for name in form.fields:
            value = form[name].value()
            if isinstance(value, bool):
                if value:
                    data[form.add_prefix(name)] = "on"
                continue
            data[form.add_prefix(name)] = encode(value)

    data: dict = {}
    add_form(response.context["adminform"].form, data)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = encode(management[name].value())
        for form in formset.forms:
            add_form(form, data)
    data.update(changes)
    return data


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser(username="root", password="x", email="root@example.test")


@pytest.fixture
def admin_client_for(client, superuser):
    client.force_login(superuser)
    return client


@pytest.mark.parametrize(
    "model_name",
    ["customer", "account", "premise", "servicepoint", "serviceagreement", "move", "contact", "note", "complaint"],
)
def test_every_cis_changelist_and_change_page_loads_for_an_administrator(admin_client_for, superuser, model_name, today):
    agreement = ServiceAgreementFactory()
    services.move_out_request(
        account=agreement.account, service_point=agreement.service_point,
        move_out_date=today + dt.timedelta(days=5), today=today,
    )
    account = agreement.account
    services.contact_log(account=account, subject="Called about bill", user=superuser)
    services.note_add(account=account, text="Prefers mornings", user=superuser)
    services.complaint_open(account=account, category="billing", description="Estimated bill too high", user=superuser)

    listing = admin_client_for.get(reverse(f"admin:cis_{model_name}_changelist"), {"q": "zzz-nothing"})
    assert listing.status_code == 200
    obj = listing.context["cl"].model.objects.first()
    page = admin_client_for.get(reverse(f"admin:cis_{model_name}_change", args=[obj.pk]))
    assert page.status_code == 200


def test_service_order_admin_lists_and_finds_orders_by_source(admin_client_for, today):
    result = services.move_in_request(
        account=AccountFactory(), service_point=ServicePointFactory(),
        move_in_date=today + dt.timedelta(days=2), rate_code="RES", today=today,
    )
    order = ServiceOrder.objects.get()
    listing = admin_client_for.get(reverse("admin:service_orders_serviceorder_changelist"), {"q": f"cis.move:{result.move.pk}"})
    assert list(listing.context["cl"].result_list) == [order]
    page = admin_client_for.get(reverse("admin:service_orders_serviceorder_change", args=[order.pk]))
    assert page.status_code == 200
    assert "Audit history" in page.content.decode()


def test_account_changelist_query_count_does_not_grow_with_rows(admin_client_for, django_assert_max_num_queries):
    for _ in range(30):
        ServiceAgreementFactory()
    # session, user, count-less paging, the page of accounts with customers joined, date hierarchy
    with django_assert_max_num_queries(10):
        response = admin_client_for.get(reverse("admin:cis_account_changelist"))
    assert len(response.context["cl"].result_list) == 30


def test_customer_admin_search_ignores_accents_and_phone_format(admin_client_for):
    muller = CustomerFactory(first_name="Jürgen", last_name="Müller", phone="416-555-0199")
    CustomerFactory(first_name="Ann", last_name="Miller", phone="905-555-0100")
    url = reverse("admin:cis_customer_changelist")
    assert list(admin_client_for.get(url, {"q": "muller"}).context["cl"].result_list) == [muller]
    assert list(admin_client_for.get(url, {"q": "(416) 555-0199"}).context["cl"].result_list) == [muller]


def test_account_autocomplete_for_the_customer_field_uses_the_name_search(admin_client_for):
    jose = CustomerFactory(first_name="José", last_name="Álvarez")
    CustomerFactory(first_name="Joan", last_name="Smith")
    response = admin_client_for.get(
        reverse("admin:autocomplete"),
        {"app_label": "cis", "model_name": "account", "field_name": "customer", "term": "alvarez"},
    )
    assert [r["id"] for r in response.json()["results"]] == [str(jose.pk)]


def test_customer_added_in_admin_gets_the_next_customer_number(admin_client_for):
    page = admin_client_for.get(reverse("admin:cis_customer_add"))
    data = change_form_data(page, first_name="Ada", last_name="Byron", email="ADA@Example.Test")
    response = admin_client_for.post(reverse("admin:cis_customer_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    customer = Customer.objects.get(last_name="Byron")
    assert customer.customer_number.startswith("C") and len(customer.customer_number) == 9
    assert customer.email == "ada@example.test"


def test_overlapping_agreement_in_admin_is_a_form_error_not_a_crash(admin_client_for):
    existing = ServiceAgreementFactory(start_date=dt.date(2025, 1, 1))
    page = admin_client_for.get(reverse("admin:cis_serviceagreement_add"))
    data = change_form_data(
        page, account=str(AccountFactory().pk), service_point=str(existing.service_point_id),
        rate_code="RES", start_date="2025-06-01",
    )
    response = admin_client_for.post(reverse("admin:cis_serviceagreement_add"), data)
    assert response.status_code == 200
    assert "already has an agreement in that period" in response.content.decode()
    assert ServiceAgreement.objects.count() == 1


def test_apply_due_moves_action_runs_without_a_selection(admin_client_for, superuser):
    sp = ServicePointFactory()
    account = AccountFactory()
    yesterday = dt.date.today() - dt.timedelta(days=1)
    due = Move.objects.create(
        kind=Move.Kind.MOVE_IN, account=account, service_point=sp, effective_date=yesterday, rate_code="RES"
    )
    future = Move.objects.create(
        kind=Move.Kind.MOVE_IN, account=AccountFactory(), service_point=ServicePointFactory(),
        effective_date=dt.date.today() + dt.timedelta(days=30), rate_code="RES",
    )
    response = admin_client_for.post(
        reverse("admin:cis_move_changelist"), {"action": "apply_due_moves_now", "index": "0"}, follow=True
    )
    assert "Applied 1 due move(s)" in response.content.decode()
    due.refresh_from_db()
    future.refresh_from_db()
    assert due.status == Move.Status.COMPLETED and future.status == Move.Status.PENDING
    agreement = ServiceAgreement.objects.get(service_point=sp)
    assert agreement.start_date == yesterday and agreement.account == account


def test_cancel_action_cancels_pending_moves_and_refuses_completed_ones(admin_client_for, today):
    pending = services.move_in_request(
        account=AccountFactory(), service_point=ServicePointFactory(),
        move_in_date=today + dt.timedelta(days=3), rate_code="RES", today=today,
    ).move
    done = services.move_in_request(
        account=AccountFactory(), service_point=ServicePointFactory(), move_in_date=today, rate_code="RES", today=today,
    ).move
    response = admin_client_for.post(
        reverse("admin:cis_move_changelist"),
        {"action": "cancel_selected_pending_moves", "index": "0", "_selected_action": [pending.pk, done.pk]},
        follow=True,
    )
    body = response.content.decode()
    assert "Cancelled 1 pending move(s)." in body
    assert "Only a pending move can be cancelled." in body
    pending.refresh_from_db()
    done.refresh_from_db()
    assert pending.status == Move.Status.CANCELLED and done.status == Move.Status.COMPLETED
    assert ServiceOrder.objects.get(source=f"cis.move:{pending.pk}").status == ServiceOrder.Status.CANCELLED


def test_moves_cannot_be_added_or_deleted_in_admin(admin_client_for):
    assert admin_client_for.get(reverse("admin:cis_move_add")).status_code == 403


def test_premise_admin_search_finds_address_without_accents(admin_client_for):
    premise = PremiseFactory(address_line1="12 Rue Sainte-Thérèse", city="Montréal")
    PremiseFactory(address_line1="14 Rue Sainte-Catherine", city="Montréal")
    listing = admin_client_for.get(reverse("admin:cis_premise_changelist"), {"q": "12 rue sainte-therese"})
    assert list(listing.context["cl"].result_list) == [premise]


def test_account_admin_finds_account_by_number_prefix_and_customer_name(admin_client_for):
    account = AccountFactory(account_number="7000000123", customer=CustomerFactory(last_name="Nguyễn"))
    AccountFactory(account_number="7100000000")
    url = reverse("admin:cis_account_changelist")
    assert list(admin_client_for.get(url, {"q": "70000"}).context["cl"].result_list) == [account]
    assert list(admin_client_for.get(url, {"q": "nguyen"}).context["cl"].result_list) == [account]
    assert Account.objects.count() == 2


def test_move_requests_are_read_only_in_the_admin_with_the_applicants_id_masked_for_roles_without_it(
        admin_client, client, metering_user):
    premise = PremiseFactory()
    ServicePointFactory(premise=premise)
    today = timezone.localdate()
    req = services.move_request_apply(
        premise=premise, move_in_date=today + dt.timedelta(days=5), today=today, now=timezone.now(),
        applicant_kind="person", last_name="Lavoie", email="m@example.test", phone="416 555 0142",
        id_type="passport", id_number="AB123456")
    listing = admin_client.get(reverse("admin:cis_moverequest_changelist"), {"q": "m@example"})
    assert listing.status_code == 200 and b"Lavoie" in listing.content
    page = admin_client.get(reverse("admin:cis_moverequest_change", args=[req.pk]))
    assert page.status_code == 200 and b"AB123456" in page.content and b'name="applicant_email"' not in page.content
    assert admin_client.post(reverse("admin:cis_moverequest_change", args=[req.pk]), {}).status_code == 403
    assert admin_client.get(reverse("admin:cis_moverequest_add")).status_code == 403
    metering_user.is_staff = True
    metering_user.save(update_fields=["is_staff"])
    metering_user.user_permissions.add(Permission.objects.get(codename="view_moverequest"))
    client.force_login(metering_user)
    masked = client.get(reverse("admin:cis_moverequest_change", args=[req.pk]))
    assert masked.status_code == 200 and b"AB123456" not in masked.content and b"3456" in masked.content
    assert MoveRequest.objects.get().applicant_id_number == "AB123456"
