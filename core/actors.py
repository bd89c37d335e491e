"""Who does a write, and why: the typed `actor` every money-changing service takes.

An Actor is a staff user, or the system (a beat task, a bill run's worker) named for what it
is. `actor.audit(action)` opens a pghistory context, so the database triggers record the
user, the action and the reason on every row the block changes (admin, hub, API, worker
alike); services also copy the actor onto the rows that name who did something
(approved_by, issued_by, cancelled_by).
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

import pghistory


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    username: str
    reason: str = ""

    @classmethod
    def of(cls, user: Any, reason: str = "") -> "Actor":
        """The actor for a request's user (anonymous or None: the system)."""
        if isinstance(user, Actor):
            return user if not reason else cls(user.user_id, user.username, reason)
        if user is not None and getattr(user, "is_authenticated", False):
            return cls(user.pk, user.get_username(), reason)
        return cls.system(reason=reason)

    @classmethod
    def system(cls, name: str = "system", reason: str = "") -> "Actor":
        return cls(None, name, reason)

    @property
    def is_system(self) -> bool:
        return self.user_id is None

    def with_reason(self, reason: str) -> "Actor":
        return Actor(self.user_id, self.username, reason)

    @contextmanager
    def audit(self, action: str) -> Iterator[None]:
        """Tag every change made inside the block with this actor, the action and the reason."""
        with pghistory.context(user=self.user_id, actor=self.username, action=action, reason=self.reason or action):
            yield

    def __str__(self) -> str:
        return self.username
