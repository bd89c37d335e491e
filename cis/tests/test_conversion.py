"""cis.services.conversion_load: a converted customer base loads in one go, checked first
(problems named by record, nothing written), audited under the conversion's name, and never
twice."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from cis.models import Account, Customer, CustomerEvent, Move, Premise, ServiceAgreement
from cis.records import (
    AccountRecord,
    AccountStatus,
    AgreementRecord,
    CustomerKind,
    CustomerRecord,
    MoveKind,
    MoveRecord,
    PremiseRecord,
    PremiseType,
    ServicePointRecord,
)
from cis.services import ConversionError, ConversionNotEmptyError, conversion_load, next_account_number
from cis.tests.factories import CustomerFactory
from service_orders.models import ServiceOrder

DAY = dt.date(2024, 1, 1)


def _base():
    person = CustomerRecord("C90000001", first_name="Élise", last_name="Côté", phone="1-613-555-0199",
                            email=" Elise@Example.CA ", id_type="drivers_licence", id_number="c1234-56789 01234")
    shop = CustomerRecord("C90000002", kind=CustomerKind.ORGANISATION, organisation_name="Corner Store Ltd.")
    building = PremiseRecord("P90000001", "10 King Street", "Kingston", "ON", "K7L 1A1",
                             premise_type=PremiseType.APARTMENT_BUILDING, latitude=Decimal("44.230000"))
    # The suite comes before its building: the load writes parents first all the same.
    suite = PremiseRecord("P90000002", "10 King Street", "Kingston", "ON", "K7L 1A1", address_line2="Suite 101",
                          premise_type=PremiseType.SUITE, parent=building)
    sp_suite = ServicePointRecord("SP90000001", suite, "electric", route="KIN-001", read_sequence=10)
    sp_building = ServicePointRecord("SP90000002", building, "water", route="KIN-001", read_sequence=20)
    old = AccountRecord("9000000001", person, opened_date=dt.date(2020, 1, 1), status=AccountStatus.CLOSED,
                        closed_date=dt.date(2023, 6, 1))
    new = AccountRecord("9000000002", shop, opened_date=dt.date(2023, 6, 1))
    agreements = [
        AgreementRecord("SA90000001", old, sp_suite, "RES-TIERED", dt.date(2020, 1, 1), dt.date(2023, 6, 1)),
        AgreementRecord("SA90000002", new, sp_suite, "GS-FLAT", dt.date(2023, 6, 1)),
        AgreementRecord("SA90000003", new, sp_building, "WATER-COM", dt.date(2023, 6, 1)),
    ]
    moves = [MoveRecord(MoveKind.MOVE_OUT, new, sp_suite, DAY + dt.timedelta(days=30), agreement=agreements[1])]
    return dict(customers=[person, shop], premises=[suite, building], service_points=[sp_suite, sp_building],
                accounts=[old, new], agreements=agreements, moves=moves)


@pytest.fixture
def base():
    return _base()


def test_loads_every_table_with_links_search_keys_and_read_orders(db, base):
    result = conversion_load(name="legacy-2024", **base)

    assert result.counts == {"customers": 2, "premises": 2, "service_points": 2, "accounts": 2, "agreements": 3,
                             "moves": 1}
    assert result.read_orders == 1
    suite = Premise.objects.get(premise_number="P90000002")
    assert suite.parent.premise_number == "P90000001" and suite.pk == base["premises"][0].id
    person = Customer.objects.get(customer_number="C90000001")
    # The derived columns are what save() computes.
    stored = (person.display_name, person.search_name, person.email, person.phone_search, person.id_number_search)
    person.save()
    person.refresh_from_db()
    assert stored == (person.display_name, person.search_name, person.email, person.phone_search,
                      person.id_number_search) == ("Élise Côté", "elise cote", "elise@example.ca", "6135550199",
                                                    "C12345678901234")
    assert ServiceAgreement.objects.get(agreement_number="SA90000001").account.account_number == "9000000001"
    move = Move.objects.get()
    order = ServiceOrder.objects.get(source=f"cis.move:{move.pk}")
    assert (order.order_type, order.due_date, order.service_point_id) == ("final_read", move.effective_date,
                                                                          move.service_point_id)


def test_the_audit_trail_names_the_conversion(db, base):
    conversion_load(name="legacy-2024", **base)

    metadata = {tuple(sorted(e.pgh_context.metadata.items())) for e in CustomerEvent.objects.select_related("pgh_context")}
    assert len(metadata) == 1
    recorded = dict(next(iter(metadata)))
    assert recorded["conversion"] == "legacy-2024" and recorded["reason"] == "legacy-2024"
    assert recorded["action"] == "conversion_load"


def test_bad_records_are_named_and_nothing_is_written(db, base):
    base["customers"].append(CustomerRecord("C90000001", last_name="Twice"))
    base["accounts"][1].opened_date = dt.date(2023, 7, 1)  # after its agreements start
    base["agreements"].append(
        AgreementRecord("SA90000004", base["accounts"][1], base["service_points"][0], "GS-FLAT", dt.date(2024, 1, 1)))
    base["premises"][1].latitude = Decimal("95")
    stray = PremiseRecord("P99999999", "1 Nowhere", "Kingston", "ON", "K7L 1A1")
    base["service_points"].append(ServicePointRecord("SP90000003", stray, "electric"))

    with pytest.raises(ConversionError) as caught:
        conversion_load(name="legacy-2024", **base)

    messages = {str(p) for p in caught.value.problems}
    assert "customer C90000001: number given twice" in messages
    assert "premise P90000001: latitude 95 is out of range" in messages
    assert "service point SP90000003: its premise is not among the records loaded" in messages
    assert any(m.startswith("agreement SA90000002: starts 2023-06-01 before account 9000000002") for m in messages)
    assert "agreement SA90000004: overlaps agreement SA90000002 on service point SP90000001" in messages
    assert not Customer.objects.exists() and not Premise.objects.exists()
    assert all(r.id is None for r in base["customers"])


def test_a_second_load_is_refused(db, base):
    conversion_load(name="legacy-2024", **base)

    with pytest.raises(ConversionError, match="already loaded"):
        conversion_load(name="legacy-2024", **base)
    again = _base()  # the same numbers, new records: the numbers are taken
    with pytest.raises(ConversionError, match="customer C90000001: already exists in cis"):
        conversion_load(name="legacy-2024 again", **again)
    assert Account.objects.count() == 2
    assert all(r.id is None for r in again["accounts"])


def test_an_initial_conversion_wants_an_empty_cis(db, base):
    CustomerFactory()
    with pytest.raises(ConversionNotEmptyError):
        conversion_load(name="legacy-2024", into_empty=True, **base)


def test_number_sequences_move_past_converted_numbers(db, base):
    base["accounts"][1].account_number = "0001000050"  # in the sequence's range (from 1000001)
    base["agreements"][1].account = base["accounts"][1]

    conversion_load(name="legacy-2024", **base)

    assert int(next_account_number()) > 1000050
