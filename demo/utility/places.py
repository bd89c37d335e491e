"""Where the demo utility serves: streets with house numbers, postal codes, coordinates
and read routes in a few towns, premises and their service points."""
from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from demo.utility import names
from cis.records import PremiseRecord, ServicePointRecord
from demo.utility.draw import Weighted

BILL_CYCLES = [f"C{n:02d}" for n in range(1, 21)]
TOWNS = Weighted([(t, t.weight) for t in names.TOWNS])


@dataclass
class Street:
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


class PlacesMixin:
    """Place-making half of the generator; the builder owns rng, numbers, out and streets."""

    def _postal_code(self, town: names.Town) -> str:
        rng = self.rng
        letters = names.POSTAL_LETTERS
        return f"{rng.choice(town.postal_prefixes)} {rng.randint(0, 9)}{rng.choice(letters)}{rng.randint(0, 9)}"

    def _new_street(self, town: names.Town) -> Street:
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
        step = 0.00012  # about 13 m between house numbers
        return Street(
            town=town, name=name, route="", cycle="",
            lat=town.latitude + rng.uniform(-0.035, 0.035), lon=town.longitude + rng.uniform(-0.05, 0.05),
            # A degree of longitude is ~1.4 times shorter than one of latitude at 44 degrees north.
            dlat=step * math.sin(bearing), dlon=step * math.cos(bearing) * 1.4,
            number=rng.choice((1, 2, 10, 11, 20, 21, 100, 101, 150, 151, 200, 201)),
            capacity=rng.randint(15, 90),
        )

    def _route_for(self, street: Street) -> None:
        # A route covers a few neighbouring streets (about 120 premises) and belongs to one of
        # the 20 bill cycles, as utilities bill a cycle right after reading its routes.
        town = street.town
        count = self.routes[town.code]
        if count == 0 or self.route_left[town.code] <= 0:
            count += 1
            self.routes[town.code] = count
            self.route_left[town.code] = 120
        street.route = f"{town.code}-{count:03d}"
        cycle_index = (sum(ord(c) for c in town.code) + count) % len(BILL_CYCLES)
        street.cycle = BILL_CYCLES[cycle_index]

    def _address(self, *, big: bool = False) -> tuple[Street, str, str, Decimal, Decimal]:
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
                 city: str, postal_code: str, lat, lon, parent: PremiseRecord | None = None,
                 meter_chamber: str = "") -> PremiseRecord:
        premise = PremiseRecord(
            premise_number=f"P{self._number('premise'):08d}", premise_type=premise_type,
            address_line1=line1, address_line2=line2, city=city,
            region="ON", postal_code=postal_code, latitude=lat, longitude=lon,
            parent=parent, meter_chamber=meter_chamber,
        )
        self.out.premises.append(premise)
        return premise

    def _service_point(self, premise: PremiseRecord, commodity: str, rate_class: str, street: Street | None,
                       route: str | None = None) -> ServicePointRecord:
        if street is not None:
            street.sequence += 10
            route, sequence = street.route, street.sequence
        else:
            sequence = 10
        sp = ServicePointRecord(
            sp_number=f"SP{self._number('sp'):08d}", premise=premise, commodity=commodity,
            route=route or "", read_sequence=sequence, rate_class=rate_class,
        )
        self.out.service_points.append(sp)
        return sp
