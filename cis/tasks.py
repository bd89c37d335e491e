from celery import shared_task

from cis import services
from core.clock import utility_today


@shared_task(name="cis.tasks.moves_apply_due")
def moves_apply_due(**kwargs) -> int:
    """Apply the pending moves whose date has come (run by Celery beat every 15 minutes)."""
    return services.moves_apply_due(today=utility_today())
