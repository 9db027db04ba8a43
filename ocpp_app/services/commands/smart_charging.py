"""Smart Charging commands: the charging profiles in force on each connector."""

from django.utils import timezone

from ocpp_app.models import Charger, ChargingProfileRecord
from ocpp_app.services.commands.base import OperatorCommand
from ocpp_app.services.common import clip


class SetChargingProfile(OperatorCommand):
    action = "SetChargingProfile"

    def apply(self, charger: Charger, request: dict, response: dict) -> None:
        profile = request.get("csChargingProfiles") or {}
        status = response.get("status") or ""
        now = timezone.now()
        if status == "Accepted":
            # A profile replaces the one with the same id, and the one with the
            # same purpose and stack level on the same connector (Smart
            # Charging §3.13.2).
            in_force = ChargingProfileRecord.objects.filter(charger=charger, cleared_at__isnull=True)
            in_force.filter(charging_profile_id=profile.get("chargingProfileId")).update(cleared_at=now)
            in_force.filter(
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


class ClearChargingProfile(OperatorCommand):
    action = "ClearChargingProfile"

    def apply(self, charger: Charger, request: dict, response: dict) -> None:
        """Accepted: the profiles matching every criterion given are cleared."""
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


class GetCompositeSchedule(OperatorCommand):
    action = "GetCompositeSchedule"
