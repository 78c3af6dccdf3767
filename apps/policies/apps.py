from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    name = "apps.policies"
    label = "policies"
    verbose_name = "Policies"

    def ready(self) -> None:
        from apps.core.nav import NavItem, register

        register(
            NavItem(
                "Policies",
                "policies:versions",
                700,
                ("accounts.view_dashboard", "accounts.view_audit_logs", "accounts.manage_policies"),
            )
        )
