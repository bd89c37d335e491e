from celery import shared_task
from django.utils import timezone

from cis import services


@shared_task(name="cis.tasks.moves_apply_due")
def moves_apply_due(**kwargs) -> int:
    """Apply the pending moves whose date has come (run by Celery beat every 15 minutes)."""
    return services.moves_apply_due(today=timezone.localdate(timezone=_local_tz()))


def _local_tz():
    import zoneinfo

    from django.conf import settings

    return zoneinfo.ZoneInfo(settings.UTILIS_LOCAL_TIME_ZONE)
