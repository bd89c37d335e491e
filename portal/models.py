"""The portal's own rows: which accounts a login may see, the pending proofs of a link, and the
failed proofs per account number and email (the lock)."""
from __future__ import annotations

import pghistory
from django.conf import settings
from django.db import models
from django.db.models import Q


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class AccountLink(models.Model):
    """A portal login may see this account: made only by following the emailed link after the
    identity question was answered. One login may hold several accounts (a landlord, a small
    business); an account may be linked to several logins."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portal_links")
    account = models.ForeignKey("cis.Account", on_delete=models.CASCADE, related_name="+")
    linked_at = models.DateTimeField()
    proof = models.CharField(max_length=20, help_text="The identity question answered: postal_code or bill_amount.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "account"], name="portal_link_once_per_user")]

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
