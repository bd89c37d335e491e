from django.apps import AppConfig

from core.runs.registry import RunKind, register_run_kind


class MdmConfig(AppConfig):
    name = "mdm"
    verbose_name = "Meter data management"

    def ready(self) -> None:
        from mdm import panels, tasks
        from mdm.importing import import_run_resume
        from mdm.models import ImportChunk, VeeRunChunk

        panels.register()
        # The core.runs sweeper resumes imports and VEE runs whose worker died.
        # An import's resume first writes the chunk rows a prepare cut off between batches did not.
        register_run_kind(RunKind(
            "mdm.import", ImportChunk, tasks.import_chunks_enqueue,
            resume=lambda *, run_id, now, enqueue: import_run_resume(import_run_id=run_id, now=now, enqueue=enqueue)))
        register_run_kind(RunKind("mdm.vee", VeeRunChunk, tasks.vee_chunks_enqueue))
