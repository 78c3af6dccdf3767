from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "apps.compliance"
    label = "compliance"
    verbose_name = "Compliance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register the Celery tasks in every process (the beat schedule names them).
        from apps.compliance import tasks  # noqa: F401
        from apps.core.nav import NavItem, register

        # The controls and their statuses (the admin pages): not for reviewers (#19).
        register(
            NavItem(
                "Compliance",
                "admin:compliance_control_changelist",
                300,
                ("accounts.view_dashboard",),
                visible=lambda user: user.is_staff,
            )
        )
