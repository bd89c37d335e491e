"""Service orders: work for the field or the back office (reads, connects, investigations).
Order types and their flows grow in a later issue; moves already create read orders."""
from __future__ import annotations

import pghistory
from django.conf import settings
from django.db import models
from django.db.models import Q


class OrderType(models.TextChoices):
    INITIAL_READ = "initial_read", "Initial read (move in)"
    FINAL_READ = "final_read", "Final read (move out)"
    METER_CHECK = "meter_check", "Meter check"
    CONNECT = "connect", "Connect service"
    DISCONNECT = "disconnect", "Disconnect service"


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent())
class ServiceOrder(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DISPATCHED = "dispatched", "Dispatched"
        HELD = "held", "Held by a protection"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    order_number = models.CharField(max_length=20, unique=True, null=True, editable=False)
    order_type = models.CharField(max_length=30, choices=OrderType.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    # Foreign keys into cis by string reference (no import of cis's models): an order never
    # names an account or service point that does not exist, and they cannot be deleted under it.
    account = models.ForeignKey("cis.Account", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    service_point = models.ForeignKey("cis.ServicePoint", null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="+")
    due_date = models.DateField()
    reason = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=50, blank=True, help_text="What created it, e.g. 'cis.move:42'.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Dispatch (service_order_dispatch): the crew it went to, or the protection that held it.
    crew = models.CharField(max_length=100, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    dispatched_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+")
    held_rule = models.CharField(max_length=40, blank=True, help_text="The protection rule that held it at dispatch.")
    held_reason = models.CharField(max_length=300, blank=True)
    held_until = models.DateField(null=True, blank=True, help_text="Blank with a rule: until staff end it.")
    held_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_date", "id"]
        constraints = [
            # Re-applying the same move never asks twice for the same read.
            models.UniqueConstraint(
                name="service_order_unique_source_type",
                fields=["source", "order_type"],
                condition=~Q(source=""),
            ),
            models.CheckConstraint(name="service_order_held_has_rule",
                                   condition=~Q(status="held") | (~Q(held_rule="") & Q(held_at__isnull=False))),
        ]

    def __str__(self) -> str:
        return f"{self.order_number} {self.get_order_type_display()}"
