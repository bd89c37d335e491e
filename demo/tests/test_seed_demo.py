"""seed_demo: a small demo utility is deterministic, complete (every premise type and
commodity, summary accounts, move history, pending moves) and loads only into an empty
database."""
from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection

from demo.utility import generator
from demo.utility.generator import demo_utility_generate
from cis.models import (
    Account,
    Commodity,
    Customer,
    CustomerEvent,
    Move,
    Premise,
    ServiceAgreement,
    ServicePoint,
)
from cis.services import next_account_number, next_customer_number
from service_orders.models import OrderType, ServiceOrder

TODAY = dt.date(2026, 3, 15)
ACCOUNTS = 300


def fingerprint(demo) -> dict:
    """What 'the same data' means: names, numbers, addresses, dates and links."""
    return {
        "customers": [
            (c.customer_number, c.kind, c.first_name, c.last_name, c.organisation_name, c.email, c.phone,
             c.id_type, c.id_number, c.mailing_address_line1, c.mailing_city)
            for c in demo.customers
        ],
        "premises": [
            (p.premise_number, p.premise_type, p.address_line1, p.address_line2, p.postal_code, p.latitude,
             p.parent.premise_number if p.parent else None, p.meter_chamber)
            for p in demo.premises
        ],
        "accounts": [
            (a.account_number, a.customer.customer_number, a.status, a.opened_date, a.closed_date,
             a.parent.account_number if a.parent else None, a.bill_cycle_code)
            for a in demo.accounts
        ],
        "agreements": [
            (g.agreement_number, g.account.account_number, g.service_point.sp_number, g.rate_code,
             g.start_date, g.end_date)
            for g in demo.agreements
        ],
        "moves": [(m.kind, m.service_point.sp_number, m.effective_date) for m in demo.moves],
    }


@pytest.fixture
def fast_passwords(settings):
    # The demo users' passwords are hashed with the production hasher otherwise: seconds per test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def seeded(db, fast_passwords):
    # Meters and their AMI data are mdm's part of the demo, tested there.
    out = StringIO()
    call_command("seed_demo", accounts=ACCOUNTS, seed=7, start_date=TODAY, with_meters=False, with_cash=False,
                 stdout=out)  # the cash demo is demo/tests/test_demo_cash.py
    return out.getvalue()


def test_same_seed_builds_the_same_utility_and_another_seed_a_different_one():
    first = fingerprint(demo_utility_generate(accounts=ACCOUNTS, seed=7, today=TODAY))
    again = fingerprint(demo_utility_generate(accounts=ACCOUNTS, seed=7, today=TODAY))
    other = fingerprint(demo_utility_generate(accounts=ACCOUNTS, seed=8, today=TODAY))

    assert first == again
    assert first["customers"] != other["customers"]
    # Numbers are handed out in order from the demo base, whatever the seed.
    assert first["accounts"][0][0] == other["accounts"][0][0] == "0000100001"
    assert first["customers"][0][0] == "C00100001"


def test_builds_exactly_the_accounts_asked_for():
    for accounts in (20, 57, 300):
        assert len(demo_utility_generate(accounts=accounts, seed=3, today=TODAY).accounts) == accounts


def test_refuses_a_utility_too_small_to_hold_every_kind_of_premise(db):
    with pytest.raises(CommandError, match="at least 20"):
        call_command("seed_demo", accounts=5, seed=1, start_date=TODAY, with_meters=False, stdout=StringIO())


def test_loaded_rows_are_the_generated_ones(seeded):
    expected = fingerprint(demo_utility_generate(accounts=ACCOUNTS, seed=7, today=TODAY))

    loaded_customers = list(
        Customer.objects.order_by("customer_number").values_list("customer_number", "first_name", "last_name", "email")
    )
    assert loaded_customers == [(c[0], c[2], c[3], c[5]) for c in expected["customers"]]
    loaded_accounts = list(
        Account.objects.order_by("account_number").values_list(
            "account_number", "customer__customer_number", "status", "opened_date", "closed_date",
            "parent__account_number", "bill_cycle_code",
        )
    )
    assert loaded_accounts == expected["accounts"]
    assert ServiceAgreement.objects.count() == len(expected["agreements"])
    assert "Seeded" in seeded and f"{ACCOUNTS} accounts" in seeded


