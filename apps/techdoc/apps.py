from django.apps import AppConfig


class TechdocConfig(AppConfig):
    name = "apps.techdoc"
    label = "techdoc"
    verbose_name = "Technical documentation (EU AI Act Art. 11)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The product's own Annex IV providers: registry, oversight configuration, logging,
        # changes, and the officer's narratives (apps.techdoc.providers).
        from apps.techdoc import providers

        providers.register_all()

        from apps.core.nav import NavItem, register

        register(NavItem("AI systems", "techdoc:systems", 400, ("accounts.view_dashboard",)))
