from django.apps import AppConfig

from core.runs.registry import RunKind, register_run_kind


def _enqueue_chunks(run_id: int, numbers: list[int]) -> None:
    from billing.tasks import bill_run_chunk  # the task module imports the models

    for number in numbers:
        bill_run_chunk.delay(bill_run_id=run_id, chunk_number=number)


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self) -> None:
        from billing import panels
        from billing.models import BillRunChunk

        panels.register()
        # The core.runs sweeper resumes bill runs whose worker died.
        register_run_kind(RunKind("billing.bill_run", BillRunChunk, _enqueue_chunks))
