from django.apps import AppConfig


class CompatConfig(AppConfig):
    name = "apps.compat"
    label = "compat"
    verbose_name = "Original Lexecon API (compatibility)"
