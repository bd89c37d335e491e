"""django-filter FilterSets for the list endpoints. Related objects are filtered by their
natural keys, the same ones the serializers show."""
from __future__ import annotations

import django_filters
from django.db.models import Q

from cis.models import (
    Account,
    Complaint,
    Contact,
    Customer,
    Move,
    Note,
    Premise,
    ServiceAgreement,
    ServicePoint,
    normalise_text,
    phone_digits,
)


class CustomerFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(
        method="filter_name", label="Name contains (case and accents ignored: 'bedard' finds 'Bédard')."
    )
    email = django_filters.CharFilter(method="filter_email", label="Email, exact (case ignored).")
    phone = django_filters.CharFilter(
        method="filter_phone", label="Phone or alternate phone contains these digits (punctuation ignored)."
    )

    class Meta:
        model = Customer
        fields = ["kind", "customer_number", "preferred_language"]

    def filter_name(self, queryset, name, value):
        # search_name is stored normalised, so normalising the term makes the match
        # accent- and case-blind and lets the trigram index serve it.
        return queryset.filter(search_name__contains=normalise_text(value))

    def filter_email(self, queryset, name, value):
        # Emails are stored lower-cased by Customer.refresh_search_fields().
        return queryset.filter(email=value.strip().lower())

    def filter_phone(self, queryset, name, value):
        digits = phone_digits(value)
        if not digits:
            return queryset.none()
        return queryset.filter(phone_search__contains=digits)


class AccountFilter(django_filters.FilterSet):
    customer = django_filters.CharFilter(field_name="customer__customer_number", label="customer_number")
    parent = django_filters.CharFilter(field_name="parent__account_number", label="account_number of the parent")
    opened_after = django_filters.DateFilter(field_name="opened_date", lookup_expr="gte")
    opened_before = django_filters.DateFilter(field_name="opened_date", lookup_expr="lt")

    class Meta:
        model = Account
        fields = ["status", "bill_cycle_code"]


class PremiseFilter(django_filters.FilterSet):
    address = django_filters.CharFilter(method="filter_address", label="Address contains (case and accents ignored).")
    parent = django_filters.CharFilter(field_name="parent__premise_number", label="premise_number of the building")

    class Meta:
        model = Premise
        fields = ["premise_type", "city", "postal_code"]

    def filter_address(self, queryset, name, value):
        return queryset.filter(search_address__contains=normalise_text(value))


class ServicePointFilter(django_filters.FilterSet):
    premise = django_filters.CharFilter(field_name="premise__premise_number", label="premise_number")

    class Meta:
        model = ServicePoint
        fields = ["commodity", "route", "status", "rate_class"]


class AgreementFilter(django_filters.FilterSet):
    account = django_filters.CharFilter(field_name="account__account_number", label="account_number")
    service_point = django_filters.CharFilter(field_name="service_point__sp_number", label="sp_number")
    active_on = django_filters.DateFilter(
        method="filter_active_on", label="Agreements serving on this day: start <= day < end (end exclusive)."
    )

    class Meta:
        model = ServiceAgreement
        fields = ["rate_code"]

    def filter_active_on(self, queryset, name, value):
        return queryset.filter(Q(end_date__isnull=True) | Q(end_date__gt=value), start_date__lte=value)


class MoveFilter(django_filters.FilterSet):
    account = django_filters.CharFilter(field_name="account__account_number", label="account_number")
    service_point = django_filters.CharFilter(field_name="service_point__sp_number", label="sp_number")
    effective_after = django_filters.DateFilter(field_name="effective_date", lookup_expr="gte")
    effective_before = django_filters.DateFilter(field_name="effective_date", lookup_expr="lt")

    class Meta:
        model = Move
        fields = ["status", "kind"]


class _AccountEntryFilter(django_filters.FilterSet):
    account = django_filters.CharFilter(field_name="account__account_number", label="account_number")


class _FollowUpFilter(_AccountEntryFilter):
    follow_up_before = django_filters.DateFilter(
        field_name="follow_up_date", lookup_expr="lt", label="Follow-up due before this day."
    )


class ContactFilter(_FollowUpFilter):
    class Meta:
        model = Contact
        fields = ["status", "channel"]


class NoteFilter(_AccountEntryFilter):
    class Meta:
        model = Note
        fields = ["pinned"]


class ComplaintFilter(_FollowUpFilter):
    class Meta:
        model = Complaint
        fields = ["status", "category"]
