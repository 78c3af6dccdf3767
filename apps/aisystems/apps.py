from django.apps import AppConfig


class AISystemsConfig(AppConfig):
    name = "apps.aisystems"
    label = "aisystems"
    verbose_name = "AI system registry"
    default_auto_field = "django.db.models.BigAutoField"
