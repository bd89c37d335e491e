"""The portal's background work: the alerts beat job and its chunks (portal.alerts)."""
from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from core.clock import utility_today, utility_zone
from portal import alerts

ALERT_CHUNK = 200


@shared_task(name="portal.tasks.alerts_scan")
def alerts_scan(**kwargs) -> int:
    """Beat, every alerts.ALERT_SCAN_MINUTES: queue one chunk per ALERT_CHUNK links with an alert on."""
    link_ids = alerts.links_with_alerts()
    for i in range(0, len(link_ids), ALERT_CHUNK):
        alerts_send_chunk.delay(link_ids=link_ids[i:i + ALERT_CHUNK])
    return len(link_ids)


@shared_task(name="portal.tasks.alerts_send_chunk")
def alerts_send_chunk(*, link_ids: list[int], **kwargs) -> int:
    """Mail the new alerts of these links (each at most once: portal.alerts)."""
    now, today, tz = timezone.now(), utility_today(), utility_zone()
    return sum(alerts.alerts_send_for_link(link_id=link_id, now=now, today=today, tz=tz) for link_id in link_ids)
