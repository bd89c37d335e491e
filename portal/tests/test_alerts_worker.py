"""The alerts beat job on a real Celery worker (tests/celery_helpers): the scan queues its chunks,
the worker mails through a real local SMTP server, and a second scan mails nothing twice."""
from __future__ import annotations

import os
import time
from decimal import Decimal

import pytest

from billing.models import LedgerEntry
from core.clock import utility_today
from portal.alerts import alert_preferences_set
from portal.models import AccountLink, AlertDelivery
from portal.tasks import alerts_scan
from portal.tests.conftest import NOW, smtp_server
from tests.celery_helpers import celery_worker  # noqa: F401  (pytest fixture)

pytestmark = pytest.mark.celery_worker

WAIT_S = 120


@pytest.fixture
def worker_smtp(settings, monkeypatch):
    """A real SMTP server that the worker process sends to too: it reads the mail settings from
    its environment, which it inherits from this process when it starts (list this fixture
    before `celery_worker`)."""
    with smtp_server(settings) as inbox:
        monkeypatch.setitem(os.environ, "UTILIS_EMAIL_BACKEND", settings.EMAIL_BACKEND)
        monkeypatch.setitem(os.environ, "UTILIS_EMAIL_HOST", settings.EMAIL_HOST)
        monkeypatch.setitem(os.environ, "UTILIS_EMAIL_PORT", str(settings.EMAIL_PORT))
        monkeypatch.setitem(os.environ, "UTILIS_EMAIL_USE_TLS", "false")
        yield inbox


def _until(check, what: str):
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.5)
    raise AssertionError(f"{what} within {WAIT_S} s")


def test_the_scan_mails_a_payment_received_alert_from_the_worker_once(worker_smtp, celery_worker,  # noqa: F811
                                                                      alice, portal_user):
    link = AccountLink.objects.get(user=portal_user(alice))
    alert_preferences_set(link=link, chosen={"payment_received": None}, now=NOW)
    LedgerEntry.objects.create(account=alice.account, kind=LedgerEntry.Kind.PAYMENT, amount=-Decimal("42.10"),
                               effective_date=utility_today(), description="Payment, thank you")

    assert alerts_scan.delay().get(timeout=WAIT_S) == 1  # one link has an alert on
    delivery = _until(lambda: AlertDelivery.objects.filter(link=link).first(), "no alert delivered by the worker")
    assert delivery.kind == "payment_received"
    message = _until(lambda: worker_smtp.messages[:1], "no message at the SMTP server")[0]
    assert message["To"] == link.user.email
    assert "42.10" in message.get_body(preferencelist=("plain",)).get_content()
    assert "alerts_send_chunk" in celery_worker.logs()

    # The same event on the next scan: nothing mailed twice.
    assert alerts_scan.delay().get(timeout=WAIT_S) == 1
    time.sleep(5)
    assert AlertDelivery.objects.filter(link=link).count() == 1
    assert len(worker_smtp.messages) == 1
