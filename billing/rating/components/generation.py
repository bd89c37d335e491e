"""Generation contract (FIT / microFIT style): energy received from the customer's generator is
paid at a contract price, shown on the bill as a credit."""
from __future__ import annotations

from .base import ComponentKind, LineDraft, ParamSpec, Params, PartContext, dec


class GenerationCredit(ComponentKind):
    """params: price ($/kWh received). Not combined with net_metering on one rate: received
    energy is either netted or bought, not both."""

    kind = "generation_credit"
    label = "Generation contract credit"
    params_schema = (
        ParamSpec("price", "decimal", True, "Contract price paid per kWh received from the generator.",
                  unit="$/kWh", minimum="0"),
    )

    def lines(self, ctx: PartContext, params: Params) -> list[LineDraft]:
        received = ctx.determinants.received
        price = dec(params["price"])
        return [LineDraft(self.describe("Generation contract credit"), received, "kWh", -price, -received * price,
                          proration=ctx.share)]
