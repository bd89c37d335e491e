from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"

    def ready(self) -> None:
        from integrations import bai2_lockbox, lockbox_csv
        from integrations.payment_gateways import registry as payment_gateways
        from integrations.registry import register_read_formats

        register_read_formats()
        lockbox_csv.register()  # the CSV remittance layout, into billing's remittance registry
        bai2_lockbox.register()  # BAI2 files (the bai2 package), into the same registry
        payment_gateways.register()  # card gateway adapters, into billing's gateway registry
