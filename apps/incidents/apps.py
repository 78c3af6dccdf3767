from django.apps import AppConfig
from django.apps import apps as registry


class IncidentsConfig(AppConfig):
    name = "apps.incidents"
    label = "incidents"
    verbose_name = "Serious incidents (EU AI Act Art. 73)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register the Celery tasks in every process (the services enqueue the e-mail task by
        # its registered name) and the calendar's system check.
        from apps.incidents import checks, selectors, tasks  # noqa: F401
        from apps.retention.holds import register_hold_source

        # An open incident keeps its decisions and evidence from retention (ADR 0023).
        register_hold_source("incidents", selectors.open_incident_holds)

        from apps.core.nav import NavItem, register

        # The incidents' read-only admin pages, for whoever may read incidents (view_dashboard).
        register(
            NavItem(
                "Incidents",
                "admin:incidents_incident_changelist",
                450,
                ("accounts.view_dashboard",),
            )
        )

        # Annex IV item 9 (the incidents part), when the technical documentation app is there
        # (seam 1 of issue 17: apps.techdoc owns the registry of section providers).
        if registry.is_installed("apps.techdoc"):
            from apps.incidents import annex_iv
            from apps.techdoc.annex_iv import SectionPart, register_provider

            register_provider(9, annex_iv.make_provider(SectionPart), key="incidents")

            from apps.techdoc.sections import register_system_section

            register_system_section(
                key="art-73",
                title="Art. 73: serious incidents and the AI Act calendar",
                template="incidents/_system_section.html",
                context=lambda system, principal=None: selectors.system_section_context(system),
            )
