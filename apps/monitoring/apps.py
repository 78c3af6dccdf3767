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

        from apps.monitoring import selectors, services
        from apps.retention.services import TextEraser, register_text_eraser
        from apps.techdoc.sections import register_system_section

        register_system_section(
            key="art-9-14-72",
            title="Art. 9, 14 and 72: risk, oversight, post-market monitoring",
            template="monitoring/_system_section.html",
            context=selectors.system_section_context,
        )
        # The retention sweep erases interventions' reasons with the decision's other texts.
        register_text_eraser(
            TextEraser(
                name="monitoring.interventions",
                erase=services.intervention_texts_erase,
                decisions_with_texts=services.intervention_decision_ids,
                changed_since=services.interventions_since,
            )
        )
