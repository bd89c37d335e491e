"""The portal's own rows: which accounts a login may see, the pending proofs of a link, and the
failed proofs per account number and email (the lock)."""
from __future__ import annotations

import pghistory
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class AccountLink(models.Model):
    """A portal login may see this account: made only by following the emailed link after the
    identity question was answered. One login may hold several accounts (a landlord, a small
    business); an account may be linked to several logins."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portal_links")
    account = models.ForeignKey("cis.Account", on_delete=models.CASCADE, related_name="+")
    class Access(models.TextChoices):
        FULL = "full", _("Account holder (proved it)")
        PAY = "pay", _("Invited: see and pay")
        VIEW = "view", _("Invited: see only")

    linked_at = models.DateTimeField()
    proof = models.CharField(max_length=20,
                             help_text="The identity question answered (postal_code, bill_amount), or invite.")
    access = models.CharField(max_length=10, choices=Access.choices, default=Access.FULL)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "account"], name="portal_link_once_per_user"),
            # Only a proof makes an account holder; an invitation gives pay or view access.
            models.CheckConstraint(name="portal_link_invited_is_not_full",
                                   condition=Q(proof="invite", access__in=["pay", "view"])
                                   | (~Q(proof="invite") & Q(access="full"))),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} -> {self.account_id}"


class LinkRequest(models.Model):
    """A proof that passed, waiting for its emailed link. Only the token's SHA-256 is kept; a
    request for a new login carries the password hash the login is created with."""

    account = models.ForeignKey("cis.Account", on_delete=models.CASCADE, related_name="+")
    email = models.EmailField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="+", help_text="Empty for a new login (created on confirmation).")
    password_hash = models.CharField(max_length=200, blank=True)
    proof = models.CharField(max_length=20)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(name="portal_linkrequest_expires_after_created",
                                   condition=Q(expires_at__gt=models.F("created_at"))),
            models.CheckConstraint(name="portal_linkrequest_new_login_has_password",
                                   condition=Q(user__isnull=False) | ~Q(password_hash="")),
        ]


class LinkAttempt(models.Model):
    """Failed proofs for one account number and email. At the limit the pair is locked until
    `locked_until`; the account number is kept as typed (normalised), whether or not it exists,
    so a lock says nothing about which numbers are real."""

    account_number = models.CharField(max_length=40)
    email = models.EmailField()
    failures = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_failed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account_number", "email"], name="portal_link_attempt_per_pair"),
        ]


class AlertKind(models.TextChoices):
    BILL_READY = "bill_ready", _("A new bill is ready")
    PAYMENT_DUE = "payment_due", _("A payment is due soon")
    PAYMENT_RECEIVED = "payment_received", _("We received a payment")
    HIGH_USAGE = "high_usage", _("A day's usage is high compared with my usual")
    ESTIMATED_READ = "estimated_read", _("Some of my usage was estimated (no reading came in)")
    WATER_LEAK = "water_leak", _("Possible water leak: water kept flowing for 24 hours without a break")


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class AlertPreference(models.Model):
    """One alert a login chose for one linked account, by email. `threshold` means what its kind
    says: days before the due date (payment_due), percent of the usual day (high_usage)."""

    link = models.ForeignKey(AccountLink, on_delete=models.CASCADE, related_name="alert_preferences")
    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    enabled = models.BooleanField(default=True)
    threshold = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["link", "kind"], name="portal_alert_pref_once_per_kind"),
            models.CheckConstraint(name="portal_alert_pref_threshold_fits_kind", condition=(
                Q(kind="payment_due", threshold__gte=1, threshold__lte=30)
                | Q(kind="high_usage", threshold__gte=110, threshold__lte=1000)
                | (~Q(kind__in=["payment_due", "high_usage"]) & Q(threshold__isnull=True)))),
        ]


class AlertDelivery(models.Model):
    """One alert about one event (a bill, a payment, a day) to one link: the unique constraint is
    what makes each alert go at most once, however often or concurrently the job runs. The row
    is written before the mail is handed to SMTP (`attempted_at`); `sent_at` after it accepted.
    A refused hand-off keeps `error` and is tried again; a row attempted but neither sent nor
    failed (a worker that died mid-send) is not, so nobody gets a second copy."""

    link = models.ForeignKey(AccountLink, on_delete=models.CASCADE, related_name="alert_deliveries")
    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    event_key = models.CharField(max_length=80, help_text="What the alert is about: bill:<id>, payment:<id>, day:<date>.")
    email = models.EmailField()
    subject = models.CharField(max_length=200)
    created_at = models.DateTimeField()
    attempted_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["link", "kind", "event_key"], name="portal_alert_once_per_event"),
        ]
        indexes = [models.Index(name="portal_alert_unsent_idx", fields=["sent_at", "created_at"],
                                condition=Q(sent_at__isnull=True))]


class PersonalToken(models.Model):
    """A customer's own read-only API token for their linked accounts. Only the SHA-256 of the
    token is stored; the token is shown once, when made. `prefix` (its first characters) tells
    the customer which is which. A revoked token stays listed and never works again."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portal_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(name="portal_token_expires_after_created",
                                   condition=Q(expires_at__gt=models.F("created_at"))),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class AccountInvite(models.Model):
    """An account holder asks another person (by email) to see the account, with pay or
    view-only access. Only the emailed token's SHA-256 is kept; following it makes an
    AccountLink with that access."""

    link = models.ForeignKey(AccountLink, on_delete=models.CASCADE, related_name="invites",
                             help_text="The inviting holder's link (its account is the one shared).")
    email = models.EmailField()
    access = models.CharField(max_length=10, choices=AccountLink.Access.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(name="portal_invite_access_pay_or_view", condition=Q(access__in=["pay", "view"])),
            models.CheckConstraint(name="portal_invite_expires_after_created",
                                   condition=Q(expires_at__gt=models.F("created_at"))),
        ]


class ServiceApplication(models.Model):
    """A new customer's application sent from the portal's public page (the request itself is
    cis's MoveRequest). Kept to throttle the page: how many came from one client address and
    for one email lately. The address is kept only as an HMAC under the site's secret key."""

    move_request = models.OneToOneField("cis.MoveRequest", on_delete=models.CASCADE, related_name="+")
    client_key = models.CharField(max_length=64, help_text="HMAC-SHA256 of the client's IP address.")
    email = models.EmailField()
    submitted_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(name="portal_application_client_idx", fields=["client_key", "submitted_at"]),
            models.Index(name="portal_application_email_idx", fields=["email", "submitted_at"]),
        ]
