"""The card gateway's safety net (config/settings.py CELERY_BEAT_SCHEDULE "billing-card-charges-poll"):
every few minutes, ask the gateway about charges still pending UTILIS_CARD_POLL_AFTER_MINUTES
after they were made (their webhook never came, or Utilis refused it while down) and settle
them as the webhook would have. Imported by BillingConfig.ready so the worker knows the task."""
from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from billing.payments.card import card_charges_poll


@shared_task(name="billing.payments.card_tasks.card_charges_poll_due")
def card_charges_poll_due(**kwargs) -> dict:
    result = card_charges_poll(now=timezone.now(),
                               older_than=dt.timedelta(minutes=settings.UTILIS_CARD_POLL_AFTER_MINUTES))
    return {"asked": result.asked, "settled": result.settled, "still_pending": result.still_pending,
            "errors": result.errors}