def test_every_premise_type_and_commodity_is_present(seeded):
    assert set(Premise.objects.values_list("premise_type", flat=True)) == set(Premise.PremiseType.values)
    assert set(ServicePoint.objects.values_list("commodity", flat=True)) == set(Commodity.values)
    assert set(Customer.objects.values_list("kind", flat=True)) == {Customer.Kind.PERSON, Customer.Kind.ORGANISATION}
    # Every metered service point sits on a read route with a sequence.
    assert not ServicePoint.objects.filter(route="").exists()
    assert not ServicePoint.objects.filter(read_sequence__isnull=True).exists()


def test_suites_belong_to_a_building_and_share_its_meter_rooms(seeded):
    suites = Premise.objects.filter(premise_type=Premise.PremiseType.SUITE).select_related("parent")
    assert suites.exists()
    for suite in suites:
        assert suite.parent.premise_type == Premise.PremiseType.APARTMENT_BUILDING
        assert suite.address_line1 == suite.parent.address_line1
        assert suite.address_line2.startswith("Suite ")
        assert suite.meter_chamber.startswith(suite.parent.meter_chamber + "-")


def test_summary_accounts_have_children_billed_on_their_cycle(seeded):
    children = Account.objects.filter(parent__isnull=False).select_related("parent")
    assert children.exists()
    for child in children:
        assert child.parent.parent_id is None
        assert child.bill_cycle_code == child.parent.bill_cycle_code
        assert child.customer_id == child.parent.customer_id  # the manager or chain owns both
    # A property manager's building account pays for the building's own service.
    building_accounts = Account.objects.filter(
        parent__isnull=False, agreements__service_point__premise__premise_type=Premise.PremiseType.APARTMENT_BUILDING
    )
    assert building_accounts.exists()


def test_closed_accounts_ended_their_service_and_a_newer_tenant_followed(seeded):
    closed = Account.objects.filter(status=Account.Status.CLOSED)
    assert closed.exists()
    for account in closed:
        assert account.closed_date is not None
        ends = list(account.agreements.values_list("end_date", flat=True))
        assert ends and all(end is not None and end <= account.closed_date for end in ends)
    # Move history: on some service point one account's agreement ends the day the next one's starts.
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT count(*) FROM cis_serviceagreement a JOIN cis_serviceagreement b
               ON a.service_point_id = b.service_point_id AND a.end_date = b.start_date AND a.account_id <> b.account_id"""
        )
        (successions,) = cursor.fetchone()
    assert successions > 0


def test_no_service_point_has_overlapping_agreements(seeded):
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT count(*) FROM cis_serviceagreement a JOIN cis_serviceagreement b
               ON a.service_point_id = b.service_point_id AND a.id < b.id
               AND daterange(a.start_date, a.end_date, '[)') && daterange(b.start_date, b.end_date, '[)')"""
        )
        (overlaps,) = cursor.fetchone()
    assert overlaps == 0


def test_pending_moves_are_future_dated_and_have_their_read_orders(seeded):
    moves = Move.objects.filter(status=Move.Status.PENDING).select_related("account", "agreement")
    assert set(moves.values_list("kind", flat=True)) == {Move.Kind.MOVE_IN, Move.Kind.MOVE_OUT}
    for move in moves:
        assert move.effective_date > TODAY
        order = ServiceOrder.objects.get(source=f"cis.move:{move.pk}")
        expected = OrderType.INITIAL_READ if move.kind == Move.Kind.MOVE_IN else OrderType.FINAL_READ
        assert (order.order_type, order.due_date, order.service_point_id) == (expected, move.effective_date, move.service_point_id)
        if move.kind == Move.Kind.MOVE_IN:
            assert move.account.status == Account.Status.PENDING and move.rate_code
        else:
            assert move.agreement.account_id == move.account_id and move.agreement.end_date is None


def test_even_the_smallest_demo_has_both_kinds_of_pending_move():
    demo = demo_utility_generate(accounts=20, seed=11, today=TODAY)
    assert {m.kind for m in demo.moves} == {Move.Kind.MOVE_IN, Move.Kind.MOVE_OUT}
    assert all(m.effective_date > TODAY for m in demo.moves)


