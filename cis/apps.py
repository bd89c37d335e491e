from django.apps import AppConfig


class CisConfig(AppConfig):
    name = "cis"
    verbose_name = "Customers & premises"
