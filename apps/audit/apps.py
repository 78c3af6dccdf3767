from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "apps.audit"
    label = "audit"
    verbose_name = "Audit exports and evidence packages"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register the Celery tasks in every process: the request enqueues ``audit.export_run``
        # by its registered name, and beat runs ``audit.purge_expired``.
        from apps.audit import tasks  # noqa: F401
        from apps.core.nav import NavItem, register

        register(NavItem("Exports", "audit:exports", 700, ("accounts.export_evidence",)))
