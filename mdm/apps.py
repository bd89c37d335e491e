from django.apps import AppConfig


class MdmConfig(AppConfig):
    name = "mdm"
    verbose_name = "Meter data management"

    def ready(self) -> None:
        from mdm import panels

        panels.register()
