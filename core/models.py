"""core's own tables: the API tokens (django-rest-knox's token with a name per client), and
the sweeper's log of stale runs (core.runs.models.RunSweep)."""
from __future__ import annotations

from django.db import models
from knox.models import AbstractAuthToken

from core.runs.models import RunSweep

__all__ = ["ApiToken", "RunSweep"]


class ApiToken(AbstractAuthToken):
    """A knox token (stored hashed, with an expiry) that carries a name, so one API client can
    hold several tokens (one per integration or machine) and each is revoked on its own.
    KNOX_TOKEN_MODEL points here."""

    name = models.CharField(max_length=100, blank=True, help_text="What uses this token, e.g. 'head-end import'.")
    description = models.TextField(blank=True)

    class Meta:
        verbose_name = "API token"
        verbose_name_plural = "API tokens"
        ordering = ["user_id", "-created"]

    def __str__(self) -> str:
        return f"{self.name or self.token_key} ({self.user})"
