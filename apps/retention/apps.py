from django.apps import AppConfig
from django.apps import apps as installed


class RetentionConfig(AppConfig):
    name = "apps.retention"
    label = "retention"
    verbose_name = "Record-keeping (retention, legal holds)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.evidence import services as evidence
        from apps.retention import services

        # Seam 2: the evidence expiry asks our legal holds (evidence sits below us and cannot
        # import us). Idempotent: ready() may run more than once in tests.
        if services.artifact_held not in evidence.legal_hold_checks:
            evidence.legal_hold_checks.append(services.artifact_held)
        # Register the Celery task in every process (web too), as beat sends it by name.
        from apps.retention import tasks  # noqa: F401

        # Seam 1: our part of Annex IV item 3, once apps.techdoc is there (wired at merge).
        if installed.is_installed("apps.techdoc"):
            from apps.retention import selectors
            from apps.retention.annex_iv import register
            from apps.techdoc.sections import register_system_section

            register()
            register_system_section(
                key="art-12",
                title="Art. 12 and 19: record-keeping",
                template="retention/_system_section.html",
                context=lambda system, principal=None: selectors.system_section_context(system),
            )
