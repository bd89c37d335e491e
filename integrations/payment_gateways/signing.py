"""The sandbox gateway's webhook signature: header `Sandbox-Signature: t=<unix seconds>,v1=<hex>`
where hex = HMAC-SHA256(secret, "<t>." + body). The timestamp is signed too, so an old
delivery cannot be replayed with a fresh time."""
from __future__ import annotations

import hashlib
import hmac

HEADER = "Sandbox-Signature"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def signature_verify(secret: str, header: str, body: bytes, *, now: float, tolerance: int) -> str:
    """'' when the header signs the body with the secret within `tolerance` seconds of now, else why not."""
    parts: dict[str, list[str]] = {}
    for item in (header or "").split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError, IndexError):
        return f"No {HEADER} header with a timestamp."
    if abs(now - timestamp) > tolerance:
        return f"The signature's timestamp is more than {tolerance} seconds from now."
    expected = signature(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, given) for given in parts.get("v1", [])):
        return "The signature does not match the body."
    return ""
