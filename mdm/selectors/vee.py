"""Reads of VEE's results: the open worklist and a meter's latest findings."""
from __future__ import annotations

from mdm.models import VeeFinding, VeeWorklistItem


def worklist_open(*, limit: int = 200):
    return (
        VeeWorklistItem.objects.filter(status=VeeWorklistItem.Status.OPEN)
        .select_related("channel__meter").order_by("local_date", "channel_id", "rule")[:limit]
    )


def latest_findings_for_meter(*, meter_id: int, limit: int = 20):
    return VeeFinding.objects.filter(channel__meter_id=meter_id).select_related("channel").order_by("-local_date", "-id")[:limit]
