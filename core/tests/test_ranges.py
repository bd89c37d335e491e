"""core.ranges: half-open [start, end) date ranges with an open end, in Python and as the
daterange() expression the exclusion constraints use."""
from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from cis.models import ServiceAgreement
from cis.tests.factories import ServiceAgreementFactory, ServicePointFactory
from core.ranges import DateRange, contains, overlaps

pytestmark = pytest.mark.django_db

JAN, FEB, MAR, APR = (dt.date(2026, m, 1) for m in (1, 2, 3, 4))


@pytest.mark.parametrize(("a", "b", "expected"), [
    ((JAN, FEB), (FEB, MAR), False),    # end is exclusive: back to back does not overlap
    ((JAN, MAR), (FEB, APR), True),
    ((JAN, APR), (FEB, MAR), True),     # one inside the other
    ((JAN, None), (MAR, APR), True),    # open end
    ((MAR, None), (JAN, FEB), False),
    ((MAR, None), (JAN, MAR), False),
    ((JAN, None), (FEB, None), True),
    ((FEB, FEB + dt.timedelta(days=1)), (FEB, FEB + dt.timedelta(days=1)), True),
])
def test_overlaps_is_half_open_and_symmetric(a, b, expected):
    assert overlaps(*a, *b) is expected
    assert overlaps(*b, *a) is expected


@pytest.mark.parametrize(("start", "end", "day", "expected"), [
    (JAN, FEB, JAN, True),                              # start is inside
    (JAN, FEB, FEB, False),                             # end is not
    (JAN, FEB, FEB - dt.timedelta(days=1), True),
    (JAN, FEB, JAN - dt.timedelta(days=1), False),
    (JAN, None, dt.date(2099, 12, 31), True),
    (FEB, None, JAN, False),
])
def test_contains_is_half_open(start, end, day, expected):
    assert contains(start, end, day) is expected


def test_daterange_in_a_query_agrees_with_contains():
    sp = ServicePointFactory()
    closed = ServiceAgreementFactory(service_point=sp, start_date=JAN, end_date=FEB)
    open_ended = ServiceAgreementFactory(service_point=sp, start_date=FEB, end_date=None)
    qs = ServiceAgreement.objects.annotate(period=DateRange("start_date", "end_date"))
    for day, expected in [(JAN, {closed.pk}), (FEB - dt.timedelta(days=1), {closed.pk}),
                          (FEB, {open_ended.pk}), (dt.date(2030, 1, 1), {open_ended.pk})]:
        assert set(qs.filter(period__contains=day).values_list("pk", flat=True)) == expected
        assert {a.pk for a in (closed, open_ended) if contains(a.start_date, a.end_date, day)} == expected


def test_the_exclusion_constraint_refuses_overlap_but_not_back_to_back():
    sp = ServicePointFactory()
    ServiceAgreementFactory(service_point=sp, start_date=JAN, end_date=MAR)
    ServiceAgreementFactory(service_point=sp, start_date=MAR, end_date=None)  # touching is fine
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceAgreementFactory(service_point=sp, start_date=FEB, end_date=APR)
