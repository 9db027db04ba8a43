from django.apps import AppConfig


class OcppAppConfig(AppConfig):
    name = "ocpp_app"
    verbose_name = "OCPP central system"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from ocpp_app import signals  # noqa: F401  (QR codes of the landing pages)
