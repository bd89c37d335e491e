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
        ("159 Sydenham Boulevard, Suite 107", ["address"]),
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


# --- issue 9: search that finds what a CSR types ------------------------------------------
# Each test below failed on the main before this change.


def uses_index(queryset_or_sql, index_name: str) -> bool:
    """Whether PostgreSQL plans the query through `index_name` (sequential scans disabled, so
    the few rows of a test table do not make a scan look cheaper than the index)."""
    from django.db import connection

    sql, params = queryset_or_sql.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET LOCAL enable_seqscan = on")
    return index_name in plan


@pytest.fixture
def metered():
    """An account served through meter EL10000042; another account with no meter."""
    from django.utils import timezone

    from mdm import services as mdm_services
    from mdm.tests.factories import MeterFactory

    account = AccountFactory(account_number="7300000042")
    sp = ServicePointFactory()
    ServiceAgreementFactory(account=account, service_point=sp, start_date=dt.date(2024, 1, 1))
    meter = MeterFactory(serial_number="EL10000042")
    mdm_services.meter_install(meter=meter, service_point_id=sp.pk,
                               installed_at=timezone.make_aware(dt.datetime(2024, 1, 1)))
    AccountFactory(account_number="7300000043")
    return account


class TestMeterSerialInAnything:
    def test_anything_finds_a_meter_serial_in_any_case(self, metered):
        for typed in ("EL10000042", "el10000042", " EL10000042 "):
            hits = search_accounts(typed)  # kind="auto": the hub's "Anything"
            assert numbers(hits) == [metered.account_number]
            assert hits[0].matched_on == "meter"

    def test_the_meter_provider_says_what_looks_like_a_serial(self):
        from core.search import search_provider

        looks_like = search_provider("meter").looks_like
        assert looks_like("EL10000042") and looks_like("12-3456-7") and looks_like("0000104542")
        assert not looks_like("jose alv") and not looks_like("maple") and not looks_like("159 Sydenham Blvd")

    def test_cis_kinds_come_before_the_meter(self, metered):
        from cis.selectors.accounts import auto_kinds

        assert auto_kinds("EL10000042")[-1] == "meter"
        assert auto_kinds("0000104542")[0] == "account" and auto_kinds("0000104542")[-1] == "meter"
        assert "meter" not in auto_kinds("jose alv")

    def test_the_serial_lookup_is_index_backed(self):
        from mdm.models import Installation

        qs = Installation.objects.filter(meter__serial_number__iexact="EL10000042").values("service_point_id")
        assert uses_index(qs, "meter_serial_upper_idx")

    def test_the_hub_anything_box_finds_the_meter(self, client, csr, metered):
        from django.urls import reverse

        client.force_login(csr)
        page = client.get(reverse("cis:search"), {"q": "el10000042"}).content.decode()
        assert "7300000042" in page and "7300000043" not in page
        assert "<td>Meter number</td>" in page  # "Matched on" names the provider's kind


class TestPartialAccountNumber:
    def test_digits_without_the_leading_zeros_find_the_account_first(self):
        exact = AccountFactory(account_number="0000104542")
        longer = AccountFactory(account_number="0001045421")
        AccountFactory(account_number="0000204542")

        hits = search_accounts("104542")

        assert numbers(hits) == [exact.account_number, longer.account_number]
        assert hits[0].matched_on == "account"

    def test_prefixes_with_and_without_zeros_keep_working(self):
        a = AccountFactory(account_number="0000104542")
        b = AccountFactory(account_number="0000104543")
        AccountFactory(account_number="0001045400")

        assert numbers(search_accounts("0000104")) == [a.account_number, b.account_number]
        assert numbers(search_accounts("0000104542")) == [a.account_number]
        assert numbers(search_accounts("10454", kind="account"))[:2] == [a.account_number, b.account_number]

    def test_the_unpadded_lookup_is_index_backed(self):
        from cis.models import account_number_digits

        qs = Account.objects.annotate(n=account_number_digits()).filter(n__startswith="104542")
        assert uses_index(qs, "account_number_digits_idx")


