"""Applying for service as a new customer, from the portal's public page. The application is
cis's MoveRequest (kind new_customer), made by `cis.services.move_request_apply`; this module
throttles the page against floods of applications: at most APPLICATIONS_PER_CLIENT from one
client address in CLIENT_WINDOW and APPLICATIONS_PER_EMAIL for one email in EMAIL_WINDOW.
Bad input saves nothing (neither the request nor a count)."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from django.conf import settings
from django.db import connection, transaction

from cis import services as cis_services
from portal.models import ServiceApplication

APPLICATIONS_PER_CLIENT = 3
CLIENT_WINDOW = dt.timedelta(hours=1)
APPLICATIONS_PER_EMAIL = 3
EMAIL_WINDOW = dt.timedelta(days=1)


class ApplicationThrottled(Exception):
    """Too many applications lately from this client address or for this email; `until` is
    when the next one is accepted."""

    def __init__(self, until: dt.datetime) -> None:
        super().__init__(f"too many applications until {until:%Y-%m-%d %H:%M}")
        self.until = until


def client_key(address: str) -> str:
    """The client address as the throttle keeps it: an HMAC under the secret key."""
    return hmac.new(settings.SECRET_KEY.encode(), (address or "unknown").encode(), hashlib.sha256).hexdigest()


def _next_free(qs, *, limit: int, window: dt.timedelta, now: dt.datetime) -> dt.datetime | None:
    recent = list(qs.filter(submitted_at__gt=now - window).order_by("-submitted_at")
                  .values_list("submitted_at", flat=True)[:limit])
    return recent[-1] + window if len(recent) >= limit else None


def application_submit(*, client_address: str, now: dt.datetime, today: dt.date, **fields) -> cis_services.MoveRequest:
    """Throttle, then `cis.services.move_request_apply(**fields)`; the MoveRequest it made.

    Raises ApplicationThrottled, or the ValidationError of move_request_apply (nothing saved)."""
    key = client_key(client_address)
    email = str(fields.get("email", "")).strip().lower()
    with transaction.atomic():
        # One client's (or one email's) submissions one at a time, so two at once cannot both
        # slip under the limit.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0)), "
                           "pg_advisory_xact_lock(hashtextextended(%s, 0))",
                           [f"portal-apply:{key}", f"portal-apply-email:{email}"])
        until = max(filter(None, [
            _next_free(ServiceApplication.objects.filter(client_key=key), limit=APPLICATIONS_PER_CLIENT,
                       window=CLIENT_WINDOW, now=now),
            _next_free(ServiceApplication.objects.filter(email=email), limit=APPLICATIONS_PER_EMAIL,
                       window=EMAIL_WINDOW, now=now) if email else None,
        ]), default=None)
        if until is not None:
            raise ApplicationThrottled(until)
        request = cis_services.move_request_apply(now=now, today=today, **fields)
        ServiceApplication.objects.create(move_request=request, client_key=key, email=request.applicant_email,
                                          submitted_at=now)
    return request
