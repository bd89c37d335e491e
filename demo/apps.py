from django.apps import AppConfig

from core.background import preparation_source_register


class DemoConfig(AppConfig):
    """The demo utility: synthetic customers, meters, AMI files and billing set-up, loaded only
    through the other apps' public services and selectors. Production installs may leave it out
    of INSTALLED_APPS; nothing else imports it."""

    name = "demo"
    verbose_name = "Demo utility"

    def ready(self) -> None:
        from demo.preparation import demo_preparation_steps

        # What the demo still loads in the background shows on the start banner and the hubs.
        preparation_source_register("demo", demo_preparation_steps)
