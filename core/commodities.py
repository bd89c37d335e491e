"""The one list of commodities a utility serves. cis's service points use all of them; mdm's
meters measure the metered ones (a streetlight is usually unmetered, sewer is billed on water)."""
from __future__ import annotations

from django.db import models


class Commodity(models.TextChoices):
    ELECTRIC = "electric", "Electric"
    WATER = "water", "Water"
    GAS = "gas", "Gas"
    STREETLIGHT = "streetlight", "Streetlight"
    SEWER = "sewer", "Sewer"


# What a meter can measure (mdm.Meter.commodity).
METERED = (Commodity.ELECTRIC, Commodity.WATER, Commodity.GAS)


def metered_choices() -> list[tuple[str, str]]:
    return [(c.value, c.label) for c in METERED]