def test_search_keys_are_filled_although_rows_bypass_save(seeded):
    accented = Customer.objects.filter(kind=Customer.Kind.PERSON).exclude(search_name="")
    sample = [c for c in accented if c.display_name.encode("ascii", "ignore").decode() != c.display_name]
    assert sample, "the name lists include accented names"
    for c in sample[:20]:
        assert c.search_name.isascii() and c.search_name == c.search_name.lower()
        assert c.display_name == f"{c.first_name} {c.last_name}"
    assert not Customer.objects.filter(phone_search="").exists()
    assert not Premise.objects.filter(search_address="").exists()


def test_the_audit_trail_records_the_seed(seeded):
    events = CustomerEvent.objects.filter(pgh_label="insert")
    assert events.count() == Customer.objects.count()
    assert set(events.values_list("pgh_context__metadata__reason", flat=True)) == {"seed_demo"}


def test_demo_users_are_created(seeded):
    assert get_user_model().objects.filter(username__in=["csr", "billing", "admin"]).count() == 3


def test_demo_customers_get_portal_logins_that_see_their_accounts(seeded, client):
    from demo.users import DEMO_PORTAL_LOGINS, DEMO_PORTAL_PASSWORD
    from portal.models import AccountLink

    for email, count in DEMO_PORTAL_LOGINS:
        assert email in seeded  # seed_demo says which accounts it linked
        links = AccountLink.objects.filter(user__username=email).select_related("account")
        assert links.count() == count
        assert client.login(username=email, password=DEMO_PORTAL_PASSWORD)
        number = links.first().account.account_number
        page = client.get(f"/portal/a/{number}/")
        assert page.status_code == 200 and number in page.content.decode()
        client.logout()
    banner = StringIO()
    call_command("demo_status", banner=True, stdout=banner)
    assert all(email in banner.getvalue() for email, _ in DEMO_PORTAL_LOGINS)


def test_if_empty_does_nothing_once_accounts_exist(seeded):
    before = (Customer.objects.count(), Account.objects.count(), ServiceAgreement.objects.count(), Move.objects.count())
    out = StringIO()

    call_command("seed_demo", accounts=ACCOUNTS, seed=99, if_empty=True, start_date=TODAY, with_meters=False, stdout=out)

    assert "nothing to seed" in out.getvalue()
    assert (Customer.objects.count(), Account.objects.count(), ServiceAgreement.objects.count(), Move.objects.count()) == before


def test_seeding_a_database_that_has_data_without_if_empty_is_refused(seeded):
    with pytest.raises(CommandError, match="fresh database"):
        call_command("seed_demo", accounts=ACCOUNTS, seed=7, start_date=TODAY, with_meters=False, stdout=StringIO())


def test_services_numbers_do_not_collide_with_demo_numbers(seeded):
    assert next_account_number() not in set(Account.objects.values_list("account_number", flat=True))
    assert next_customer_number() not in set(Customer.objects.values_list("customer_number", flat=True))


def test_a_demo_reaching_the_sequences_range_moves_them_past_its_numbers(db, fast_passwords, monkeypatch):
    # As if the demo were large enough to run past 1,000,000 numbers.
    monkeypatch.setattr(generator, "DEMO_NUMBER_BASE", 999_990)
    call_command("seed_demo", accounts=40, seed=2, start_date=TODAY, with_meters=False, stdout=StringIO())

    highest = max(int(n) for n in Account.objects.values_list("account_number", flat=True))
    assert highest > 1_000_001
    assert int(next_account_number()) > highest


def test_the_pending_moves_apply_cleanly_when_their_day_comes(seeded):
    from cis.services import moves_apply_due

    last_day = max(Move.objects.filter(status=Move.Status.PENDING).values_list("effective_date", flat=True))
    pending = Move.objects.filter(status=Move.Status.PENDING).count()

    applied = moves_apply_due(today=last_day)

    assert applied == pending
    assert not Move.objects.filter(status=Move.Status.PENDING).exists()
    move_ins = Move.objects.filter(kind=Move.Kind.MOVE_IN).select_related("account", "service_point__premise")
    assert all(move.account.status == Account.Status.ACTIVE for move in move_ins)
    # A move-in on a vacant suite stopped the property manager's agreement the day before.
    suites = [m for m in move_ins if m.service_point.premise.premise_type == Premise.PremiseType.SUITE]
    assert suites
    for move in suites:
        stopped = ServiceAgreement.objects.get(service_point=move.service_point, end_date=move.effective_date)
        assert stopped.account.parent is not None and stopped.account.customer.kind == Customer.Kind.ORGANISATION
