"""Keep every charger's landing-page QR code in step with its id: whichever
code path creates a charger or changes its id (the OCPP core, the admin, the
API, fixtures of tests), the code is made after commit, off the thread that
saved it."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from ocpp_app.models import Charger
from ocpp_app.services.qr import charger_qr_refresh_later, qr_is_current

QR_FIELDS = {"qr_url", "qr_png", "qr_svg"}


@receiver(post_save, sender=Charger, dispatch_uid="ocpp_app.charger_qr")
def charger_saved(sender, instance: Charger, created: bool, raw: bool = False, update_fields=None, **kwargs) -> None:
    if raw:  # loaddata: the fixture carries its own values
        return
    if not created and QR_FIELDS & instance.get_deferred_fields():
        # A partial instance (.only()/.defer()): checking would cost a query
        # per save; those saves come from code that never touches the id.
        return
    if update_fields is not None and not created and "charger_id" not in update_fields:
        return  # a save of other fields cannot change the landing URL
    if not qr_is_current(instance):
        charger_qr_refresh_later(instance.pk)
