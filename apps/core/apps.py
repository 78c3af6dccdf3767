from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from apps.core import checks  # noqa: F401 - registers the deploy checks
        from apps.core.api import schema  # noqa: F401 - registers the pydantic request schemas
        from apps.core.nav import NavItem, register

        register(NavItem("Records", "admin:index", 900, visible=lambda user: user.is_staff))
        register(NavItem("API", "docs", 950))
