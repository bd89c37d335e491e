"""Alerts: what each kind sees, each mailed once per event through a real SMTP server, the
database refusing a second row for one event, and the page where a customer chooses them."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse

from billing.models import LedgerEntry
from config.celery import app
from mdm.models import Channel
from portal.alerts import alert_preferences_set, alerts_send_for_link
from portal.models import AccountLink, AlertDelivery, AlertPreference
from portal.tasks import alerts_scan
from portal.tests.conftest import NOW, TZ, _free_port, _hourly, smtp_server

pytestmark = pytest.mark.django_db

MAR5 = dt.datetime(2026, 3, 5, 17, tzinfo=dt.timezone.utc)


def _link(user) -> AccountLink:
    return AccountLink.objects.get(user=user)


def _send(link, now=MAR5):
    return alerts_send_for_link(link_id=link.pk, now=now, today=now.astimezone(TZ).date(), tz=TZ)


def _payment(account, amount: str, day: dt.date) -> LedgerEntry:
    return LedgerEntry.objects.create(account=account, kind=LedgerEntry.Kind.PAYMENT, amount=-Decimal(amount),
                                      effective_date=day, description="Payment, thank you")


def test_bill_due_and_payment_alerts_arrive_once_each(smtp, alice, portal_user):
    link = _link(portal_user(alice))
    alert_preferences_set(link=link, chosen={"bill_ready": None, "payment_due": 30, "payment_received": None}, now=NOW)
    payment = _payment(alice.account, "20.00", dt.date(2026, 3, 4))

    assert _send(link) == 3
    subjects = sorted(m["Subject"] for m in smtp.messages)
    assert subjects == sorted([
        f"{settings.UTILIS_UTILITY_NAME}: payment due on 2026-03-22",
        f"{settings.UTILIS_UTILITY_NAME}: we received your payment",
        f"{settings.UTILIS_UTILITY_NAME}: your bill for account {alice.account.account_number} is ready",
    ])
    bodies = " ".join(m.get_body(preferencelist=("plain",)).get_content() for m in smtp.messages)
    assert "$51.20 due on 2026-03-22" in bodies and "We received $20.00 on 2026-03-04" in bodies
    assert all(m["To"] == "alice@example.test" for m in smtp.messages)

    # The job runs again (beat, a retry, a second worker): nothing new, nothing twice.
    assert _send(link) == 0
    assert _send(link, now=MAR5 + dt.timedelta(hours=1)) == 0
    assert len(smtp.messages) == 3
    keys = set(AlertDelivery.objects.filter(link=link).values_list("event_key", flat=True))
    assert keys == {f"bill:{alice.bills[1].pk}", f"due:{alice.bills[1].pk}", f"payment:{payment.pk}"}
    assert AlertDelivery.objects.filter(link=link, sent_at__isnull=True).count() == 0


def test_the_database_refuses_a_second_alert_for_one_event(alice, portal_user):
    link = _link(portal_user(alice))
    row = dict(link=link, kind="bill_ready", event_key="bill:1", email="a@example.test", subject="s", created_at=NOW)
    AlertDelivery.objects.create(**row)
    with pytest.raises(IntegrityError), transaction.atomic():
        AlertDelivery.objects.create(**row)


def test_alerts_not_chosen_or_not_due_are_not_sent(smtp, alice, portal_user):
    link = _link(portal_user(alice))
    alert_preferences_set(link=link, chosen={"payment_due": 5}, now=NOW)  # due 03-22 is 17 days away
    assert _send(link) == 0
    _payment(alice.account, "500.00", dt.date(2026, 3, 4))  # not chosen; and the balance is now a credit
    alert_preferences_set(link=link, chosen={"payment_due": 30}, now=NOW)
    assert _send(link) == 0
    assert smtp.messages == []


def test_a_refused_hand_off_is_kept_and_sent_later_once(alice, portal_user, settings):
    link = _link(portal_user(alice))
    alert_preferences_set(link=link, chosen={"bill_ready": None}, now=NOW)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", _free_port(), 2  # nobody listens

    assert _send(link) == 0
    row = AlertDelivery.objects.get(link=link)
    assert row.sent_at is None and row.error and row.attempts == 1

    with smtp_server(settings) as inbox:
        assert _send(link) == 1
        assert _send(link) == 0
    row.refresh_from_db()
    assert row.sent_at is not None and row.error == "" and row.attempts == 2
    assert len(inbox.messages) == 1


def test_a_delivery_a_dead_worker_left_unfinished_is_not_sent_again(smtp, alice, portal_user):
    link = _link(portal_user(alice))
    alert_preferences_set(link=link, chosen={"bill_ready": None}, now=NOW)
    AlertDelivery.objects.create(link=link, kind="bill_ready", event_key=f"bill:{alice.bills[1].pk}",
                                 email="alice@example.test", subject="s", created_at=NOW, attempted_at=NOW, attempts=1)
    assert _send(link) == 0
    assert smtp.messages == []


def test_high_usage_and_estimated_reads_compare_with_the_customers_own_days(smtp, alice, portal_user):
    link = _link(portal_user(alice))
    alert_preferences_set(link=link, chosen={"high_usage": 200, "estimated_read": None}, now=NOW)
    delivered = Channel.objects.get(meter__installations__service_point=alice.service_point, direction="delivered")
    # 1 kWh an hour through February (24 a day); then March 1-3 at 3 an hour, the 3rd estimated.
    _hourly(delivered, dt.date(2026, 3, 1), 2, 3.0)
    _hourly(delivered, dt.date(2026, 3, 3), 1, 3.0, estimated_days=1)
    now = dt.datetime(2026, 3, 4, 15, tzinfo=dt.timezone.utc)

    assert _send(link, now=now) == 4
    keys = sorted(AlertDelivery.objects.filter(link=link).values_list("event_key", flat=True))
    sp = alice.service_point.sp_number
    assert keys == [f"estimated:{sp}:2026-03-03", f"high:{sp}:kWh:2026-03-01", f"high:{sp}:kWh:2026-03-02",
                    f"high:{sp}:kWh:2026-03-03"]
    high = next(m for m in smtp.messages if "high usage on 2026-03-01" in m["Subject"])
    assert "72.0 kWh" in high.get_body().get_content() and "300% of your usual" in high.get_body().get_content()
    assert _send(link, now=now) == 0


def test_high_usage_needs_a_week_of_history_and_a_day_above_the_threshold(smtp, alice, portal_user):
    link = _link(portal_user(alice))
    alert_preferences_set(link=link, chosen={"high_usage": 400}, now=NOW)  # 3x the usual is not 4x
    delivered = Channel.objects.get(meter__installations__service_point=alice.service_point, direction="delivered")
    _hourly(delivered, dt.date(2026, 3, 1), 3, 3.0)
    assert _send(link, now=dt.datetime(2026, 3, 4, 15, tzinfo=dt.timezone.utc)) == 0
    # Bob's account has no days before its first: a new customer gets no comparison yet.
    assert smtp.messages == []


def test_the_alerts_page_saves_choices_and_refuses_a_threshold_out_of_range(client, alice, portal_user):
    user = portal_user(alice)
    client.force_login(user)
    url = reverse("portal:alerts", args=[alice.account.account_number])
    assert client.get(url).status_code == 200
    bad = client.post(url, {"high_usage": "on", "high_usage_threshold": "50"})
    assert bad.status_code == 400 and b"greater than or equal to 110" in bad.content
    assert not AlertPreference.objects.filter(enabled=True).exists()
    ok = client.post(url, {"bill_ready": "on", "payment_due": "on", "payment_due_threshold": "7"})
    assert ok.status_code == 302
    prefs = {p.kind: (p.enabled, p.threshold) for p in AlertPreference.objects.filter(link__user=user)}
    assert prefs["bill_ready"] == (True, None) and prefs["payment_due"] == (True, 7)
    assert prefs["high_usage"] == (False, 150) and prefs["payment_received"] == (False, None)


@pytest.fixture
def eager():
    """Chunks run in this process (the scan's own work is what is tested here, not the broker)."""
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def test_the_beat_job_is_scheduled_and_mails_through_its_chunks(smtp, alice, bob, portal_user, settings, eager):
    assert settings.CELERY_BEAT_SCHEDULE["portal-alerts-scan"]["task"] == "portal.tasks.alerts_scan"
    link = _link(portal_user(alice))
    alert_preferences_set(link=link, chosen={"payment_due": 30}, now=NOW)
    portal_user(bob, "bob@example.test")  # no alert chosen
    assert alerts_scan() == 1  # one link had an alert on
    # The chunk used the real clock: Alice's bill was due 2026-03-22, long before today.
    assert AlertDelivery.objects.count() == 0
