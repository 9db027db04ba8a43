"""What the central system keeps from a charger's answer to a command: the
configuration it read, its local list, reservations, charging profiles,
data transfers, and a rotated Basic-auth password."""

from datetime import UTC, datetime

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ocpp_app.models import (
    Charger,
    ChargingProfileRecord,
    DataTransferRecord,
    Direction,
    LocalListEntry,
    Reservation,
    ReservationStatus,
)
from ocpp_app.services.chargers import charger_set_password
from ocpp_app.services.common import clip

AUTHORIZATION_KEY = "AuthorizationKey"
REDACTED = "********"


def is_authorization_key(key) -> bool:
    """Configuration key names are case-insensitive (OCPP 1.6 §9): any spelling
    of AuthorizationKey is the Basic-auth password."""
    return isinstance(key, str) and key.casefold() == AUTHORIZATION_KEY.casefold()


def _config_keys(charger: Charger) -> dict:
    config = charger.config if isinstance(charger.config, dict) else {}
    keys = config.get("configurationKey")
    if not isinstance(keys, dict):
        keys = {}
    return keys


def _on_get_configuration(charger: Charger, request: dict, response: dict) -> None:
    """Merge the keys read into config["configurationKey"] (key -> {value,
    readonly}); a partial read updates only the keys it names."""
    charger.refresh_from_db(fields=["config"])
    config = dict(charger.config) if isinstance(charger.config, dict) else {}
    keys = _config_keys(charger)
    for item in response.get("configurationKey") or []:
        value = item.get("value")
        if is_authorization_key(item.get("key")) and value:
            value = REDACTED
        keys[item["key"]] = {"value": value, "readonly": bool(item.get("readonly"))}
    config["configurationKey"] = keys
    config["unknownKey"] = list(response.get("unknownKey") or [])
    config["configurationReadAt"] = timezone.now().isoformat()
    charger.config = config
    charger.save(update_fields=["config", "updated_at"])


def _on_change_configuration(charger: Charger, request: dict, response: dict) -> None:
    status = response.get("status")
    if status not in ("Accepted", "RebootRequired"):
        return  # Rejected / NotSupported: the charger keeps its value, and we our password
    key, value = request.get("key"), request.get("value")
    if is_authorization_key(key):
        # Security whitepaper A01: the charger now holds the new key, so it is
        # the only Basic-auth password that opens its next connection.
        charger_set_password(charger_id=charger.charger_id, password=value)
        value = REDACTED
    charger.refresh_from_db(fields=["config"])
    config = dict(charger.config) if isinstance(charger.config, dict) else {}
    keys = _config_keys(charger)
    keys[key] = {**(keys.get(key) or {"readonly": False}), "value": value}
    config["configurationKey"] = keys
    charger.config = config
    charger.save(update_fields=["config", "updated_at"])


def _parse_dt(value) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:  # well-formed but impossible, e.g. month 13
        return None
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, UTC)
    return parsed


def _on_send_local_list(charger: Charger, request: dict, response: dict) -> None:
    if response.get("status") != "Accepted":
        return  # Failed, NotSupported, VersionMismatch: the charger's list is unchanged
    entries = request.get("localAuthorizationList") or []
    if request.get("updateType") == "Full":
        LocalListEntry.objects.filter(charger=charger).delete()
    for entry in entries:
        info = entry.get("idTagInfo")
        if info is None:
            # Differential without idTagInfo removes the tag (Full never has it).
            LocalListEntry.objects.filter(charger=charger, id_tag=entry["idTag"]).delete()
            continue
        LocalListEntry.objects.update_or_create(
            charger=charger,
            id_tag=entry["idTag"],
            defaults={
                "status": clip(info.get("status"), 16),
                "expiry_date": _parse_dt(info.get("expiryDate")),
                "parent_id_tag": clip(info.get("parentIdTag"), 20),
            },
        )
    Charger.objects.filter(pk=charger.pk).update(local_list_version=request.get("listVersion"))


def _on_get_local_list_version(charger: Charger, request: dict, response: dict) -> None:
    Charger.objects.filter(pk=charger.pk).update(local_list_version=response.get("listVersion"))


