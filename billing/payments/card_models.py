"""A card payment Utilis asked a gateway for (docs/payments.md "Card payments"): the account
and amount it is for, the gateway's token and transaction id, the card's brand and last 4
digits (never its number), and where it stands. The gateway's confirmation (its webhook)
posts the Payment and links it here, once."""
from __future__ import annotations

import pghistory
import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q

from billing.models import MONEY


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent())
class CardCharge(models.Model):
    class Status(models.TextChoices):
        STARTED = "started", "Started (sent to the gateway)"
        PENDING = "pending", "Approved, awaiting the gateway's confirmation"
        SUCCEEDED = "succeeded", "Confirmed and posted"
        DECLINED = "declined", "Declined"
        FAILED = "failed", "Failed"

    reference = models.CharField(max_length=64, unique=True,
                                 help_text="Utilis' id of the charge, sent to the gateway (its idempotency key).")
    gateway = models.CharField(max_length=40)
    transaction_id = models.CharField(max_length=100, blank=True, default="")
    account = models.ForeignKey("cis.Account", on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, default="CAD")
    token = models.CharField(max_length=100)
    brand = models.CharField(max_length=20, blank=True, default="")
    last4 = models.CharField(max_length=4)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.STARTED)
    decline_code = models.CharField(max_length=50, blank=True, default="")
    message = models.CharField(max_length=300, blank=True, default="")
    payment = models.OneToOneField("billing.Payment", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="card_charge")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    actor = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(name="cardcharge_amount_positive", condition=Q(amount__gt=0)),
            models.CheckConstraint(name="cardcharge_last4_digits", condition=Q(last4__regex=r"^[0-9]{4}$")),
            # Posted exactly when confirmed: a payment row only for a succeeded charge, and always then.
            models.CheckConstraint(
                name="cardcharge_payment_iff_succeeded",
                condition=(Q(status="succeeded") & Q(payment__isnull=False))
                | (~Q(status="succeeded") & Q(payment__isnull=True)),
            ),
            models.UniqueConstraint(name="cardcharge_unique_gateway_transaction", fields=["gateway", "transaction_id"],
                                    condition=~Q(transaction_id="")),
        ]

    def __str__(self) -> str:
        return f"Card charge {self.reference} {self.amount} ({self.status})"


@pghistory.track(pghistory.InsertEvent())
class CardRefund(models.Model):
    """Money the gateway gave back out of a posted card payment (a refund made in the gateway's
    dashboard or API), recorded from its webhook: a charge on the account's ledger (the
    customer owes again what was refunded). One row per gateway refund id; append-only."""

    card_charge = models.ForeignKey(CardCharge, on_delete=models.PROTECT, related_name="refunds")
    gateway = models.CharField(max_length=40)
    refund_id = models.CharField(max_length=100)
    amount = models.DecimalField(**MONEY)
    reason = models.CharField(max_length=200, blank=True, default="")
    ledger_entry = models.OneToOneField("billing.LedgerEntry", on_delete=models.PROTECT, related_name="card_refund")
    actor = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(name="cardrefund_amount_positive", condition=Q(amount__gt=0)),
            models.UniqueConstraint(name="cardrefund_unique_gateway_refund", fields=["gateway", "refund_id"]),
        ]
        triggers = [pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete)]

    def __str__(self) -> str:
        return f"Card refund {self.refund_id} {self.amount}"
