"""The hub's one-box search (cis.selectors.search_accounts): what each kind of query finds,
and in which order."""
import datetime as dt

import pytest

from cis.models import Account
from cis.selectors import classify_query, search_accounts
from cis.tests.factories import (
    AccountFactory,
    CustomerFactory,
    PremiseFactory,
    ServiceAgreementFactory,
    ServicePointFactory,
)

pytestmark = pytest.mark.django_db


def person(first, last, **extra):
    return AccountFactory(customer=CustomerFactory(first_name=first, last_name=last, **extra))


def numbers(hits):
    return [h.account.account_number for h in hits]


def served_at(account, address, commodity="electric", start=dt.date(2024, 1, 1), end=None):
    sp = ServicePointFactory(premise=PremiseFactory(address_line1=address), commodity=commodity)
    return ServiceAgreementFactory(account=account, service_point=sp, start_date=start, end_date=end)


class TestNames:
    def test_partial_name_matches_without_case_or_accents(self):
        muller = person("Hans", "Müller")
        jose = person("José", "García")
        person("Ann", "Miller")

        assert numbers(search_accounts("muller")) == [muller.account_number]
        assert numbers(search_accounts("JOS")) == [jose.account_number]
        assert numbers(search_accounts("garc")) == [jose.account_number]

    def test_accented_query_finds_the_unaccented_spelling_too(self):
        zoe = person("Zoe", "Lefevre")
        assert numbers(search_accounts("Zoé Lefèvre")) == [zoe.account_number]

    def test_exact_surname_ranks_before_longer_names_that_contain_it(self):
        # Alphabetically "ashlee smith" < "bruce leeson" < "nina lee": the ranking must beat that.
        ashlee = person("Ashlee", "Smith")
        leeson = person("Bruce", "Leeson")
        lee = person("Nina", "Lee")

        hits = search_accounts("lee")

        assert numbers(hits) == [lee.account_number, leeson.account_number, ashlee.account_number]
        assert {h.matched_on for h in hits} == {"name"}

    def test_organisation_is_found_by_its_name(self):
        org = AccountFactory(
            customer=CustomerFactory(kind="organisation", first_name="", last_name="", organisation_name="Café Brûlé Ltd")
        )
        assert numbers(search_accounts("cafe brule")) == [org.account_number]

    def test_customer_with_two_accounts_lists_the_active_one_first(self):
        customer = CustomerFactory(first_name="Ola", last_name="Nordmann")
        closed = AccountFactory(customer=customer, account_number="5000000001", status=Account.Status.CLOSED)
        active = AccountFactory(customer=customer, account_number="5000000002")
        assert numbers(search_accounts("nordmann")) == [active.account_number, closed.account_number]

    def test_a_one_letter_query_finds_nothing(self):
        person("Al", "X")
        assert search_accounts("x") == []
        assert search_accounts("  ") == []


class TestAccountNumber:
    def test_account_number_prefix_in_number_order(self):
        second = AccountFactory(account_number="3100000002")
        first = AccountFactory(account_number="3100000001")
        AccountFactory(account_number="3200000001")

        hits = search_accounts("310000")

        assert numbers(hits) == [first.account_number, second.account_number]
        assert hits[0].matched_on == "account"

    def test_spaces_typed_inside_an_account_number_are_ignored(self):
        account = AccountFactory(account_number="3100000009")
        assert numbers(search_accounts("310 000 0009")) == [account.account_number]


class TestAddress:
    def test_house_number_and_street_finds_the_account_served_there(self):
        account = AccountFactory()
        served_at(account, "12 Maple Avenue")
        served_at(AccountFactory(), "12 Oak Street")

        hits = search_accounts("12 maple")

        assert numbers(hits) == [account.account_number]
        assert hits[0].matched_on == "address"
        assert hits[0].service_address == "12 Maple Avenue, Toronto, ON M4C 1B5"

    def test_exact_house_number_ranks_before_a_longer_one_containing_it(self):
        at_112 = AccountFactory(account_number="4000000001")
        served_at(at_112, "112 Maple Avenue")
        at_12 = AccountFactory(account_number="4000000002")
        served_at(at_12, "12 Maple Avenue")

        assert numbers(search_accounts("12 maple")) == [at_12.account_number, at_112.account_number]

    def test_closed_account_is_still_found_by_its_old_service_address(self):
        gone = AccountFactory(status=Account.Status.CLOSED, closed_date=dt.date(2025, 6, 1))
        served_at(gone, "7 Willow Crescent", end=dt.date(2025, 6, 1))

        hits = search_accounts("7 willow")

        assert numbers(hits) == [gone.account_number]
        assert hits[0].service_address.startswith("7 Willow Crescent")

    def test_current_occupant_ranks_before_the_previous_one_at_the_same_address(self):
        sp = ServicePointFactory(premise=PremiseFactory(address_line1="5 Cedar Lane"))
        before = ServiceAgreementFactory(service_point=sp, start_date=dt.date(2023, 1, 1), end_date=dt.date(2025, 1, 1)).account
        now = ServiceAgreementFactory(service_point=sp, start_date=dt.date(2025, 1, 1)).account

        assert numbers(search_accounts("5 cedar")) == [now.account_number, before.account_number]

    def test_address_with_accents_is_found_without_them(self):
        account = AccountFactory()
        served_at(account, "8 Rue Saint-Rémi")
        assert numbers(search_accounts("8 rue saint-remi")) == [account.account_number]


