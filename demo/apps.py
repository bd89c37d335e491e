from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo utility: synthetic customers, meters, AMI files and billing set-up, loaded only
    through the other apps' public services and selectors. Production installs may leave it out
    of INSTALLED_APPS; nothing else imports it."""

    name = "demo"
    verbose_name = "Demo utility"
