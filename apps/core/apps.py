from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from apps.core import checks  # noqa: F401 - registers the deploy checks
        from apps.core.api import schema  # noqa: F401 - registers the pydantic request schemas
        from apps.core.nav import NavItem, register

        # The administration pages, for the roles that have something to read there (a reviewer
        # would find an empty index: their pages are the queue's).
        register(
            NavItem(
                "Records",
                "admin:index",
                900,
                ("accounts.view_dashboard", "accounts.view_audit_logs", "accounts.manage_users"),
                visible=lambda user: user.is_staff,
            )
        )
        register(NavItem("API", "docs", 950))