class TestPhoneEmailAndId:
    @pytest.mark.parametrize("typed", ["(416) 555-0199", "4165550199", "+1 416 555 0199", "416.555.0199"])
    def test_phone_in_any_format(self, typed):
        account = person("Pat", "Caller", phone="416-555-0199")
        person("Other", "Person", phone="905-555-0199")

        hits = search_accounts(typed)

        assert numbers(hits) == [account.account_number]
        assert hits[0].matched_on == "phone"

    def test_alternate_phone_is_searched_too(self):
        account = person("Pat", "Twophones", phone="416-555-0100", phone_alt="647 555 0142")
        assert numbers(search_accounts("647-555-0142")) == [account.account_number]

    def test_email_ignores_case(self):
        account = person("Eve", "Mailer", email="Eve.Mailer@Example.test")
        person("Eve", "Other", email="eve.other@example.test")

        hits = search_accounts("EVE.MAILER@example.TEST")

        assert numbers(hits) == [account.account_number]
        assert hits[0].matched_on == "email"

    def test_id_number_ignores_spaces_and_dashes_when_the_kind_is_chosen(self):
        account = person("Ida", "Card", id_type="drivers_licence", id_number="A1234-56789-01234")
        assert numbers(search_accounts("a1234 5678901234", kind="id_number")) == [account.account_number]

    def test_compact_id_number_is_recognised_in_the_one_box(self):
        account = person("Ida", "Passport", id_type="passport", id_number="AB 123456")
        assert numbers(search_accounts("AB123456")) == [account.account_number]
        assert search_accounts("AB123456")[0].matched_on == "id_number"

    @pytest.mark.parametrize("typed", ["AB 123 456", "1234-567-890-AB"])
    def test_id_number_typed_with_spaces_or_a_trailing_version_code_is_recognised_in_the_one_box(self, typed):
        compact = typed.replace(" ", "").replace("-", "")
        account = person("Ida", "Spaced", id_type="other", id_number=compact)
        assert numbers(search_accounts(typed)) == [account.account_number]


class TestFiltersAndResults:
    def test_status_filter(self):
        active = person("Kim", "Status")
        closed = AccountFactory(customer=CustomerFactory(first_name="Kim", last_name="Statuser"), status=Account.Status.CLOSED)

        assert numbers(search_accounts("status", status="active")) == [active.account_number]
        assert numbers(search_accounts("status", status="closed")) == [closed.account_number]

    def test_commodity_filter_keeps_accounts_served_with_that_commodity(self):
        water = person("Wes", "Commodity")
        served_at(water, "1 Pump Road", commodity="water")
        electric = person("Eli", "Commodity")
        served_at(electric, "2 Wire Road", commodity="electric")

        assert numbers(search_accounts("commodity", commodity="water")) == [water.account_number]
        assert numbers(search_accounts("commodity", commodity="electric")) == [electric.account_number]

    def test_account_matching_several_ways_appears_once(self):
        # "Maple" is both the customer's surname and the street of two of its premises.
        account = person("Mia", "Maple")
        served_at(account, "20 Maple Avenue")
        served_at(account, "22 Maple Avenue", commodity="water")

        hits = search_accounts("maple")

        assert numbers(hits) == [account.account_number]
        assert hits[0].matched_on == "name"

    def test_limit_caps_the_number_of_hits(self):
        for n in range(5):
            person("Lim", f"Iter{n}")
        assert len(search_accounts("iter", limit=3)) == 3

    def test_status_filter_is_applied_before_the_limit(self):
        for n in range(3):
            AccountFactory(
                customer=CustomerFactory(first_name="Rae", last_name="Quill"), status=Account.Status.CLOSED,
                account_number=f"600000000{n}",
            )
        active = AccountFactory(customer=CustomerFactory(first_name="Rae", last_name="Quillon"))

        assert numbers(search_accounts("quill", status="active", limit=2)) == [active.account_number]


@pytest.mark.parametrize(
    "query, kinds",
    [
        ("ann@example.test", ["email"]),
        ("4165550199", ["account", "phone", "id_number", "address"]),
        ("31000", ["account", "id_number", "address"]),
        ("12 maple", ["address", "name"]),
        ("AB123456", ["id_number", "account", "name"]),
        ("müller", ["name", "address"]),
        ("", []),
    ],
)
def test_classify_query_orders_the_kinds_a_query_could_be(query, kinds):
    assert classify_query(query) == kinds


def test_a_business_number_with_a_program_suffix_is_not_taken_for_an_address():
    from cis.selectors import classify_query

    assert classify_query("123456789 RT0001")[0] == "id_number"
    assert classify_query("12345 Main Street")[0] == "address"
