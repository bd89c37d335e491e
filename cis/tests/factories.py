"""factory_boy factories for the customer & premise core."""
from __future__ import annotations

import datetime as dt

import factory

from cis.models import Account, Customer, Premise, ServiceAgreement, ServicePoint


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    customer_number = factory.Sequence(lambda n: f"CT{n:07d}")
    kind = Customer.Kind.PERSON
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda o: f"{o.first_name}.{o.last_name}@example.test".lower())
    phone = factory.Sequence(lambda n: f"416-555-{n % 10000:04d}")
    mailing_address_line1 = "1 Main St"
    mailing_city = "Toronto"
    mailing_region = "ON"
    mailing_postal_code = "M5V 1A1"


class PremiseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Premise

    premise_number = factory.Sequence(lambda n: f"PT{n:07d}")
    address_line1 = factory.Sequence(lambda n: f"{n + 10} Maple Avenue")
    city = "Toronto"
    region = "ON"
    postal_code = "M4C 1B5"
    premise_type = Premise.PremiseType.HOUSE


class ServicePointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServicePoint

    sp_number = factory.Sequence(lambda n: f"SPT{n:07d}")
    premise = factory.SubFactory(PremiseFactory)
    commodity = "electric"
    route = "R01"
    read_sequence = factory.Sequence(lambda n: n * 10)
    rate_class = "residential"


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    account_number = factory.Sequence(lambda n: f"9{n:09d}")
    customer = factory.SubFactory(CustomerFactory)
    status = Account.Status.ACTIVE
    bill_cycle_code = "C01"
    opened_date = dt.date(2024, 1, 1)


class ServiceAgreementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceAgreement

    agreement_number = factory.Sequence(lambda n: f"SAT{n:07d}")
    account = factory.SubFactory(AccountFactory)
    service_point = factory.SubFactory(ServicePointFactory)
    rate_code = "RES-TOU"
    start_date = dt.date(2024, 1, 1)
    end_date = None