class TestPastedAddress:
    @pytest.fixture
    def building(self):
        """Suites 107 and 108 of 159 Sydenham Boulevard, and 12 Oak Street."""
        suite_107 = AccountFactory(account_number="7400000107")
        sp = ServicePointFactory(premise=PremiseFactory(address_line1="159 Sydenham Boulevard", address_line2="Suite 107"))
        ServiceAgreementFactory(account=suite_107, service_point=sp, start_date=dt.date(2024, 1, 1))
        suite_108 = AccountFactory(account_number="7400000108")
        sp = ServicePointFactory(premise=PremiseFactory(address_line1="159 Sydenham Boulevard", address_line2="Suite 108"))
        ServiceAgreementFactory(account=suite_108, service_point=sp, start_date=dt.date(2024, 1, 1))
        oak = AccountFactory(account_number="7400000012")
        served_at(oak, "12 Oak Street")
        return suite_107, suite_108, oak

    @pytest.mark.parametrize("typed", [
        "159 Sydenham Boulevard, Suite 107",
        "159 Sydenham Blvd, Suite 107",
        "159 Sydenham Blvd. Apt 107",
        "159 sydenham blvd #107",
        "Suite 107, 159 Sydenham Boulevard",
        "107-159 Sydenham Blvd",
        "159 Sydenham Boulevard, Suite 107, Toronto, ON M4C 1B5",
    ])
    def test_a_pasted_address_finds_the_suite(self, building, typed):
        suite_107, _, _ = building
        hits = search_accounts(typed)
        assert numbers(hits) == [suite_107.account_number]
        assert hits[0].matched_on == "address"

    def test_the_whole_building_is_found_by_its_street_address(self, building):
        suite_107, suite_108, _ = building
        assert set(numbers(search_accounts("159 Sydenham Blvd"))) == {suite_107.account_number, suite_108.account_number}

    @pytest.mark.parametrize("typed", ["12 Oak St.", "12 oak st", "12 Oak Street"])
    def test_street_type_abbreviations_match_either_way(self, building, typed):
        _, _, oak = building
        assert numbers(search_accounts(typed)) == [oak.account_number]

    def test_the_address_words_are_matched_through_the_trigram_index(self):
        from cis.models import Premise
        from cis.selectors.accounts import address_filter

        qs = Premise.objects.filter(address_filter("159 Sydenham Boulevard, Suite 107", "search_address"))
        assert uses_index(qs, "premise_address_trgm")

    def test_the_move_in_finder_finds_a_pasted_address(self, building):
        from cis.selectors import service_points_available

        found = service_points_available(query="159 Sydenham Boulevard, Suite 107")
        assert [sp.premise.address_line2 for sp in found] == ["Suite 107"]
        assert len(service_points_available(query="159 Sydenham Blvd")) == 2
        sp_number = found[0].sp_number
        assert [sp.sp_number for sp in service_points_available(query=sp_number)] == [sp_number]


class TestPages:
    @pytest.fixture
    def thirty(self):
        return [AccountFactory(account_number=f"75000000{n:02d}",
                               customer=CustomerFactory(first_name="Page", last_name=f"Turner{n:02d}"))
                for n in range(30)]

    def test_results_page_through_without_gaps_or_repeats(self, thirty):
        from cis.selectors.accounts import search_accounts_page

        first = search_accounts_page("turner", page=1, per_page=25)
        second = search_accounts_page("turner", page=2, per_page=25)

        assert len(first.hits) == 25 and first.has_next and (first.first_number, first.last_number) == (1, 25)
        assert len(second.hits) == 5 and not second.has_next and (second.first_number, second.last_number) == (26, 30)
        assert sorted(numbers(first.hits) + numbers(second.hits)) == sorted(a.account_number for a in thirty)
        assert numbers(search_accounts("turner", limit=5, offset=25)) == numbers(second.hits)

    def test_the_hub_links_to_the_next_page_and_back(self, client, csr, thirty):
        import re

        from django.urls import reverse

        client.force_login(csr)
        page1 = client.get(reverse("cis:search-results"), {"q": "turner"}).content.decode()
        assert page1.count('<tr>') == 26  # the header row and 25 hits
        next_url = re.search(r'href="([^"]+)" rel="next"', page1).group(1).replace("&amp;", "&")
        assert next_url.startswith(reverse("cis:search") + "?") and "page=2" in next_url and "q=turner" in next_url

        page2 = client.get(next_url).content.decode()
        assert page2.count("<tr>") == 6 and 'rel="next"' not in page2 and 'rel="prev"' in page2
        assert "Accounts 26–30" in page2
