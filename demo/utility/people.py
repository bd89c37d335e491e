"""Customers of the demo utility: people with IDs, phones and e-mail addresses, and
organisations (businesses, property managers, chains, municipalities)."""
from __future__ import annotations

import re

from unidecode import unidecode

from demo.utility import names
from cis.records import ContactMethod, CustomerKind, CustomerRecord, IdType, Language
from demo.utility.draw import Weighted

_NAME_NOISE = {"the", "of", "and", "s", "inc", "ltd", "ltee", "co", "corp", "sons", "enterprises", "corporation"}
NAME_GROUPS = Weighted([(g, w) for g, w, _ in names.NAME_GROUPS])


class PeopleMixin:
    """Customer-making half of the generator; the builder owns rng, numbers, out and emails."""

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

    def _person(self, address: tuple) -> CustomerRecord:
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
            id_type = IdType.DRIVERS_LICENCE
            letter = unidecode(last)[0].upper()
            id_number = f"{letter}{rng.randint(0, 9999):04d}-{rng.randint(0, 99999):05d}-{rng.randint(0, 99999):05d}"
        elif roll < 0.60:
            id_type = IdType.HEALTH_CARD
            id_number = (f"{rng.randint(1000, 9999)}-{rng.randint(0, 999):03d}-{rng.randint(0, 999):03d}-"
                         f"{rng.choice(names.POSTAL_LETTERS)}{rng.choice(names.POSTAL_LETTERS)}")
        elif roll < 0.70:
            id_type = IdType.PASSPORT
            id_number = f"{rng.choice('ABGHJKLMP')}{rng.choice('ABCEGHJK')}{rng.randint(0, 999999):06d}"
        email = ""
        if rng.random() < 0.85:
            sep = rng.choice((".", "", "_")) if rng.random() < 0.8 else "."
            local = f"{first}{sep}{last}" if rng.random() < 0.7 else f"{first[0]}{last}"
            email = self._email(local.replace("_", "."), rng.choice(names.EMAIL_DOMAINS))
        phone = self._phone()
        customer = CustomerRecord(
            customer_number=f"C{self._number('customer'):08d}", kind=CustomerKind.PERSON,
            first_name=first, last_name=last, id_type=id_type, id_number=id_number,
            phone=phone, phone_alt=self._phone() if rng.random() < 0.15 else "", email=email,
            preferred_language=language if rng.random() < 0.8 else Language.EN,
            preferred_contact_method=(
                ContactMethod.EMAIL if email and rng.random() < 0.7
                else rng.choice((ContactMethod.PHONE, ContactMethod.SMS, ContactMethod.MAIL))
            ),
        )
        self._set_mailing(customer, address)
        self.out.customers.append(customer)
        return customer

    def _organisation(self, name: str, address: tuple, email_local: str = "accounts") -> CustomerRecord:
        rng = self.rng
        # The domain is the name's first two words that say something ("City of Kingston
        # Corporation" -> citykingston.example.ca): short enough to type into a search.
        words = [w for w in re.split(r"[^a-z0-9]+", unidecode(name).lower()) if w and w not in _NAME_NOISE]
        slug = "".join(words[:2]) or "business"
        customer = CustomerRecord(
            customer_number=f"C{self._number('customer'):08d}", kind=CustomerKind.ORGANISATION,
            organisation_name=name, phone=self._phone(),
            email=self._email(email_local, f"{slug}.example.ca"),
            id_type=IdType.BUSINESS_NUMBER if rng.random() < 0.9 else "",
            preferred_contact_method=ContactMethod.EMAIL,
        )
        if customer.id_type:
            customer.id_number = f"{rng.randint(100000000, 999999999)} RT{rng.randint(1, 3):04d}"
        self._set_mailing(customer, address)
        self.out.customers.append(customer)
        return customer

    @staticmethod
    def _set_mailing(customer: CustomerRecord, address: tuple) -> None:
        (customer.mailing_address_line1, customer.mailing_address_line2, customer.mailing_city,
         customer.mailing_region, customer.mailing_postal_code) = address

    def _business_name(self, industrial: bool) -> str:
        rng = self.rng
        if industrial:
            return f"{rng.choice(names.INDUSTRY_WORDS)} {rng.choice(names.INDUSTRY_KINDS)} {rng.choice(('Inc.', 'Ltd.', 'Corp.'))}"
        owner = rng.choice(names.LAST_NAMES[NAME_GROUPS.pick(rng)])
        base = rng.choice((f"{owner}'s", owner, rng.choice(names.INDUSTRY_WORDS), rng.choice(names.STREET_NAMES)))
        return " ".join(p for p in (base, rng.choice(names.BUSINESS_KINDS), rng.choice(names.BUSINESS_SUFFIXES)) if p)

    def _head_office(self) -> tuple:
        town = names.TOWNS[self.rng.randrange(2)]
        line1 = f"{self.rng.randint(100, 1500)} {self.rng.choice(names.STREET_NAMES)} Street"
        return (line1, f"Suite {self.rng.randint(1, 9)}00", town.name, town.region, self._postal_code(town))
