"""Reference codes a lower layer stores but a higher one owns.

cis stores an agreement's rate code and an account's bill cycle code as text, but rate
schedules and bill cycles belong to billing, which sits above cis. billing registers one
validator per kind of code from `AppConfig.ready()`; cis asks `validate_code(kind, value)` and
never imports billing. A kind with no validator registered (billing not installed) accepts any
value.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

RATE_CODE = "rate_code"
BILL_CYCLE_CODE = "bill_cycle_code"


class UnknownCodeError(ValueError):
    """The code is not one the owning app knows. `str(exc)` is a message for the user."""

    def __init__(self, kind: str, value: str, label: str) -> None:
        self.kind = kind
        self.value = value
        super().__init__(f"There is no {label} {value!r}.")


@dataclass(frozen=True)
class CodeKind:
    kind: str
    exists: Callable[[str], bool]
    label: str
    choices: Callable[[], Iterable[str]] | None = None


_REGISTRY: dict[str, CodeKind] = {}


def register_code_validator(
    kind: str, exists: Callable[[str], bool], *, label: str = "",
    choices: Callable[[], Iterable[str]] | None = None,
) -> None:
    """`exists(value)` says whether the code is known; `choices()` (optional) lists the codes a
    form may offer. Registering a kind again replaces it (tests, reloads)."""
    _REGISTRY[kind] = CodeKind(kind, exists, label or kind.replace("_", " "), choices)


def code_exists(kind: str, value: str) -> bool:
    entry = _REGISTRY.get(kind)
    return True if entry is None else bool(entry.exists(value))


def validate_code(kind: str, value: str) -> str:
    """`value` when it is a known code of `kind`; raises UnknownCodeError otherwise."""
    entry = _REGISTRY.get(kind)
    if entry is not None and not entry.exists(value):
        raise UnknownCodeError(kind, value, entry.label)
    return value


def code_choices(kind: str) -> list[str]:
    """The codes of `kind` a form may offer (empty when the owner lists none)."""
    entry = _REGISTRY.get(kind)
    if entry is None or entry.choices is None:
        return []
    return list(entry.choices())
