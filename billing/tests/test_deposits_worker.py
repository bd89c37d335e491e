"""The daily deposit review on a real Celery worker (tests/celery_helpers): the beat task starts
today's review, its chunks run on the worker and commit with their DONE marks, and a second
start the same day returns the same review (nothing recommended twice)."""
from __future__ import annotations

import datetime as dt
import time

import pytest

from billing.deposits.models import DepositRecommendation, DepositReview
from billing.tasks import deposit_review_daily
from billing.tests.deposit_helpers import residential_class, served_account
from core.clock import utility_today
from tests.celery_helpers import celery_worker  # noqa: F401  (pytest fixture)

pytestmark = pytest.mark.celery_worker


def test_the_daily_review_runs_its_chunks_on_the_worker(celery_worker):  # noqa: F811
    residential_class()
    for _ in range(3):
        served_account(opened=utility_today() - dt.timedelta(days=10))
    started = deposit_review_daily.delay().get(timeout=120)
    deadline = time.monotonic() + 120
    review = DepositReview.objects.get(pk=started["run"])
    while time.monotonic() < deadline and celery_worker.is_running() and review.status != "done":
        time.sleep(0.5)
        review.refresh_from_db()
    assert (review.status, review.accounts_total, review.recommended) == ("done", 3, 3), celery_worker.logs()[-3000:]
    assert deposit_review_daily.delay().get(timeout=120)["run"] == review.pk
    assert DepositRecommendation.objects.count() == 3
