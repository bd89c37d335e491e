"""Builds the demo utility as cis conversion records (cis.records) linked by Python
references, with no database access, so the same (accounts, seed, today) always yields the
same graph and the loader can hand it to cis's conversion load in one pass.

The shape: streets in a few towns fill with houses, apartment buildings (a building premise
with suite premises in its meter rooms), shops and plants; each premise gets service points
by commodity, a read route and sequence; then each premise is occupied by one or more
tenants in turn (closed accounts with ended agreements, then the current one). A few premises
are vacant, some with a future move-in waiting; a few current tenants have a future move-out
waiting. Property managers and store chains hold summary (parent) accounts over child
accounts; each town's streetlights are billed to the municipality."""
from __future__ import annotations

import datetime as dt
import gc
import random
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal


from demo.utility import names
from demo.utility.draw import Weighted
from demo.utility.people import PeopleMixin
from demo.utility.places import BILL_CYCLES, PlacesMixin, Street
from cis.records import (
    AccountRecord,
    AccountStatus,
    AgreementRecord,
    Commodity,
    CustomerKind,
    CustomerRecord,
    MoveKind,
    MoveRecord,
    MoveStatus,
    PremiseRecord,
    PremiseType,
    ServicePointRecord,
)

# Demo numbers live below the service sequences (which start at 1000001), so a demo database
# never collides with numbers the services hand out; the loader moves a sequence past the
# demo's numbers only if a very large demo runs into that range.
DEMO_NUMBER_BASE = 100001
MIN_ACCOUNTS = 20

RES = "residential"
COM = "commercial"
IND = "industrial"
SL = "streetlight"

# Rate codes by (commodity, rate class); residential electric picks tiered or TOU per tenant.
RATE_CODES = {
    (Commodity.WATER, RES): "WATER-RES",
    (Commodity.WATER, COM): "WATER-COM",
    (Commodity.WATER, IND): "WATER-COM",
    (Commodity.GAS, RES): "GAS-RES",
    (Commodity.GAS, COM): "GAS-COM",
    (Commodity.GAS, IND): "GAS-COM",
    (Commodity.SEWER, RES): "SEWER-RES",
    (Commodity.SEWER, COM): "SEWER-COM",
    (Commodity.SEWER, IND): "SEWER-COM",
    (Commodity.ELECTRIC, COM): "GS-FLAT",
    (Commodity.ELECTRIC, IND): "GS-DEMAND",
    (Commodity.STREETLIGHT, SL): "STREETLIGHT",
}

SLOT_WEIGHTS = [("house", 62), ("suite", 26), ("commercial", 9), ("industrial", 3)]
# The first slots are fixed so even a tiny demo has every premise type and both kinds of
# pending move (a house whose tenant is leaving, a vacant suite and house with a move-in).
FIRST_SLOTS = [("house", "move_out"), ("suite", "move_in"), ("commercial", None), ("industrial", None),
               ("house", "move_in"), ("suite", None)]
HISTORY_LENGTHS = [(1, 75), (2, 17), (3, 6), (4, 2)]


@dataclass
class DemoUtility:
    customers: list[CustomerRecord] = field(default_factory=list)
    premises: list[PremiseRecord] = field(default_factory=list)
    service_points: list[ServicePointRecord] = field(default_factory=list)
    accounts: list[AccountRecord] = field(default_factory=list)
    agreements: list[AgreementRecord] = field(default_factory=list)
    moves: list[MoveRecord] = field(default_factory=list)


@dataclass
class _Building:
    premise: PremiseRecord
    account: AccountRecord
    suites: deque  # (premise, [service points]) not yet occupied
    since: dt.date




SLOTS = Weighted(SLOT_WEIGHTS)
HISTORY = Weighted(HISTORY_LENGTHS)


