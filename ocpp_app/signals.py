"""Keep every charger's landing-page QR code in step with its id: whichever
code path creates a charger or changes its id (the OCPP core, the admin, the
API, fixtures of tests), the code is made after commit, off the thread that
saved it. A registration status an operator sets reaches the charger's live
socket at once, in whichever process holds it. And a charger deleted takes
its certificates with it revoked, never merely gone."""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.db.models.signals import post_save, pre_delete
from django.dispatch import receiver

from ocpp_app.models import Charger
from ocpp_app.services.certificates import charger_certificates_revoke
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


logger = logging.getLogger("ocpp_app.signals")


@receiver(post_save, sender=Charger, dispatch_uid="ocpp_app.charger_registration")
def charger_registration_saved(sender, instance: Charger, created: bool, raw: bool = False, update_fields=None, **kw):
    """A save that may have changed the registration status (the admin's
    form, the API's PATCH): once committed, the process holding the
    charger's socket is told, through its mailbox channel, so a Rejected
    charger gets SecurityError from its very next CALL, not after its next
    boot."""
    if raw or created or (update_fields is not None and "registration_status" not in update_fields):
        return
    loaded = getattr(instance, "loaded_registration_status", None)
    if loaded is not None and loaded == instance.registration_status:
        return  # saved, but the status is the one read from the database
    instance.loaded_registration_status = instance.registration_status
    transaction.on_commit(lambda: _tell_live_socket(instance.pk))


def _tell_live_socket(pk: int) -> None:
    row = Charger.objects.filter(pk=pk, connected=True).values_list("charger_id", "channel_name", "registration_status")
    for charger_id, channel_name, status in row:
        if not channel_name:
            continue
        message = {"type": "ocpp.registration", "charger_id": charger_id, "registration_status": status}
        try:
            async_to_sync(get_channel_layer().send)(channel_name, message)
        except Exception:
            # The status is stored; the socket learns it at its next boot.
            logger.warning("charger %s: could not tell its socket about its registration", charger_id, exc_info=True)


@receiver(pre_delete, sender=Charger, dispatch_uid="ocpp_app.charger_certificates")
def charger_deleting(sender, instance: Charger, **kwargs) -> None:
    """Its issued certificates go with it (cascade): their serials stay
    revoked, so a charger created again under the same id is not admitted
    with one of them."""
    charger_certificates_revoke(charger_pk=instance.pk)
