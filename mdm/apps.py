from django.apps import AppConfig

from core.runs.registry import RunKind, register_run_kind


class MdmConfig(AppConfig):
    name = "mdm"
    verbose_name = "Meter data management"

    def ready(self) -> None:
        from mdm import panels, tasks
        from mdm.models import ImportChunk, VeeRunChunk

        panels.register()
        # The core.runs sweeper resumes imports and VEE runs whose worker died.
        register_run_kind(RunKind("mdm.import", ImportChunk, tasks.import_chunks_enqueue))
        register_run_kind(RunKind("mdm.vee", VeeRunChunk, tasks.vee_chunks_enqueue))
