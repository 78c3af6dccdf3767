from django.apps import AppConfig


class EscalationsConfig(AppConfig):
    name = "apps.escalations"
    label = "escalations"
    verbose_name = "Escalations and oversight"

    def ready(self) -> None:
        # Register the Celery tasks in every process (web too): the services enqueue them by
        # their registered names, which fail loudly if a task is missing.
        from apps.core.metrics import register_scrape_source
        from apps.core.nav import NavItem, register
        from apps.escalations import metrics, tasks  # noqa: F401

        register_scrape_source("escalations", metrics.escalation_metrics)
        register(
            NavItem(
                "Oversight queue",
                "escalations:queue",
                100,
                ("accounts.resolve_escalation", "accounts.view_dashboard"),
            )
        )
