"""Net metering: the customer is billed for delivered minus received energy. When received
exceeds delivered, the excess is carried forward to later bills, either

- as kWh ("kwh"): netted against the next bills' delivered energy, or
- as dollars ("dollars"): the excess valued at `credit_price`, applied as a credit against
  the next bills' charges (the subtotal named by applies_to), the rest carried on.

The netting happens before any charge is computed (`adjust`), so every volumetric component
prices the net kWh; per-TOU-period kWh are scaled by the same ratio. Interval series are not
netted, so interval pricing is not combined with net metering."""
from __future__ import annotations

from decimal import Decimal

from core.money import money

from .base import PHASE_CREDIT, ZERO, ComponentKind, LineDraft, ParamSpec, Params, PartContext, dec
from ..types import RatingDeterminants

CARRY = ("kwh", "dollars")


class NetMetering(ComponentKind):
    """params: carry "kwh" (default) | "dollars"; credit_price ($/kWh, for dollars);
    applies_to [tags] the dollar credit may offset (default: all earlier lines)."""

    kind = "net_metering"
    label = "Net metering"
    phase = PHASE_CREDIT
    params_schema = (
        ParamSpec("carry", "choice", False, "How an excess of received energy is carried to later bills.", CARRY,
                  default="kwh"),
        ParamSpec("credit_price", "decimal", False, "What a kWh of excess is worth when carried as dollars.",
                  unit="$/kWh", minimum="0", required_if=("carry", "dollars")),
        ParamSpec("applies_to", "tags", False, "Tags of the lines a dollar credit may offset (empty: all)."),
    )

    def adjust(self, ctx: PartContext, params: Params) -> RatingDeterminants:
        det = ctx.determinants
        carry = params.get("carry", "kwh")
        carried_in = ctx.credit["kwh"] if carry == "kwh" else ZERO
        offset = det.received + carried_in
        net = det.consumption - offset
        billed = max(net, ZERO)
        excess = max(-net, ZERO)
        if carry == "kwh":
            ctx.credit["kwh"] = excess
            earned = ZERO
        else:
            # A dollar credit is money: it is rounded once, when it is earned.
            earned = money(excess * dec(params["credit_price"]))
            ctx.credit["dollars"] += earned
        ctx.notes[self.component.code] = {
            "delivered": det.consumption, "received": det.received, "carried_in_kwh": carried_in,
            "billed": billed, "excess": excess, "earned": earned,
        }
        ratio = billed / det.consumption if det.consumption else ZERO
        return RatingDeterminants(
            consumption=billed,
            consumption_by_period={k: v * ratio for k, v in det.consumption_by_period.items()},
            max_demand_kw=det.max_demand_kw,
            max_demand_kw_by_period=det.max_demand_kw_by_period,
            received=det.received,
            intervals=det.intervals,
            estimated_count=det.estimated_count,
            completeness=det.completeness,
        )

    def lines(self, ctx: PartContext, params: Params) -> list[LineDraft]:
        note = ctx.notes[self.component.code]
        carry = params.get("carry", "kwh")
        details = {k: str(v) for k, v in note.items()}
        out = [
            LineDraft(
                f"{self.describe('Net metering')}: delivered {note['delivered']} kWh, received {note['received']} kWh"
                + (f", credit brought forward {note['carried_in_kwh']} kWh" if note["carried_in_kwh"] else "")
                + f"; billed {note['billed']} kWh",
                note["billed"], "kWh", None, ZERO, details=details,
            )
        ]
        if carry == "kwh" and note["excess"]:
            out.append(LineDraft(f"Net metering credit carried forward: {note['excess']} kWh", note["excess"], "kWh",
                                 None, ZERO, details=details))
        if carry == "dollars":
            if note["earned"]:
                out.append(LineDraft(f"Net metering credit earned: {note['excess']} kWh at {params['credit_price']}",
                                     note["excess"], "kWh", dec(params["credit_price"]), ZERO, details=details))
            available = ctx.credit["dollars"]
            charges = ctx.subtotal(params.get("applies_to"))
            applied = min(available, max(charges, ZERO))
            if applied:
                ctx.credit["dollars"] = available - applied
                out.append(LineDraft("Net metering credit applied", applied, "$", Decimal(-1), -applied,
                                     details={"available": str(available), "remaining": str(available - applied)}))
        return out
