from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class OcppAppConfig(AppConfig):
    name = "ocpp_app"
    verbose_name = "OCPP central system"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from ocpp_app import signals  # noqa: F401  (QR codes of the landing pages)
        from ocpp_app.models import Webhook
        from ocpp_app.services.webhooks import subscriptions_changed

        # A webhook saved or deleted here (the API, the admin) changes what
        # this process's alert intake keeps, as soon as it is committed.
        def webhooks_changed(sender, **kwargs) -> None:
            subscriptions_changed()

        # weak=False: the receiver is local to this method, and a signal holds
        # only a weak reference by default (it would be gone at once).
        post_save.connect(webhooks_changed, sender=Webhook, weak=False, dispatch_uid="ocpp_app.webhooks_changed")
        post_delete.connect(
            webhooks_changed, sender=Webhook, weak=False, dispatch_uid="ocpp_app.webhooks_changed_delete"
        )
