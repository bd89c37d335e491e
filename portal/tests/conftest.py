"""A small utility for the portal tests: two customers, each with an account, a service point
with a meter (energy delivered and received, hourly), two issued bills and their ledger rows,
and a local SMTP server the portal's mail really goes through."""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
import socket
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from aiosmtpd.controller import Controller
from django.contrib.auth.models import Group

from billing.models import Bill, BillLine, BillSegment, LedgerEntry
from cis.tests.factories import AccountFactory, CustomerFactory, PremiseFactory, ServiceAgreementFactory, ServicePointFactory
from core.roles import Role
from mdm import services as mdm_services
from mdm.flags import Flag
from mdm.models import Channel, Installation
from mdm.services import StagedDay
from mdm.tests.factories import MeterFactory
from portal.models import AccountLink

TZ = ZoneInfo("America/Toronto")
NOW = dt.datetime(2026, 3, 10, 12, tzinfo=dt.timezone.utc)
FEB = dt.date(2026, 2, 1)
PASSWORD = "portal-test-pass-1!"


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    def last_link(self, pattern: str = r"https?://\S+") -> str:
        assert self.messages, "no mail arrived"
        body = self.messages[-1].get_body(preferencelist=("plain",)).get_content()
        found = re.findall(pattern, body)
        assert found, body
        return found[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def smtp_server(settings):
    """A real SMTP server on a free local port; Django's SMTP backend sends to it."""
    inbox = _Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = False
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def smtp(settings):
    with smtp_server(settings) as inbox:
        yield inbox


@dataclass
class Customer:
    account: object
    customer: object
    service_point: object
    bills: list
    postal_code: str


def _hourly(channel, start: dt.date, days: int, value: float, estimated_days: int = 0) -> None:
    staged = []
    for i in range(days):
        flag = Flag.ESTIMATED_LIKE_DAY if i < estimated_days else Flag.ACTUAL
        staged.append(StagedDay(channel.pk, start + dt.timedelta(days=i), 60, np.full(24, value),
                                np.full(24, int(flag), dtype=np.int16)))
    mdm_services.interval_days_merge(days=staged, now=NOW)


def _bill(account, sp, agreement, number: str, start: dt.date, end: dt.date, total: str) -> Bill:
    bill = Bill.objects.create(
        account=account, bill_number=number, status=Bill.Status.ISSUED, period_start=start, period_end=end,
        bill_date=end, due_date=end + dt.timedelta(days=21), total=Decimal(total), amount_due=Decimal(total),
        issued_at=dt.datetime.combine(end, dt.time(12), tzinfo=dt.timezone.utc),
    )
    segment = BillSegment.objects.create(bill=bill, account=account, agreement=agreement, service_point=sp,
                                         rate_code=agreement.rate_code, period_start=start, period_end=end,
                                         determinants={"consumption": "240"}, subtotal=Decimal(total))
    BillLine.objects.create(segment=segment, sequence=1, description="Customer charge", component_kind="fixed",
                            component_code="customer_fixed_rule_7", quantity=Decimal(1), unit="bill",
                            price=Decimal("10.00"), amount=Decimal("10.00"))
    BillLine.objects.create(segment=segment, sequence=2, description="Delivery charge", component_kind="flat",
                            component_code="delivery_flat_rule_9", quantity=Decimal("38.2"), unit="kWh",
                            price=Decimal("0.041"), amount=Decimal(total) - Decimal("10.00"))
    LedgerEntry.objects.create(account=account, kind=LedgerEntry.Kind.BILL, amount=Decimal(total),
                               effective_date=end, description=f"Bill {number}", bill=bill)
    return bill


def make_customer(tag: str, *, postal_code: str, last_name: str, previous_occupant: bool = False) -> Customer:
    customer = CustomerFactory(last_name=last_name, first_name="Pat")
    account = AccountFactory(customer=customer)
    sp = ServicePointFactory(premise=PremiseFactory(postal_code=postal_code))
    start = FEB
    if previous_occupant:
        # Someone else held the service point in January: their usage is not this account's.
        ServiceAgreementFactory(service_point=sp, start_date=dt.date(2026, 1, 1), end_date=FEB)
    agreement = ServiceAgreementFactory(account=account, service_point=sp, start_date=start)
    meter = MeterFactory()
    Installation.objects.create(meter=meter, service_point=sp, commodity="electric",
                                installed_at=dt.datetime(2025, 12, 1, 5, tzinfo=dt.timezone.utc))
    delivered = Channel.objects.create(meter=meter, channel_number=1, unit="kWh", direction="delivered",
                                       interval_minutes=60)
    received = Channel.objects.create(meter=meter, channel_number=2, unit="kWh", direction="received",
                                      interval_minutes=60)
    _hourly(delivered, dt.date(2026, 1, 20), 40, 1.0 if tag == "a" else 2.0, estimated_days=13)
    _hourly(received, FEB, 28, 0.25)
    bills = [_bill(account, sp, agreement, f"B{tag}1", FEB, dt.date(2026, 2, 15), "45.67"),
             _bill(account, sp, agreement, f"B{tag}2", dt.date(2026, 2, 15), dt.date(2026, 3, 1), "51.20")]
    return Customer(account, customer, sp, bills, postal_code)


@pytest.fixture
def alice(db):
    return make_customer("a", postal_code="M4C 1B5", last_name="Tremblay", previous_occupant=True)


@pytest.fixture
def bob(db):
    return make_customer("b", postal_code="K1A 0B1", last_name="Nguyen")


@pytest.fixture
def portal_user(db, django_user_model):
    """A customer login linked to the given account (as the emailed link would leave it)."""
    def make(customer: Customer, username: str = "alice@example.test"):
        user = django_user_model.objects.create_user(username=username, email=username, password=PASSWORD)
        user.groups.add(Group.objects.get_or_create(name=Role.CUSTOMER)[0])
        AccountLink.objects.create(user=user, account=customer.account, linked_at=NOW, proof="postal_code")
        return user

    return make
