from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "apps.dashboard"
    label = "dashboard"
    verbose_name = "Dashboard"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The roll-up task is named in the beat schedule: register it in every process.
        from apps.core.nav import NavItem, register
        from apps.dashboard import tasks  # noqa: F401

        register(NavItem("Dashboard", "dashboard:home", 50, ("accounts.view_dashboard",)))
