"""What every hub view shares: the one 'now' of a request in the utility's zone, and the
roles of the hub."""
from __future__ import annotations

import datetime as dt

from django.utils import timezone

from core.clock import utility_zone
from core.roles import Role

STAFF = (Role.BILLING,)
VIEWERS = (Role.BILLING, Role.CSR)  # CSRs may look at bills; only billing staff change them


def request_now() -> dt.datetime:
    return timezone.now()


def local_today(now: dt.datetime) -> dt.date:
    """Billing days are the utility's local days (settings.TIME_ZONE is UTC). Derived from the
    request's one `now` (not core.clock.utility_today) so the date and the instant agree."""
    return now.astimezone(utility_zone()).date()


def form_errors(form) -> str:
    return "; ".join(f"{'' if k == '__all__' else k + ': '}{' '.join(v)}" for k, v in form.errors.items())
