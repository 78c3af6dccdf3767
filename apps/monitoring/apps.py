from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "apps.monitoring"
    label = "monitoring"
    verbose_name = "EU AI Act monitoring (Art. 9, 14, 72)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register the Celery tasks in every process: the beat schedule names monitoring.pmm_check
        # and the services enqueue the alert e-mail by its registered name.
        from apps.monitoring import annex_iv, tasks  # noqa: F401

        annex_iv.register()

        from apps.monitoring import selectors
        from apps.techdoc.sections import register_system_section

        register_system_section(
            key="art-9-14-72",
            title="Art. 9, 14 and 72: risk, oversight, post-market monitoring",
            template="monitoring/_system_section.html",
            context=selectors.system_section_context,
        )
