"""Builds the demo utility as unsaved model instances linked by Python references, with no
database access, so the same (accounts, seed, today) always yields the same graph and the
loader can write it in one pass.

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
import itertools
import math
import random
import re
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models.base import ModelState
from unidecode import unidecode

from cis.demo import names
from cis.models import Account, Commodity, Customer, Move, Premise, ServiceAgreement, ServicePoint

# Demo numbers live below the service sequences (which start at 1000001), so a demo database
# never collides with numbers the services hand out; the loader moves a sequence past the
# demo's numbers only if a very large demo runs into that range.
DEMO_NUMBER_BASE = 100001
BILL_CYCLES = [f"C{n:02d}" for n in range(1, 21)]
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
    customers: list[Customer] = field(default_factory=list)
    premises: list[Premise] = field(default_factory=list)
    service_points: list[ServicePoint] = field(default_factory=list)
    accounts: list[Account] = field(default_factory=list)
    agreements: list[ServiceAgreement] = field(default_factory=list)
    moves: list[Move] = field(default_factory=list)


@dataclass
class _Street:
    town: names.Town
    name: str
    route: str
    cycle: str
    lat: float
    lon: float
    dlat: float
    dlon: float
    number: int
    houses: int = 0
    capacity: int = 0
    postal_code: str = ""
    postal_left: int = 0
    sequence: int = 0


@dataclass
class _Building:
    premise: Premise
    account: Account
    suites: deque  # (premise, [service points]) not yet occupied
    since: dt.date


_NAME_NOISE = {"the", "of", "and", "s", "inc", "ltd", "ltee", "co", "corp", "sons", "enterprises", "corporation"}


class _Weighted:
    """Draws one of `pairs` (value, weight) by weight, cumulative weights computed once."""

    def __init__(self, pairs):
        self.values = [v for v, _ in pairs]
        self.cumulative = list(itertools.accumulate(w for _, w in pairs))

    def pick(self, rng: random.Random):
        return rng.choices(self.values, cum_weights=self.cumulative)[0]


SLOTS = _Weighted(SLOT_WEIGHTS)
HISTORY = _Weighted(HISTORY_LENGTHS)
NAME_GROUPS = _Weighted([(g, w) for g, w, _ in names.NAME_GROUPS])
TOWNS = _Weighted([(t, t.weight) for t in names.TOWNS])


_DEFAULTS: dict[type, dict] = {}
_RELATIONS: dict[type, dict[str, str]] = {}


def _make(model, **values):
    """An unsaved instance of `model`, built without Model.__init__: the demo creates about
    650,000 of them and __init__'s per-field keyword handling was half the generation time.
    Related objects are held in the instance's relation cache (as assigning them would do);
    the loader turns them into ids once every row has its primary key."""
    if model not in _DEFAULTS:
        fields = model._meta.concrete_fields
        _DEFAULTS[model] = {f.attname: f.get_default() for f in fields}
        _RELATIONS[model] = {f.name: f.attname for f in fields if f.is_relation}
    obj = model.__new__(model)
    obj._state = ModelState()
    obj.__dict__.update(_DEFAULTS[model])
    relations = _RELATIONS[model]
    for name, value in values.items():
        if name in relations:
            if value is not None:
                obj._state.fields_cache[name] = value
        else:
            obj.__dict__[name] = value
    return obj


class _Builder:
    def __init__(self, *, accounts: int, seed: int, today: dt.date):
        self.rng = random.Random(seed)
        self.today = today
        self.remaining = accounts
        self.out = DemoUtility()
        self.counters = {k: DEMO_NUMBER_BASE for k in ("customer", "account", "agreement", "premise", "sp")}
        self.streets: dict[str, _Street] = {}
        self.street_names: dict[str, set[str]] = {t.name: set() for t in names.TOWNS}
        self.routes: dict[str, int] = {t.code: 0 for t in names.TOWNS}
        self.route_left: dict[str, int] = {t.code: 0 for t in names.TOWNS}
        self.emails: dict[str, int] = {}
        self.movers: deque = deque()
        self.buildings: deque[_Building] = deque()
        self.managers: list[Account] = []
        self.chains: list[Account] = []
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

    # -- people and organisations ------------------------------------------------------------
    def _phone(self) -> str:
        area = self.rng.choice(("613", "613", "613", "343"))
        exchange = self.rng.randint(200, 989)
        line = self.rng.randint(0, 9999)
        style = self.rng.random()
        if style < 0.6:
            return f"{area}-{exchange}-{line:04d}"
        if style < 0.9:
            return f"({area}) {exchange}-{line:04d}"
        return f"+1 {area} {exchange} {line:04d}"

    def _email(self, local: str, domain: str) -> str:
        local = re.sub(r"[^a-z0-9.]+", "", unidecode(local).lower()).strip(".") or "customer"
        key = f"{local}@{domain}"
        seen = self.emails.get(key, 0)
        self.emails[key] = seen + 1
        return key if seen == 0 else f"{local}{seen + 1}@{domain}"

    def _person(self, address: tuple) -> Customer:
        rng = self.rng
        group = NAME_GROUPS.pick(rng)
        language = next(lang for g, _, lang in names.NAME_GROUPS if g == group)
        # Mixed households and married names: a quarter of surnames come from any group.
        surname_group = group if rng.random() < 0.75 else rng.choice(list(names.LAST_NAMES))
        first = rng.choice(names.FIRST_NAMES[group])
        last = rng.choice(names.LAST_NAMES[surname_group])
        id_type, id_number = "", ""
        roll = rng.random()
        if roll < 0.45:
            id_type = Customer.IdType.DRIVERS_LICENCE
            letter = unidecode(last)[0].upper()
            id_number = f"{letter}{rng.randint(0, 9999):04d}-{rng.randint(0, 99999):05d}-{rng.randint(0, 99999):05d}"
        elif roll < 0.60:
            id_type = Customer.IdType.HEALTH_CARD
            id_number = (f"{rng.randint(1000, 9999)}-{rng.randint(0, 999):03d}-{rng.randint(0, 999):03d}-"
                         f"{rng.choice(names.POSTAL_LETTERS)}{rng.choice(names.POSTAL_LETTERS)}")
        elif roll < 0.70:
            id_type = Customer.IdType.PASSPORT
            id_number = f"{rng.choice('ABGHJKLMP')}{rng.choice('ABCEGHJK')}{rng.randint(0, 999999):06d}"
        email = ""
        if rng.random() < 0.85:
            sep = rng.choice((".", "", "_")) if rng.random() < 0.8 else "."
            local = f"{first}{sep}{last}" if rng.random() < 0.7 else f"{first[0]}{last}"
            email = self._email(local.replace("_", "."), rng.choice(names.EMAIL_DOMAINS))
        phone = self._phone()
        customer = _make(Customer,
            customer_number=f"C{self._number('customer'):08d}", kind=Customer.Kind.PERSON,
            first_name=first, last_name=last, id_type=id_type, id_number=id_number,
            phone=phone, phone_alt=self._phone() if rng.random() < 0.15 else "", email=email,
            preferred_language=language if rng.random() < 0.8 else Customer.Language.EN,
            preferred_contact_method=(
                Customer.ContactMethod.EMAIL if email and rng.random() < 0.7
                else rng.choice((Customer.ContactMethod.PHONE, Customer.ContactMethod.SMS, Customer.ContactMethod.MAIL))
            ),
        )
        self._set_mailing(customer, address)
        self.out.customers.append(customer)
        return customer

    def _organisation(self, name: str, address: tuple, email_local: str = "accounts") -> Customer:
        rng = self.rng
        # The domain is the name's first two words that say something ("City of Kingston
        # Corporation" -> citykingston.example.ca): short enough to type into a search.
        words = [w for w in re.split(r"[^a-z0-9]+", unidecode(name).lower()) if w and w not in _NAME_NOISE]
        slug = "".join(words[:2]) or "business"
        customer = _make(Customer,
            customer_number=f"C{self._number('customer'):08d}", kind=Customer.Kind.ORGANISATION,
            organisation_name=name, phone=self._phone(),
            email=self._email(email_local, f"{slug}.example.ca"),
            id_type=Customer.IdType.BUSINESS_NUMBER if rng.random() < 0.9 else "",
            preferred_contact_method=Customer.ContactMethod.EMAIL,
        )
        if customer.id_type:
            customer.id_number = f"{rng.randint(100000000, 999999999)} RT{rng.randint(1, 3):04d}"
        self._set_mailing(customer, address)
        self.out.customers.append(customer)
        return customer

    @staticmethod
    def _set_mailing(customer: Customer, address: tuple) -> None:
        (customer.mailing_address_line1, customer.mailing_address_line2, customer.mailing_city,
         customer.mailing_region, customer.mailing_postal_code) = address

    def _business_name(self, industrial: bool) -> str:
        rng = self.rng
        if industrial:
            return f"{rng.choice(names.INDUSTRY_WORDS)} {rng.choice(names.INDUSTRY_KINDS)} {rng.choice(('Inc.', 'Ltd.', 'Corp.'))}"
        owner = rng.choice(names.LAST_NAMES[NAME_GROUPS.pick(rng)])
        base = rng.choice((f"{owner}'s", owner, rng.choice(names.INDUSTRY_WORDS), rng.choice(names.STREET_NAMES)))
        return " ".join(p for p in (base, rng.choice(names.BUSINESS_KINDS), rng.choice(names.BUSINESS_SUFFIXES)) if p)

    # -- places ----------------------------------------------------------------------------
    def _postal_code(self, town: names.Town) -> str:
        rng = self.rng
        letters = names.POSTAL_LETTERS
        return f"{rng.choice(town.postal_prefixes)} {rng.randint(0, 9)}{rng.choice(letters)}{rng.randint(0, 9)}"

    def _new_street(self, town: names.Town) -> _Street:
        rng = self.rng
        taken = self.street_names[town.name]
        for attempt in range(200):
            name = f"{rng.choice(names.STREET_NAMES)} {rng.choice(names.STREET_TYPES)}"
            if attempt > 20:  # the town has run out of plain names: new subdivisions
                name += " " + rng.choice(("East", "West", "North", "South"))
            if attempt > 100:
                name = f"{rng.choice(names.STREET_NAMES)} {rng.choice(names.STREET_NAMES)} {rng.choice(names.STREET_TYPES)}"
            if name not in taken:
                break
        taken.add(name)
        bearing = rng.uniform(0, 2 * math.pi)
        step = 0.00012
        return _Street(
            town=town, name=name, route="", cycle="",
            lat=town.latitude + rng.uniform(-0.035, 0.035), lon=town.longitude + rng.uniform(-0.05, 0.05),
            dlat=step * math.sin(bearing), dlon=step * math.cos(bearing) * 1.4,
            number=rng.choice((1, 2, 10, 11, 20, 21, 100, 101, 150, 151, 200, 201)),
            capacity=rng.randint(15, 90),
        )

    def _route_for(self, street: _Street) -> None:
        # A route covers a few neighbouring streets (about 120 premises); its bill cycle is
        # the one after the read, as utilities schedule billing behind meter reading.
        town = street.town
        count = self.routes[town.code]
        if count == 0 or self.route_left[town.code] <= 0:
            count += 1
            self.routes[town.code] = count
            self.route_left[town.code] = 120
        street.route = f"{town.code}-{count:03d}"
        cycle_index = (sum(ord(c) for c in town.code) + count) % len(BILL_CYCLES)
        street.cycle = BILL_CYCLES[cycle_index]

    def _address(self, *, big: bool = False) -> tuple[_Street, str, str, Decimal, Decimal]:
        """The next street address: (street, line1, postal code, latitude, longitude)."""
        rng = self.rng
        town = TOWNS.pick(rng)
        street = self.streets.get(town.name)
        if street is None or street.houses >= street.capacity:
            street = self._new_street(town)
            self.streets[town.name] = street
        if street.postal_left <= 0:
            street.postal_code = self._postal_code(town)
            street.postal_left = rng.randint(8, 30)
        if not street.route or self.route_left[town.code] <= 0:
            self._route_for(street)
        self.route_left[town.code] -= 1
        street.postal_left -= 1
        street.houses += 1
        number = street.number
        street.number += rng.choice((2, 2, 2, 4, 6)) * (5 if big else 1)
        lat = street.lat + street.dlat * street.houses
        lon = street.lon + street.dlon * street.houses
        return (street, f"{number} {street.name}", street.postal_code,
                Decimal(f"{lat:.6f}"), Decimal(f"{lon:.6f}"))

    def _forwarding_address(self) -> tuple:
        """Where a customer who left the service area gets the final bill."""
        rng = self.rng
        town = rng.choice(names.TOWNS + [
            names.Town("Ottawa", "OTT", "ON", ("K1P", "K1S", "K2A"), 45.42, -75.69, 0, False),
            names.Town("Toronto", "TOR", "ON", ("M4C", "M5V", "M6K"), 43.65, -79.38, 0, False),
            names.Town("Montréal", "MTL", "QC", ("H2X", "H3B", "H2T"), 45.50, -73.57, 0, False),
        ])
        line1 = f"{rng.randint(1, 2400)} {rng.choice(names.STREET_NAMES)} {rng.choice(names.STREET_TYPES)}"
        line2 = f"Apt {rng.randint(1, 30)}{rng.randint(1, 20):02d}" if rng.random() < 0.3 else ""
        return (line1, line2, town.name, town.region, self._postal_code(town))

    def _premise(self, *, premise_type: str, line1: str, line2: str = "",
                 city: str, postal_code: str, lat, lon, parent: Premise | None = None,
                 meter_chamber: str = "") -> Premise:
        premise = _make(Premise,
            premise_number=f"P{self._number('premise'):08d}", premise_type=premise_type,
            address_line1=line1, address_line2=line2, city=city,
            region="ON", postal_code=postal_code, latitude=lat, longitude=lon,
            parent=parent, meter_chamber=meter_chamber,
        )
        self.out.premises.append(premise)
        return premise

    def _service_point(self, premise: Premise, commodity: str, rate_class: str, street: _Street | None,
                       route: str | None = None) -> ServicePoint:
        if street is not None:
            street.sequence += 10
            route, sequence = street.route, street.sequence
        else:
            sequence = 10
        sp = _make(ServicePoint,
            sp_number=f"SP{self._number('sp'):08d}", premise=premise, commodity=commodity,
            route=route or "", read_sequence=sequence, rate_class=rate_class,
        )
        self.out.service_points.append(sp)
        return sp

    def _account(self, customer: Customer, *, opened: dt.date, cycle: str, parent: Account | None = None,
                 status: str = Account.Status.ACTIVE) -> Account:
        self.remaining -= 1
        account = _make(Account,
            account_number=f"{self._number('account'):010d}", customer=customer, status=status,
            parent=parent, bill_cycle_code=parent.bill_cycle_code if parent is not None else cycle,
            opened_date=opened,
        )
        self.out.accounts.append(account)
        return account

    def _agree(self, account: Account, sp: ServicePoint, rate_code: str, start: dt.date, end: dt.date | None):
        agreement = _make(ServiceAgreement,
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
                premise_type=Premise.PremiseType.STREETLIGHT_DISTRICT,
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

    def _head_office(self) -> tuple:
        town = names.TOWNS[self.rng.randrange(2)]
        line1 = f"{self.rng.randint(100, 1500)} {self.rng.choice(names.STREET_NAMES)} Street"
        return (line1, f"Suite {self.rng.randint(1, 9)}00", town.name, town.region, self._postal_code(town))

    def _history_length(self) -> int:
        return min(HISTORY.pick(self.rng), self.remaining)

    def _house(self, final: str | None = None) -> None:
        rng = self.rng
        street, line1, postal, lat, lon = self._address()
        premise = self._premise(premise_type=Premise.PremiseType.HOUSE, line1=line1,
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
        building = self._premise(premise_type=Premise.PremiseType.APARTMENT_BUILDING, line1=line1,
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
                    premise_type=Premise.PremiseType.SUITE, line1=line1,
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
            premise_type=Premise.PremiseType.INDUSTRIAL if industrial else Premise.PremiseType.COMMERCIAL,
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

    def _rates(self, sps: list[ServicePoint], rate_class: str) -> list[str]:
        codes = []
        for sp in sps:
            if sp.commodity == Commodity.ELECTRIC and rate_class == RES:
                codes.append("RES-TOU" if self.rng.random() < 0.4 else "RES-TIERED")
            elif sp.commodity == Commodity.ELECTRIC and rate_class == COM and self.rng.random() < 0.3:
                codes.append("GS-DEMAND")  # the larger shops are demand-metered
            else:
                codes.append(RATE_CODES[(sp.commodity, rate_class)])
        return codes

    def _tenant(self, premise: Premise, rate_class: str, opened: dt.date, cycle: str,
                status: str = Account.Status.ACTIVE, allow_chain: bool = True) -> Account:
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

    def _occupy(self, premise: Premise, sps: list[ServicePoint], rate_class: str, cycle: str, *,
                since: dt.date, landlord: Account | None = None, final: str | None = None) -> None:
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
            status = Account.Status.ACTIVE if end is None else Account.Status.CLOSED
            account = self._tenant(premise, rate_class, start, cycle, status)
            if end is not None:
                account.closed_date = end
                if account.parent is None and account.customer.kind == Customer.Kind.PERSON:
                    if rng.random() < 0.35:
                        self.movers.append((account.customer, end))
                    else:
                        self._set_mailing(account.customer, self._forwarding_address())
            agreements = [self._agree(account, sp, code, start, end) for sp, code in zip(sps, self._rates(sps, rate_class))]
            if current and move_out_pending and end is None:
                effective = self._days_ahead(3, 60)
                for agreement in agreements:
                    self.out.moves.append(_make(Move,
                        kind=Move.Kind.MOVE_OUT, status=Move.Status.PENDING, account=account,
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
            account = self._tenant(premise, rate_class, effective, cycle, Account.Status.PENDING, allow_chain=False)
            for sp, code in zip(sps, self._rates(sps, rate_class)):
                self.out.moves.append(_make(Move,
                    kind=Move.Kind.MOVE_IN, status=Move.Status.PENDING, account=account, service_point=sp,
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
