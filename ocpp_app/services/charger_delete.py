"""Deleting a charger on an operator's word. Every table that records a
charger's life points at its row with ON DELETE CASCADE: deleting the row
deletes its sessions and meter readings, commands, reservations, charging
profiles, events, status history, CSRs and certificate records with it (the
message log is keyed by the id text and stays until retention prunes it).
Nothing can be kept without the row, so the rule is:

- a charger with sessions or meter readings is deleted only when the
  operator says their data goes too (`remove_data`);
- a charger connected right now is deleted only when forced, and its
  socket is then told to close (through the mailbox channel of the process
  holding it), so it comes back as an unknown charger (OCPP_UNKNOWN_CHARGERS)
  rather than speaking on under a row that is gone;
- its issued certificates are revoked first, by the rule every delete goes
  through (services/certificates.charger_certificates_revoke, also run by
  the pre_delete signal for the admin's deletes): their serials stay revoked."""

import logging
from dataclasses import dataclass, field

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from ocpp_app.models import Charger, MeterReading, Transaction
from ocpp_app.runtime.charger_log import charger_log
from ocpp_app.services.certificates import charger_certificates_revoke

logger = logging.getLogger("ocpp_app.services")


class ChargerConnected(Exception):
    """The charger has a live connection and the delete was not forced."""


@dataclass
class ChargerHasData(Exception):
    """The charger has sessions or meter readings and their removal was not asked."""

    transactions: int
    meter_readings: int


@dataclass(frozen=True)
class ChargerDeleted:
    charger_id: str
    certificates_revoked: int
    was_connected: bool
    # Rows deleted with it, by the charger's name for them (transactions, meter_readings, ...).
    deleted: dict[str, int] = field(default_factory=dict)


def _accessors() -> dict[str, str]:
    """Model label -> the name a charger has for its rows of that model."""
    return {rel.related_model._meta.label: rel.get_accessor_name() for rel in Charger._meta.related_objects}


def charger_delete(*, charger_id: str, remove_data: bool = False, force: bool = False) -> ChargerDeleted:
    """Delete the charger `charger_id` (raises Charger.DoesNotExist,
    ChargerConnected, ChargerHasData), its certificates revoked first."""
    with transaction.atomic():
        charger = (
            Charger.objects.select_for_update()
            .only("pk", "charger_id", "connected", "channel_name")
            .get(charger_id=charger_id)
        )
        if charger.connected and not force:
            raise ChargerConnected(charger_id)
        if not remove_data:
            sessions = Transaction.objects.filter(charger=charger).count()
            readings = MeterReading.objects.filter(charger=charger).count()
            if sessions or readings:
                raise ChargerHasData(transactions=sessions, meter_readings=readings)
        revoked = charger_certificates_revoke(charger_pk=charger.pk)
        _, by_model = charger.delete()
        if charger.connected and charger.channel_name:
            channel = charger.channel_name
            transaction.on_commit(lambda: _close_socket(charger_id, channel))
    names = _accessors()
    deleted = {names.get(label, label): count for label, count in by_model.items() if label != Charger._meta.label}
    charger_log(charger_id, f"deleted by an operator ({revoked} certificate(s) revoked)")
    return ChargerDeleted(
        charger_id=charger_id, certificates_revoked=revoked, was_connected=charger.connected, deleted=deleted
    )


def _close_socket(charger_id: str, channel: str) -> None:
    # The one notice every process's charger socket already obeys: a
    # connection other than its own holds the charger now, so it closes.
    notice = {"type": "ocpp.replaced", "charger_id": charger_id, "connection_id": "deleted"}
    try:
        async_to_sync(get_channel_layer().send)(channel, notice)
    except Exception:
        # The row is gone; the socket closes when its charger next notices.
        logger.warning("charger %s: deleted, but its socket could not be told to close", charger_id, exc_info=True)
