"""Meters, their channels and multipliers, where they are installed (record of installation),
and virtual meters. Service points belong to cis: real foreign keys by string reference."""
from __future__ import annotations

from decimal import Decimal

import pghistory
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeOperators
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper

from core.commodities import Commodity, metered_choices
from core.ranges import DateRange


def audited():
    """Fresh trackers for each model: meters, channels, multipliers and installations are
    meter data, so every insert, change and delete is recorded with who and why (core.actors)."""
    return (pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())


class TstzRange(models.Func):
    """SQL `tstzrange(start, end, '[)')`: installations are instants, not dates."""

    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


@pghistory.track(*audited())
class Meter(models.Model):
    class Kind(models.TextChoices):
        ELECTRIC_SINGLE_PHASE = "electric_single_phase", "Electric, single-phase"
        ELECTRIC_POLYPHASE = "electric_polyphase", "Electric, polyphase"
        WATER = "water", "Water"
        GAS = "gas", "Gas"

    class Status(models.TextChoices):
        IN_STOCK = "in_stock", "In stock"
        INSTALLED = "installed", "Installed"
        REMOVED = "removed", "Removed"
        RETIRED = "retired", "Retired"

    serial_number = models.CharField(max_length=50, unique=True, help_text="The manufacturer's serial number.")
    manufacturer = models.CharField(max_length=100, blank=True)
    model = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=30, choices=Kind.choices)
    ami_capable = models.BooleanField(default=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.IN_STOCK)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["serial_number"]
        indexes = [
            # The CSR hub finds a meter by its serial whatever the case it is typed in
            # (serial_number__iexact = UPPER(serial_number) = UPPER(%s)); the unique index on
            # the serial as stored cannot serve that.
            models.Index(Upper("serial_number"), name="meter_serial_upper_idx"),
        ]

    def __str__(self) -> str:
        return self.serial_number

    @property
    def commodity(self) -> str:
        if self.kind in (self.Kind.ELECTRIC_SINGLE_PHASE, self.Kind.ELECTRIC_POLYPHASE):
            return Commodity.ELECTRIC
        return self.kind


@pghistory.track(*audited())
class Channel(models.Model):
    """One register or interval channel of a meter."""

    class Unit(models.TextChoices):
        KWH = "kWh", "kWh"
        KW = "kW", "kW"
        KVA = "kVA", "kVA"
        KVAR = "kVAR", "kVAR"
        KVARH = "kVARh", "kVARh"
        M3 = "m3", "m³"
        USGAL = "USgal", "US gal"
        FT3 = "ft3", "ft³"

    class Direction(models.TextChoices):
        DELIVERED = "delivered", "Delivered (to the customer)"
        RECEIVED = "received", "Received (from the customer)"

    INTERVAL_CHOICES = [(5, "5 minutes"), (15, "15 minutes"), (30, "30 minutes"), (60, "60 minutes")]

    meter = models.ForeignKey(Meter, on_delete=models.CASCADE, related_name="channels")
    channel_number = models.PositiveSmallIntegerField(default=1)
    unit = models.CharField(max_length=10, choices=Unit.choices)
    direction = models.CharField(max_length=10, choices=Direction.choices, default=Direction.DELIVERED)
    interval_minutes = models.PositiveSmallIntegerField(
        choices=INTERVAL_CHOICES, null=True, blank=True, help_text="Empty for a register-only channel."
    )
    dials = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Register digits: the register rolls over at 10^dials."
    )
    resolution_decimals = models.PositiveSmallIntegerField(
        default=3, db_default=3, validators=[MaxValueValidator(6)],
        help_text="Decimals the channel's interval values are stored to (0-6). The interval store keeps "
                  "each value as an integer of this many decimals; an imported value with more decimals, "
                  "or beyond ±2,147,483,647 units of this resolution, is refused, never rounded.",
    )

    class Meta:
        ordering = ["meter_id", "channel_number", "id"]
        constraints = [
            models.UniqueConstraint(
                name="channel_unique_per_meter",
                fields=["meter", "unit", "direction", "interval_minutes"],
                nulls_distinct=False,
            ),
            models.CheckConstraint(
                name="channel_interval_length",
                condition=Q(interval_minutes__isnull=True) | Q(interval_minutes__in=[5, 15, 30, 60]),
            ),
            models.CheckConstraint(name="channel_resolution_decimals", condition=Q(resolution_decimals__lte=6)),
        ]

    def __str__(self) -> str:
        length = f"{self.interval_minutes} min" if self.interval_minutes else "register"
        return f"{self.meter.serial_number} #{self.channel_number} {self.unit} {self.direction} {length}"

    @property
    def rollover(self) -> Decimal | None:
        return Decimal(10) ** self.dials if self.dials else None


