from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from apps.core import checks  # noqa: F401 - registers the deploy checks
        from apps.core.api import schema  # noqa: F401 - registers the pydantic request schemas
