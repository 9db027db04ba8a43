from django.apps import AppConfig


class OcppAppConfig(AppConfig):
    name = "ocpp_app"
    verbose_name = "OCPP central system"
    default_auto_field = "django.db.models.BigAutoField"
