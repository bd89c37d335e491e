from django.apps import AppConfig


class ServiceOrdersConfig(AppConfig):
    name = "service_orders"
    verbose_name = "Service orders"

    def ready(self) -> None:
        from service_orders import panels

        panels.register()
