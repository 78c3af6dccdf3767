from django.apps import AppConfig


class CompatConfig(AppConfig):
    name = "apps.compat"
    label = "compat"
    verbose_name = "Original Lexecon API (compatibility)"

    def ready(self) -> None:
        from apps.compat import schema, system  # noqa: F401  (schema registers an extension)
        from apps.core import status_probes

        status_probes.register_fields(system.status_fields)