class _Builder(PeopleMixin, PlacesMixin):
    def __init__(self, *, accounts: int, seed: int, today: dt.date):
        self.rng = random.Random(seed)
        self.today = today
        self.remaining = accounts
        self.out = DemoUtility()
        self.counters = {k: DEMO_NUMBER_BASE for k in ("customer", "account", "agreement", "premise", "sp")}
        self.streets: dict[str, Street] = {}
        self.street_names: dict[str, set[str]] = {t.name: set() for t in names.TOWNS}
        self.routes: dict[str, int] = {t.code: 0 for t in names.TOWNS}
        self.route_left: dict[str, int] = {t.code: 0 for t in names.TOWNS}
        self.emails: dict[str, int] = {}
        self.movers: deque = deque()
        self.buildings: deque[_Building] = deque()
        self.managers: list[AccountRecord] = []
        self.chains: list[AccountRecord] = []
        self.building_count = 0

    # -- numbers ---------------------------------------------------------------------------
    def _number(self, kind: str) -> int:
        value = self.counters[kind]
        self.counters[kind] = value + 1
        return value

    # -- dates -----------------------------------------------------------------------------
    def _days_ago(self, low: int, high: int) -> dt.date:
        return self.today - dt.timedelta(days=self.rng.randint(low, high))

    def _days_ahead(self, low: int, high: int) -> dt.date:
        return self.today + dt.timedelta(days=self.rng.randint(low, high))

    def _account(self, customer: CustomerRecord, *, opened: dt.date, cycle: str, parent: AccountRecord | None = None,
                 status: str = AccountStatus.ACTIVE) -> AccountRecord:
        self.remaining -= 1
        account = AccountRecord(
            account_number=f"{self._number('account'):010d}", customer=customer, status=status,
            parent=parent, bill_cycle_code=parent.bill_cycle_code if parent is not None else cycle,
            opened_date=opened,
        )
        self.out.accounts.append(account)
        return account

    def _agree(self, account: AccountRecord, sp: ServicePointRecord, rate_code: str, start: dt.date, end: dt.date | None):
        agreement = AgreementRecord(
            agreement_number=f"SA{self._number('agreement'):08d}", account=account, service_point=sp,
            rate_code=rate_code, start_date=start, end_date=end,
        )
        self.out.agreements.append(agreement)
        return agreement

    # -- the utility ---------------------------------------------------------------------------
    def build(self) -> DemoUtility:
        self._summary_accounts()
        slot = 0
        while self.remaining > 0:
            kind, final = FIRST_SLOTS[slot] if slot < len(FIRST_SLOTS) else (SLOTS.pick(self.rng), None)
            slot += 1
            if kind == "house":
                self._house(final)
            elif kind == "suite":
                self._suite(final)
            else:
                self._business(industrial=kind == "industrial")
        # Suites of the last building that nobody rented: the property manager holds them.
        for building in self.buildings:
            for premise, sps in building.suites:
                for sp in sps:
                    self._agree(building.account, sp, "RES-TIERED", building.since, None)
        self._billing_addresses()
        return self.out

    def _summary_accounts(self) -> None:
        accounts = self.remaining
        if accounts < MIN_ACCOUNTS:
            raise ValueError(f"A demo utility needs at least {MIN_ACCOUNTS} accounts.")
        # Streetlights: one district per town for the first one or two towns, billed to the town.
        for town in names.TOWNS[: 2 if accounts >= 50 else 1]:
            municipality = self._organisation(
                f"Corporation of the City of {town.name}",
                (f"{self.rng.randint(1, 300)} {self.rng.choice(names.STREET_NAMES)} Street", "", town.name, town.region,
                 self._postal_code(town)),
                email_local="finance",
            )
            district = self._premise(
                premise_type=PremiseType.STREETLIGHT_DISTRICT,
                line1=f"Streetlight District {town.code}-1", line2=f"{town.name} urban area",
                city=town.name, postal_code=self._postal_code(town),
                lat=Decimal(f"{town.latitude:.6f}"), lon=Decimal(f"{town.longitude:.6f}"),
            )
            sp = self._service_point(district, Commodity.STREETLIGHT, SL, None, route=f"{town.code}-SL")
            opened = self._days_ago(3650, 4380)
            account = self._account(municipality, opened=opened, cycle=BILL_CYCLES[-1])
            self._agree(account, sp, RATE_CODES[(Commodity.STREETLIGHT, SL)], opened, None)
        for name in names.PROPERTY_MANAGERS[: 1 + accounts // 5000]:
            org = self._organisation(name, self._head_office(), email_local="utilities")
            self.managers.append(self._account(org, opened=self._days_ago(4400, 4800), cycle=self.rng.choice(BILL_CYCLES)))
        for name in names.CHAINS[: 1 + accounts // 8000]:
            org = self._organisation(name, self._head_office(), email_local="ap")
            self.chains.append(self._account(org, opened=self._days_ago(4400, 4800), cycle=self.rng.choice(BILL_CYCLES)))

    def _history_length(self) -> int:
        return min(HISTORY.pick(self.rng), self.remaining)

    def _house(self, final: str | None = None) -> None:
        rng = self.rng
        street, line1, postal, lat, lon = self._address()
        premise = self._premise(premise_type=PremiseType.HOUSE, line1=line1,
                                city=street.town.name, postal_code=postal, lat=lat, lon=lon)
        sps = [self._service_point(premise, Commodity.ELECTRIC, RES, street)]
        if rng.random() < 0.85:
            sps.append(self._service_point(premise, Commodity.WATER, RES, street))
            if street.town.sewer:
                sps.append(self._service_point(premise, Commodity.SEWER, RES, street))
        if rng.random() < 0.5:
            sps.append(self._service_point(premise, Commodity.GAS, RES, street))
        self._occupy(premise, sps, RES, street.cycle, since=self._days_ago(120, 4380), final=final)

    def _suite(self, final: str | None = None) -> None:
        if not self.buildings or not self.buildings[0].suites:
            if self.buildings:
                self.buildings.popleft()
            if self.remaining < 2:  # no room for the building's own account: a house instead
                self._house(final)
                return
            self._building()
        building = self.buildings[0]
        premise, sps = building.suites.popleft()
        cycle = building.account.bill_cycle_code
        self._occupy(premise, sps, RES, cycle, since=building.since, landlord=building.account, final=final)

    def _building(self) -> None:
        rng = self.rng
        street, line1, postal, lat, lon = self._address(big=True)
        self.building_count += 1
        chamber = f"EMR-B{self.building_count}"
        building = self._premise(premise_type=PremiseType.APARTMENT_BUILDING, line1=line1,
                                 city=street.town.name, postal_code=postal, lat=lat, lon=lon,
                                 meter_chamber=chamber)
        since = self._days_ago(400, 4380)
        electric = self._service_point(building, Commodity.ELECTRIC, COM, street)
        water = self._service_point(building, Commodity.WATER, COM, street)
        manager = self.managers[(self.building_count - 1) % len(self.managers)]
        account = self._account(manager.customer, opened=since, cycle=street.cycle, parent=manager)
        self._agree(account, electric, "GS-DEMAND", since, None)
        self._agree(account, water, RATE_CODES[(Commodity.WATER, COM)], since, None)
        floors, per_floor = rng.randint(3, 12), rng.randint(4, 10)
        suites = deque()
        for floor in range(1, floors + 1):
            # Tall buildings split their suite meters between two meter rooms.
            room = f"{chamber}-{1 if floors <= 6 or floor <= floors // 2 else 2}"
            for unit in range(1, per_floor + 1):
                suite = self._premise(
                    premise_type=PremiseType.SUITE, line1=line1,
                    line2=f"Suite {floor}{unit:02d}", city=street.town.name, postal_code=postal,
                    lat=lat, lon=lon, parent=building, meter_chamber=room,
                )
                suites.append((suite, [self._service_point(suite, Commodity.ELECTRIC, RES, street)]))
        self.buildings.append(_Building(building, account, suites, since))

    def _business(self, *, industrial: bool) -> None:
        rng = self.rng
        street, line1, postal, lat, lon = self._address(big=True)
        rate_class = IND if industrial else COM
        unit = f"Unit {rng.randint(1, 12)}" if not industrial and rng.random() < 0.4 else ""
        premise = self._premise(
            premise_type=PremiseType.INDUSTRIAL if industrial else PremiseType.COMMERCIAL,
            line1=line1, line2=unit, city=street.town.name, postal_code=postal, lat=lat, lon=lon,
        )
        sps = [self._service_point(premise, Commodity.ELECTRIC, rate_class, street)]
        if rng.random() < (0.95 if industrial else 0.8):
            sps.append(self._service_point(premise, Commodity.WATER, rate_class, street))
            if street.town.sewer:
                sps.append(self._service_point(premise, Commodity.SEWER, rate_class, street))
        if rng.random() < (0.7 if industrial else 0.4):
            sps.append(self._service_point(premise, Commodity.GAS, rate_class, street))
        self._occupy(premise, sps, rate_class, street.cycle, since=self._days_ago(200, 4380))

    def _rates(self, sps: list[ServicePointRecord], rate_class: str) -> list[str]:
        codes = []
        for sp in sps:
            if sp.commodity == Commodity.ELECTRIC and rate_class == RES:
                codes.append("RES-TOU" if self.rng.random() < 0.4 else "RES-TIERED")
            elif sp.commodity == Commodity.ELECTRIC and rate_class == COM and self.rng.random() < 0.3:
                codes.append("GS-DEMAND")  # the larger shops are demand-metered
            else:
                codes.append(RATE_CODES[(sp.commodity, rate_class)])
        return codes

    def _tenant(self, premise: PremiseRecord, rate_class: str, opened: dt.date, cycle: str,
                status: str = AccountStatus.ACTIVE, allow_chain: bool = True) -> AccountRecord:
        address = (premise.address_line1, premise.address_line2, premise.city, premise.region, premise.postal_code)
        if rate_class == RES:
            # Someone who left another premise of ours before `opened` can move in here.
            if self.movers and self.movers[0][1] < opened and self.rng.random() < 0.6:
                customer, _ = self.movers.popleft()
                self._set_mailing(customer, address)
            else:
                customer = self._person(address)
            return self._account(customer, opened=opened, cycle=cycle, status=status)
        if rate_class == COM and allow_chain and self.chains and self.rng.random() < 0.25:
            chain = self.rng.choice(self.chains)
            return self._account(chain.customer, opened=opened, cycle=cycle, parent=chain, status=status)
        customer = self._organisation(self._business_name(rate_class == IND), address,
                                      email_local=self.rng.choice(("info", "accounts", "office")))
        return self._account(customer, opened=opened, cycle=cycle, status=status)

    def _occupy(self, premise: PremiseRecord, sps: list[ServicePointRecord], rate_class: str, cycle: str, *,
                since: dt.date, landlord: AccountRecord | None = None, final: str | None = None) -> None:
        """Tenants one after another at `premise` from `since` to today, then the final state:
        occupied, occupied with a move-out waiting, or vacant (with a move-in waiting, sometimes)."""
        rng = self.rng
        last_day = self.today - dt.timedelta(days=14)
        tenants = 1 if final == "move_in" else self._history_length()
        span = (last_day - since).days
        if span < 60 * tenants:
            tenants = 1
        cuts = sorted(rng.sample(range(30, span - 29), tenants - 1)) if tenants > 1 else []
        cuts = [c for i, c in enumerate(cuts) if i == 0 or c - cuts[i - 1] >= 30]
        starts = [since] + [since + dt.timedelta(days=c) for c in cuts]
        roll = rng.random()
        if final is not None:
            roll = 0.0 if final == "move_in" else 0.051
        vacant = roll < 0.05 and (self.today - starts[-1]).days > 45
        # Pending moves are rare (a few hundred in 100,000 accounts, as in a real month's
        # queue); each needs a read order from service_orders, created one by one.
        move_out_pending = 0.05 <= roll < 0.052
        for i, start in enumerate(starts):
            current = i == len(starts) - 1
            end = None if current else starts[i + 1]
            if current and vacant:
                end = start + dt.timedelta(days=rng.randint(30, (self.today - start).days - 1))
            status = AccountStatus.ACTIVE if end is None else AccountStatus.CLOSED
            account = self._tenant(premise, rate_class, start, cycle, status)
            if end is not None:
                account.closed_date = end
                if account.parent is None and account.customer.kind == CustomerKind.PERSON:
                    if rng.random() < 0.35:
                        self.movers.append((account.customer, end))
                    else:
                        self._set_mailing(account.customer, self._forwarding_address())
            agreements = [self._agree(account, sp, code, start, end) for sp, code in zip(sps, self._rates(sps, rate_class))]
            if current and move_out_pending and end is None:
                effective = self._days_ahead(3, 60)
                for agreement in agreements:
                    self.out.moves.append(MoveRecord(
                        kind=MoveKind.MOVE_OUT, status=MoveStatus.PENDING, account=account,
                        service_point=agreement.service_point, effective_date=effective, agreement=agreement,
                        outcome=(f"Pending: agreement {agreement.agreement_number} will stop on "
                                 f"{effective:%Y-%m-%d}; a final read is ordered for that day."),
                    ))
        if not vacant:
            return
        if landlord is not None:
            # A suite between tenants is the property manager's to pay for.
            for sp in sps:
                self._agree(landlord, sp, "RES-TIERED", end, None)
        if self.remaining > 0 and (rng.random() < 0.06 or final == "move_in"):
            effective = self._days_ahead(2, 45)
            account = self._tenant(premise, rate_class, effective, cycle, AccountStatus.PENDING, allow_chain=False)
            for sp, code in zip(sps, self._rates(sps, rate_class)):
                self.out.moves.append(MoveRecord(
                    kind=MoveKind.MOVE_IN, status=MoveStatus.PENDING, account=account, service_point=sp,
                    effective_date=effective, rate_code=code,
                    outcome=f"Pending: service starts on {effective:%Y-%m-%d}; an initial read is ordered.",
                ))

    def _billing_addresses(self) -> None:
        # As account_open does: the bill goes to the customer's mailing address; for a closed
        # account that is where the customer moved to, so the final bill follows them.
        for account in self.out.accounts:
            c = account.customer
            account.billing_address_line1 = c.mailing_address_line1
            account.billing_address_line2 = c.mailing_address_line2
            account.billing_city = c.mailing_city
            account.billing_region = c.mailing_region
            account.billing_postal_code = c.mailing_postal_code
            account.billing_country = c.mailing_country


def demo_utility_generate(*, accounts: int, seed: int, today: dt.date) -> DemoUtility:
    """The demo utility with exactly `accounts` accounts, the same for the same arguments.
    Raises ValueError when `accounts` is below MIN_ACCOUNTS."""
    # Hundreds of thousands of long-lived objects: the cyclic collector would rescan them all
    # again and again while they pile up, and none of them is garbage.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _Builder(accounts=accounts, seed=seed, today=today).build()
    finally:
        if collecting:
            gc.enable()
