from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from celery.signals import task_failure
        from django.db.models.signals import post_migrate, pre_migrate

        from apps.core import checks  # noqa: F401 - registers the deploy checks
        from apps.core.api import schema  # noqa: F401 - registers the pydantic request schemas
        from apps.core.db import migrations_done, migrations_take_task_timeouts
        from apps.core.metrics import count_celery_failure
        from apps.core.nav import NavItem, register

        # Counted in whichever process runs the task (a Celery worker, or a web worker when eager).
        task_failure.connect(count_celery_failure, dispatch_uid="lexecon.metrics.task_failure")
        # Migrations run under the long-task database limits, not the request ones.
        pre_migrate.connect(migrations_take_task_timeouts, dispatch_uid="lexecon.db.migrate")
        post_migrate.connect(migrations_done, dispatch_uid="lexecon.db.migrated")

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
