"""What drafting hands the rating engine. rating.BillInput.time_zone is the IANA name (a str):
components build their zone from it (interval_price: ZoneInfo(time_zone)), and ZoneInfo of a
ZoneInfo is a TypeError. Drafting passed core.clock.utility_zone() (a ZoneInfo) until mypy
checked billing.services.runs.drafting."""
from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from billing import rating
from billing.services import runs
from billing.services.runs import drafting
from billing.tests.test_runs_helpers import MAR, NOW, metered_agreement, setup_billing

pytestmark = pytest.mark.django_db


def test_a_bill_run_rates_with_the_utilitys_zone_name(monkeypatch):
    seen: list[rating.BillInput] = []
    rate_bill = rating.rate_bill

    def spy(bill_input, versions):
        seen.append(bill_input)
        return rate_bill(bill_input, versions)

    monkeypatch.setattr(drafting.rating, "rate_bill", spy)
    cycle = setup_billing()
    metered_agreement(rate_code="T-TIER")

    run = runs.bill_run_start(cycle=cycle, bill_date=MAR, now=NOW, enqueue=False)
    for number in runs.bill_run_pending_chunks(bill_run_id=run.pk):
        assert runs.bill_run_chunk_process(bill_run_id=run.pk, chunk_number=number, now=NOW) == "done"

    assert len(seen) == 1
    assert seen[0].time_zone == settings.UTILIS_LOCAL_TIME_ZONE
    assert ZoneInfo(seen[0].time_zone).key == settings.UTILIS_LOCAL_TIME_ZONE
