"""Smart Charging commands: the charging profiles in force on each connector."""

from django.utils import timezone

from ocpp_app.models import Charger, ChargingProfileRecord
from ocpp_app.services.commands.base import BadCommand, OperatorCommand, check_not_negative, check_time_order
from ocpp_app.services.common import clip


def check_profile(profile: dict, *, prefix: str = "") -> None:
    """Refuse (BadCommand) a charging profile no charger can apply though
    the schema allows it: a validity that ends before it starts, negative
    durations, periods or limits, periods out of order."""
    check_time_order(profile, "validFrom", "validTo", prefix=prefix)
    schedule = profile.get("chargingSchedule")
    if not isinstance(schedule, dict):
        return
    inner = f"{prefix}chargingSchedule."
    check_not_negative(schedule, "duration", "minChargingRate", prefix=inner)
    periods = schedule.get("chargingSchedulePeriod")
    if not isinstance(periods, list):
        return
    previous = None
    for n, period in enumerate(periods):
        if not isinstance(period, dict):
            continue
        field = f"{inner}chargingSchedulePeriod[{n}]."
        check_not_negative(period, "startPeriod", "limit", prefix=field)
        start = period.get("startPeriod")
        if not isinstance(start, int) or isinstance(start, bool):
            continue  # the schema's
        if n == 0 and start != 0:
            raise BadCommand(f"{field}startPeriod: the first period starts at 0")
        if previous is not None and start <= previous:
            raise BadCommand(f"{field}startPeriod: must be after the period before ({previous} s)")
        previous = start


class SetChargingProfile(OperatorCommand):
    action = "SetChargingProfile"

    def check(self, charger: Charger, payload: dict) -> None:
        profile = payload.get("csChargingProfiles")
        if isinstance(profile, dict):
            check_profile(profile, prefix="csChargingProfiles.")

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

    def check(self, charger: Charger, payload: dict) -> None:
        duration = payload.get("duration")
        if isinstance(duration, int) and not isinstance(duration, bool) and duration < 1:
            raise BadCommand("duration: give a number of seconds above 0")
