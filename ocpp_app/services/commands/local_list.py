"""Local Auth List Management commands: the charger's local list of id tags
and its version, as the central system last set or read them."""

from ocpp_app.models import Charger, LocalListEntry
from ocpp_app.services.commands.base import OperatorCommand, check_id_tags, optional_datetime
from ocpp_app.services.common import clip


class SendLocalList(OperatorCommand):
    action = "SendLocalList"

    def check(self, charger: Charger, payload: dict) -> None:
        for n, entry in enumerate(payload.get("localAuthorizationList") or []):
            info = entry.get("idTagInfo") or {}
            check_id_tags(**{f"localAuthorizationList[{n}].idTag": entry.get("idTag")})
            check_id_tags(**{f"localAuthorizationList[{n}].idTagInfo.parentIdTag": info.get("parentIdTag")})

    def apply(self, charger: Charger, request: dict, response: dict) -> None:
        """An accepted list: Full replaces ours, Differential updates it and
        removes the tags sent without idTagInfo; the version follows."""
        if response.get("status") != "Accepted":
            return  # Failed, NotSupported, VersionMismatch: the charger's list is unchanged
        if request.get("updateType") == "Full":
            LocalListEntry.objects.filter(charger=charger).delete()
        for entry in request.get("localAuthorizationList") or []:
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
                    "expiry_date": optional_datetime(info.get("expiryDate")),
                    "parent_id_tag": clip(info.get("parentIdTag"), 20),
                },
            )
        Charger.objects.filter(pk=charger.pk).update(local_list_version=request.get("listVersion"))


class GetLocalListVersion(OperatorCommand):
    action = "GetLocalListVersion"

    def apply(self, charger: Charger, request: dict, response: dict) -> None:
        Charger.objects.filter(pk=charger.pk).update(local_list_version=response.get("listVersion"))
