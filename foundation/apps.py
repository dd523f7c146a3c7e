from django.apps import AppConfig


class FoundationConfig(AppConfig):
    name = "foundation"
    verbose_name = "Audit and API records"
    default_auto_field = "django.db.models.BigAutoField"
