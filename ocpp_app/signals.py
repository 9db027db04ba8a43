"""Keep every charger's landing-page QR code in step with its id."""

import logging

from django.db.models.signals import post_save
from django.dispatch import receiver

from ocpp_app.models import Charger
from ocpp_app.services.qr import charger_qr_refresh, charger_qr_refresh_later, qr_codes_deferred

logger = logging.getLogger(__name__)

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
    if created and qr_codes_deferred():
        charger_qr_refresh_later(instance.pk)
        return
    try:
        charger_qr_refresh(instance)
    except Exception:
        # The core saves chargers while a charge point waits for its answer: a
        # sticker image must never break that. The QR endpoints retry later.
        logger.exception("could not make the QR code of charger %s", instance.charger_id)
