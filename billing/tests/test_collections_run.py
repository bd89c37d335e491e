"""The daily collections run (billing.collections): an account is taken through every step of
the residential plan to a disconnect order, a protected one is skipped with the rule recorded,
paying requests a reconnect, and running a day twice adds nothing."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from billing.collections.protections import protections_evaluate
from billing.collections.models import CollectionAction, CollectionRun, CollectionCase, CollectionSkip, LateCharge
from billing.payments.models import Fee
from billing.tasks import collections_run_daily
from billing.payments.tests.helpers import issued_bill
from billing.services import (
    account_protection_add,
    collections_preset_load,
    collections_run_inline,
    collections_run_start,
    contact_attempt_record,
    payment_post,
    promise_to_pay_create,
    protection_check,
)
from cis.tests.factories import AccountFactory, ServiceAgreementFactory
from core.actors import Actor
from core.protections import disconnection_allowed
from service_orders.models import ServiceOrder

pytestmark = pytest.mark.django_db
CLERK = Actor.system("collections test")
BILL_DATE = dt.date(2026, 5, 1)  # due May 22: outside the winter ban
DUE = BILL_DATE + dt.timedelta(days=21)


def delinquent(total: str = "300.00", email: str = "pat@example.org"):
    collections_preset_load()  # the migration's rows; a transactional test's flush removes them
    account = AccountFactory(customer__email=email, customer__kind="person")
    ServiceAgreementFactory(account=account)
    issued_bill(account_id=account.pk, total=total, bill_date=BILL_DATE)
    return account


def run(day: dt.date):
    return collections_run_inline(run_date=day, now=timezone.make_aware(dt.datetime.combine(day, dt.time(10))))


def kinds(account) -> list[str]:
    return list(CollectionAction.objects.filter(account_id=account.pk).order_by("id").values_list("kind", flat=True))


def next_weekday(day: dt.date) -> dt.date:
    while day.weekday() >= 4:
        day += dt.timedelta(days=1)
    return day


def test_every_step_to_a_disconnect_order_then_a_reconnect_when_paid():
    account = delinquent()
    run(DUE + dt.timedelta(days=5))
    assert kinds(account) == ["reminder"]
    assert len(mail.outbox) == 1 and "Payment reminder" in mail.outbox[0].subject
    run(DUE + dt.timedelta(days=16))
    assert kinds(account)[-1] == "late_charge"
    late = LateCharge.objects.get(account_id=account.pk)
    assert late.amount == Decimal("4.50") and late.fee.kind == Fee.Kind.LATE_PAYMENT  # 1.5% of 300.00
    run(DUE + dt.timedelta(days=30))
    assert kinds(account)[-1] == "final_notice"
    notice_day = DUE + dt.timedelta(days=45)
    run(notice_day)
    assert kinds(account)[-1] == "disconnect_notice"
    # Disconnect is due at +60, but no contact attempt yet: held, with the rule recorded.
    day = next_weekday(DUE + dt.timedelta(days=60))
    run(day)
    skip = CollectionSkip.objects.get(case__account_id=account.pk, on_date=day)
    assert (skip.step, skip.rule) == ("disconnect", "ON-CONTACT-48H")
    assert CollectionCase.objects.get(account_id=account.pk, status="open").held_by.startswith("ON-CONTACT-48H")
    contact_attempt_record(account_id=account.pk, method="phone", actor=CLERK,
                           at=timezone.make_aware(dt.datetime.combine(day, dt.time(9))))
    day = next_weekday(day + dt.timedelta(days=3))
    run(day)
    assert kinds(account)[-1] == "disconnect"
    order = ServiceOrder.objects.get(account_id=account.pk, order_type="disconnect")
    assert order.due_date == day
    # The month's late charge came again in July (overdue bills only, never on the fee).
    assert LateCharge.objects.filter(account_id=account.pk).count() == 2
    assert all(c.base == Decimal("300.00") for c in LateCharge.objects.filter(account_id=account.pk))
    # Paid: the next run closes the case and requests a reconnect.
    payment_post(account_id=account.pk, amount="400.00", received_date=day, channel="cashier", tender_type="cash",
                 actor=CLERK)
    run(day + dt.timedelta(days=1))
    assert kinds(account)[-1] == "reconnect"
    assert ServiceOrder.objects.filter(account_id=account.pk, order_type="connect").count() == 1
    assert CollectionCase.objects.get(account_id=account.pk).status == "paid"


def test_a_day_run_twice_adds_nothing():
    account = delinquent()
    day = DUE + dt.timedelta(days=5)
    first = run(day)
    assert first.actions_taken == 1
    before = (CollectionAction.objects.count(), len(mail.outbox))
    second = run(day)
    assert second.pk == first.pk
    again = collections_run_start(run_date=day, now=timezone.now(), enqueue=False)
    assert again.pk == first.pk
    assert (CollectionAction.objects.count(), len(mail.outbox)) == before
    assert kinds(account) == ["reminder"]


def test_a_medical_certificate_holds_notices_with_its_end_date():
    account = delinquent()
    start = DUE + dt.timedelta(days=1)
    protection = account_protection_add(account_id=account.pk, kind="medical", start_date=start, reason="oxygen concentrator",
                                        actor=CLERK)
    assert protection.end_date == start + dt.timedelta(days=29)
    day = DUE + dt.timedelta(days=5)
    run(day)
    assert kinds(account) == []
    skip = CollectionSkip.objects.get(case__account_id=account.pk)
    assert skip.rule == "ON-MEDICAL" and skip.until == protection.end_date + dt.timedelta(days=1)


def test_a_promise_to_pay_holds_until_its_date_then_a_broken_one_resumes_the_plan():
    account = delinquent()
    made = DUE + dt.timedelta(days=2)
    promise = promise_to_pay_create(account_id=account.pk, promised_date=made + dt.timedelta(days=7), amount="300.00",
                                    on=made, actor=CLERK)
    run(DUE + dt.timedelta(days=5))
    assert kinds(account) == [] and CollectionSkip.objects.get().rule == "ON-PROMISE"
    run(made + dt.timedelta(days=8))
    promise.refresh_from_db()
    assert promise.status == "broken"
    assert kinds(account) == ["reminder"]


def test_the_winter_ban_and_weekend_hold_a_residential_disconnection():
    account = delinquent()
    saturday, winter = dt.date(2026, 6, 6), dt.date(2026, 12, 2)
    holds = protections_evaluate(account_id=account.pk, on_date=saturday, now=timezone.now(), action="disconnect")
    assert {"ON-NO-DISCONNECT-DAYS", "ON-NOTICE-PERIOD", "ON-CONTACT-48H"} == {h.rule for h in holds}
    assert protection_check(account_id=account.pk, on_date=saturday, now=timezone.now()).hold
    decision = disconnection_allowed(account_id=account.pk, on_date=winter, now=timezone.now())
    assert decision.hold and decision.rule == "ON-WINTER-BAN" and decision.until == dt.date(2027, 5, 1)


def test_the_daily_beat_task_starts_todays_run_once(django_capture_on_commit_callbacks, settings):
    assert settings.CELERY_BEAT_SCHEDULE["billing-collections-run-daily"]["task"] == "billing.tasks.collections_run_daily"
    delinquent()
    with django_capture_on_commit_callbacks(execute=True):
        first = collections_run_daily()
    assert collections_run_daily()["run"] == first["run"]
    assert CollectionRun.objects.count() == 1
