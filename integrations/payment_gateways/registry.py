"""The adapters Utilis ships, by the name UTILIS_PAYMENT_GATEWAY uses. A new gateway is one
PaymentGatewayAdapter subclass and one line here."""
from __future__ import annotations

from billing.services import register_card_gateway
from integrations.payment_gateways.base import PaymentGatewayAdapter
from integrations.payment_gateways.sandbox import SandboxGateway

ADAPTERS: dict[str, type[PaymentGatewayAdapter]] = {
    SandboxGateway.name: SandboxGateway,
}


def register() -> None:
    """Put every adapter into billing's gateway registry; settings.UTILIS_PAYMENT_GATEWAY picks one."""
    for name, factory in ADAPTERS.items():
        register_card_gateway(name, factory)
