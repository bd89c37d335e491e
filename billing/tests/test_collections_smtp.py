"""Collections notices go out through Django's SMTP email backend to a real SMTP server
(aiosmtpd on a free local port), once each: a run done again sends nothing more."""
from __future__ import annotations

import datetime as dt
import email
import socket

import pytest
from aiosmtpd.controller import Controller
from django.test import override_settings

from billing.collections.models import CollectionAction
from billing.tests.test_collections_run import DUE, delinquent, run

pytestmark = pytest.mark.django_db


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's handler hook
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_inbox():
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST="127.0.0.1",
                               EMAIL_PORT=port, EMAIL_USE_TLS=False, EMAIL_HOST_USER="", EMAIL_HOST_PASSWORD=""):
            yield inbox
    finally:
        controller.stop()


def test_a_reminder_and_a_final_notice_reach_the_smtp_server_once_each(smtp_inbox):
    account = delinquent(email="lee@example.org")
    quiet = delinquent(email="")  # no email address: the step is recorded, nothing is sent
    run(DUE + dt.timedelta(days=5))
    run(DUE + dt.timedelta(days=5))  # the same day again
    assert [m["To"] for m in smtp_inbox.messages] == ["lee@example.org"]
    assert smtp_inbox.messages[0]["Subject"] == f"Payment reminder: account {account.account_number}"
    assert "300.00" in smtp_inbox.messages[0].get_payload()
    run(DUE + dt.timedelta(days=16))
    run(DUE + dt.timedelta(days=30))
    assert [m["Subject"].split(":")[0] for m in smtp_inbox.messages] == ["Payment reminder", "Final notice"]
    sent = CollectionAction.objects.filter(account_id=account.pk, kind__in=["reminder", "final_notice"])
    assert all(a.email_sent_at is not None for a in sent)
    assert CollectionAction.objects.filter(account_id=quiet.pk, kind="reminder", email_sent_at__isnull=True).exists()
