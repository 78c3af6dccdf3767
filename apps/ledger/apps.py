from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "apps.ledger"
    label = "ledger"
    verbose_name = "Ledger"

    def ready(self) -> None:
        from apps.core import status_probes
        from apps.core.metrics import register_scrape_source
        from apps.ledger import metrics, selectors, tasks  # noqa: F401  (registers the Celery tasks)

        status_probes.register_ledger_head(selectors.ledger_head_summary)
        register_scrape_source("ledger", metrics.ledger_metrics)

        from apps.core.nav import NavItem, register

        # Officers, auditors and admins: the permission the pages check (ADR 0029).
        register(NavItem("Ledger", "ledger:entries", 700, ("accounts.view_audit_logs",)))
