"""Firmware Management commands, and the Security extension's signed firmware
update. Nothing is kept from their answers: the charger's later status
notifications are linked to the command instead (services/notifications.py)."""

import base64
import binascii
import secrets

from django.utils import timezone

from ocpp_app.lib.timeparse import format_datetime_utc
from ocpp_app.models import Charger
from ocpp_app.services.commands.base import (
    BadCommand,
    OperatorCommand,
    check_not_negative,
    check_time_order,
    plain_commands,
)
from ocpp_app.services.firmware import FirmwareError, firmware_signed, firmware_url

plain_commands("UpdateFirmware")


class GetDiagnostics(OperatorCommand):
    action = "GetDiagnostics"

    def check(self, charger: Charger, payload: dict) -> None:
        check_time_order(payload, "startTime", "stopTime")
        check_not_negative(payload, "retries", "retryInterval")


PEM_CERTIFICATE = "-----BEGIN CERTIFICATE-----"


class SignedUpdateFirmware(OperatorCommand):
    """By its short name, `signed_firmware` with {"firmware": <stored name>}
    (and optionally retrieveDateTime, installDateTime, retries,
    retryInterval, requestId), the payload is made from a file uploaded
    before (services/firmware.py): its download URL under OCPP_PUBLIC_URL,
    its signature and the signing certificate. A full payload is sent as
    given, once its signature is base64 and its certificate PEM."""

    action = "SignedUpdateFirmware"
    short = "signed_firmware"

    def fill(self, charger: Charger, payload: dict) -> dict:
        name = payload.pop("firmware", None)
        if not isinstance(name, str):
            raise BadCommand('signed_firmware needs "firmware": the name of an uploaded firmware file')
        try:
            signed = firmware_signed(name)
        except FirmwareError as exc:
            raise BadCommand(str(exc)) from None
        return signed_update_payload(
            location=firmware_url(signed.name),
            signature=signed.signature,
            signing_certificate=signed.signing_certificate,
            **payload,
        )

    def check(self, charger: Charger, payload: dict) -> None:
        firmware = payload.get("firmware") or {}
        if not str(firmware.get("signingCertificate", "")).lstrip().startswith(PEM_CERTIFICATE):
            raise BadCommand("firmware.signingCertificate must be a PEM certificate")
        try:
            base64.b64decode(str(firmware.get("signature", "")), validate=True)
        except (binascii.Error, ValueError):
            raise BadCommand("firmware.signature must be base64") from None


def signed_update_payload(
    *,
    location: str,
    signature: str,
    signing_certificate: str,
    retrieveDateTime: str | None = None,  # noqa: N803 (OCPP's names, as the operator gives them)
    installDateTime: str | None = None,  # noqa: N803
    requestId: int | None = None,  # noqa: N803
    **rest,
) -> dict:
    """The wire payload of a SignedUpdateFirmware; retrieveDateTime defaults
    to now, requestId to a random one (its status notifications carry it)."""
    firmware = {
        "location": location,
        "retrieveDateTime": retrieveDateTime or format_datetime_utc(timezone.now()),
        "signingCertificate": signing_certificate,
        "signature": signature,
    }
    if installDateTime:
        firmware["installDateTime"] = installDateTime
    payload = {"requestId": requestId if requestId is not None else secrets.randbelow(2**31 - 1) + 1}
    payload["firmware"] = firmware
    payload.update({key: value for key, value in rest.items() if key in ("retries", "retryInterval")})
    return payload
