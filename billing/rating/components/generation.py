"""Generation contract (FIT / microFIT style): energy received from the customer's generator is
paid at a contract price, shown on the bill as a credit."""
from __future__ import annotations

from .base import ComponentKind, LineDraft, Params, PartContext, dec, require


class GenerationCredit(ComponentKind):
    """params: price ($/kWh received). Not combined with net_metering on one rate: received
    energy is either netted or bought, not both."""

    kind = "generation_credit"

    def check(self, params: Params) -> None:
        require(params, "price")
        dec(params["price"], name="price")

    def lines(self, ctx: PartContext, params: Params) -> list[LineDraft]:
        received = ctx.determinants.received
        price = dec(params["price"])
        return [LineDraft(self.describe("Generation contract credit"), received, "kWh", -price, -received * price,
                          proration=ctx.share)]
