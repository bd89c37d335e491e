"""core.actors: who does a write and why. An anonymous user is the system; actor.audit() puts
the user, the action and the reason into pghistory's context, so the audit trigger of a
tracked cis row records them."""
from __future__ import annotations

import pghistory.models
import pytest
from django.contrib.auth.models import AnonymousUser

from cis import services as cis_services
from cis.tests.factories import CustomerFactory
from core.actors import Actor

pytestmark = pytest.mark.django_db


def last_event(obj):
    return pghistory.models.Events.objects.tracks(obj).order_by("-pgh_created_at", "-pgh_id").first()


def test_an_anonymous_user_or_none_is_the_system():
    for user in (AnonymousUser(), None):
        actor = Actor.of(user, "nightly")
        assert (actor.user_id, actor.username, actor.reason, actor.is_system) == (None, "system", "nightly", True)
    assert Actor.system("bill-run-worker") == Actor(None, "bill-run-worker", "")
    assert str(Actor.system("beat")) == "beat"


def test_a_staff_user_is_an_actor_with_their_id_and_name(csr):
    actor = Actor.of(csr, "customer called")
    assert (actor.user_id, actor.username, actor.reason, actor.is_system) == (csr.pk, "csr1", "customer called", False)
    assert Actor.of(actor) is actor  # an actor passes through
    assert Actor.of(actor, "other reason") == Actor(csr.pk, "csr1", "other reason")
    assert actor.with_reason("x") == Actor(csr.pk, "csr1", "x") and actor.reason == "customer called"


def test_audit_puts_user_actor_action_and_reason_on_the_event_row(csr):
    customer = CustomerFactory(phone="416-555-0100")
    with Actor.of(csr, "customer called to fix the phone").audit("customer_phone_fix"):
        customer.phone = "416-555-0111"
        customer.save()
    event = last_event(customer)
    assert event.pgh_label == "update" and event.pgh_diff["phone"] == ["416-555-0100", "416-555-0111"]
    assert event.pgh_context == {"user": csr.pk, "actor": "csr1", "action": "customer_phone_fix",
                                 "reason": "customer called to fix the phone"}


def test_audit_without_a_reason_records_the_action_as_the_reason():
    customer = CustomerFactory()
    with Actor.system("moves-worker").audit("moves_apply_due"):
        customer.last_name = "Changed"
        customer.save()
    assert last_event(customer).pgh_context == {"user": None, "actor": "moves-worker", "action": "moves_apply_due",
                                                "reason": "moves_apply_due"}


def test_a_cis_service_run_inside_audit_keeps_who_and_the_action(csr):
    customer = cis_services.customer_create(kind="person", first_name="Ada", last_name="Byron", user=csr)
    with Actor.of(csr, "name corrected on the phone").audit("customer_rename"):
        cis_services.customer_update(customer=customer, last_name="Lovelace", user=csr)
    event = last_event(customer)
    assert event.pgh_diff["last_name"] == ["Byron", "Lovelace"]
    assert {k: event.pgh_context[k] for k in ("user", "actor", "action")} == {
        "user": csr.pk, "actor": "csr1", "action": "customer_rename"}


def test_a_cis_service_called_without_the_user_inside_audit_keeps_the_actors_user_and_reason(csr):
    customer = cis_services.customer_create(kind="person", first_name="Ada", last_name="Byron", user=csr)
    with Actor.of(csr, "name corrected on the phone").audit("customer_rename"):
        cis_services.customer_update(customer=customer, last_name="Lovelace")
    context = last_event(customer).pgh_context
    assert (context["user"], context["reason"]) == (csr.pk, "name corrected on the phone")
