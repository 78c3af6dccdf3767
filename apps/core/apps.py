from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from celery.signals import task_failure

        from apps.core import checks  # noqa: F401 - registers the deploy checks
        from apps.core.api import schema  # noqa: F401 - registers the pydantic request schemas
        from apps.core.metrics import count_celery_failure
        from apps.core.nav import NavItem, register

        # Counted in whichever process runs the task (a Celery worker, or a web worker when eager).
        task_failure.connect(count_celery_failure, dispatch_uid="lexecon.metrics.task_failure")

        register(NavItem("Records", "admin:index", 900, visible=lambda user: user.is_staff))
        register(NavItem("API", "docs", 950))