def reservations_expire(*, now: datetime | None = None) -> int:
    """Mark accepted reservations whose expiry date has passed as Expired (the
    charger frees the connector by itself then; OCPP sends no message)."""
    return Reservation.objects.filter(
        status__in=[ReservationStatus.REQUESTED, ReservationStatus.ACCEPTED], expiry_date__lte=now or timezone.now()
    ).update(status=ReservationStatus.EXPIRED)


def _on_reserve_now(charger: Charger, request: dict, response: dict) -> None:
    reservations_expire()
    status = response.get("status")
    if status not in ReservationStatus.values:
        status = ReservationStatus.REJECTED
    Reservation.objects.update_or_create(
        reservation_id=request["reservationId"],
        defaults={
            "charger": charger,
            "connector_id": request["connectorId"],
            "id_tag": request["idTag"],
            "parent_id_tag": clip(request.get("parentIdTag"), 20),
            "expiry_date": _parse_dt(request.get("expiryDate")) or timezone.now(),
            "status": status,
            "transaction": None,
        },
    )


def _on_cancel_reservation(charger: Charger, request: dict, response: dict) -> None:
    if response.get("status") == "Accepted":
        Reservation.objects.filter(charger=charger, reservation_id=request["reservationId"]).update(
            status=ReservationStatus.CANCELLED
        )


def _on_set_charging_profile(charger: Charger, request: dict, response: dict) -> None:
    profile = request.get("csChargingProfiles") or {}
    status = response.get("status") or ""
    now = timezone.now()
    if status == "Accepted":
        # A profile replaces the one with the same id, and the one with the same
        # purpose and stack level on the same connector (Smart Charging §3.13.2).
        ChargingProfileRecord.objects.filter(charger=charger, cleared_at__isnull=True).filter(
            charging_profile_id=profile.get("chargingProfileId")
        ).update(cleared_at=now)
        ChargingProfileRecord.objects.filter(
            charger=charger,
            cleared_at__isnull=True,
            connector_id=request.get("connectorId"),
            purpose=profile.get("chargingProfilePurpose"),
            stack_level=profile.get("stackLevel"),
        ).update(cleared_at=now)
    ChargingProfileRecord.objects.create(
        charger=charger,
        connector_id=request.get("connectorId"),
        charging_profile_id=profile.get("chargingProfileId"),
        stack_level=profile.get("stackLevel") or 0,
        purpose=clip(profile.get("chargingProfilePurpose"), 40),
        kind=clip(profile.get("chargingProfileKind"), 20),
        profile=profile,
        status=clip(status, 20),
        # A profile the charger did not take is on record but not in force.
        cleared_at=None if status == "Accepted" else now,
    )


def _on_clear_charging_profile(charger: Charger, request: dict, response: dict) -> None:
    if response.get("status") != "Accepted":
        return
    profiles = ChargingProfileRecord.objects.filter(charger=charger, cleared_at__isnull=True)
    if request.get("id") is not None:
        profiles = profiles.filter(charging_profile_id=request["id"])
    if request.get("connectorId") is not None:
        profiles = profiles.filter(connector_id=request["connectorId"])
    if request.get("chargingProfilePurpose") is not None:
        profiles = profiles.filter(purpose=request["chargingProfilePurpose"])
    if request.get("stackLevel") is not None:
        profiles = profiles.filter(stack_level=request["stackLevel"])
    profiles.update(cleared_at=timezone.now())


def _on_data_transfer(charger: Charger, request: dict, response: dict) -> None:
    data = request.get("data")
    answer = response.get("data")
    DataTransferRecord.objects.create(
        charger=charger,
        direction=Direction.OUT,
        vendor_id=clip(request.get("vendorId"), 255),
        message_id=clip(request.get("messageId"), 50),
        data=data if isinstance(data, str) else ("" if data is None else str(data)),
        status=clip(response.get("status"), 20),
        response_data=answer if isinstance(answer, str) else ("" if answer is None else str(answer)),
    )


EFFECTS = {
    "GetConfiguration": _on_get_configuration,
    "ChangeConfiguration": _on_change_configuration,
    "SendLocalList": _on_send_local_list,
    "GetLocalListVersion": _on_get_local_list_version,
    "ReserveNow": _on_reserve_now,
    "CancelReservation": _on_cancel_reservation,
    "SetChargingProfile": _on_set_charging_profile,
    "ClearChargingProfile": _on_clear_charging_profile,
    "DataTransfer": _on_data_transfer,
}