@pghistory.track(*audited())
class ChannelMultiplier(models.Model):
    """CT ratio x PT ratio x register constant, over [start_date, end_date)."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="multipliers")
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True, help_text="First day no longer in effect (exclusive).")
    ct_ratio = models.DecimalField(max_digits=12, decimal_places=4, default=Decimal(1))
    pt_ratio = models.DecimalField(max_digits=12, decimal_places=4, default=Decimal(1))
    register_constant = models.DecimalField(max_digits=12, decimal_places=6, default=Decimal(1))

    class Meta:
        ordering = ["channel_id", "start_date"]
        constraints = [
            ExclusionConstraint(
                name="multiplier_no_overlap_per_channel",
                expressions=[
                    ("channel", RangeOperators.EQUAL),
                    (DateRange("start_date", "end_date"), RangeOperators.OVERLAPS),
                ],
                violation_error_message="This channel already has a multiplier in that period.",
            ),
            models.CheckConstraint(
                name="multiplier_end_after_start",
                condition=Q(end_date__isnull=True) | Q(end_date__gt=F("start_date")),
            ),
        ]

    @property
    def multiplier(self) -> Decimal:
        return self.ct_ratio * self.pt_ratio * self.register_constant


@pghistory.track(*audited())
class Installation(models.Model):
    """Record of installation: a meter at a service point over [installed_at, removed_at)."""

    meter = models.ForeignKey(Meter, on_delete=models.PROTECT, related_name="installations")
    # cis owns service points: a real foreign key by string reference (no import of cis's models).
    service_point = models.ForeignKey("cis.ServicePoint", on_delete=models.PROTECT, related_name="+")
    commodity = models.CharField(max_length=10, choices=metered_choices())
    installed_at = models.DateTimeField()
    removed_at = models.DateTimeField(null=True, blank=True)
    install_read = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    removal_read = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["service_point_id", "installed_at"]
        constraints = [
            ExclusionConstraint(
                name="installation_meter_one_place",
                expressions=[
                    ("meter", RangeOperators.EQUAL),
                    (TstzRange("installed_at", "removed_at"), RangeOperators.OVERLAPS),
                ],
                violation_error_message="This meter is installed elsewhere in that period.",
            ),
            ExclusionConstraint(
                name="installation_one_meter_per_sp_commodity",
                expressions=[
                    ("service_point_id", RangeOperators.EQUAL),
                    ("commodity", RangeOperators.EQUAL),
                    (TstzRange("installed_at", "removed_at"), RangeOperators.OVERLAPS),
                ],
                violation_error_message="This service point already has a meter for that commodity in that period.",
            ),
            models.CheckConstraint(
                name="installation_removed_after_installed",
                condition=Q(removed_at__isnull=True) | Q(removed_at__gt=F("installed_at")),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.meter.serial_number} at SP {self.service_point_id} from {self.installed_at:%Y-%m-%d %H:%M}"


class VirtualMeter(models.Model):
    """A service point's usage as a signed sum of channels or other service points' usage.

    `formula` is {"terms": [{"channel_id": 7, "sign": 1}, {"service_point_id": 12, "sign": -1}]}:
    net = delivered - received, a building master minus the sum of its suites, a sum of meters."""

    service_point = models.OneToOneField("cis.ServicePoint", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=100, blank=True)
    formula = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["service_point_id"]

    def __str__(self) -> str:
        return self.name or f"Virtual meter of SP {self.service_point_id}"
