"""Core profile commands: sessions, resets, connectors, availability,
configuration (with the AuthorizationKey) and data transfer."""

from django.utils import timezone

from ocpp_app.lib.limits import int_in_range
from ocpp_app.models import Charger, Command, DataTransferRecord, Direction, Transaction
from ocpp_app.services.chargers import charger_set_password
from ocpp_app.services.commands.base import BadCommand, OperatorCommand, check_id_tags, config_keys, plain_commands
from ocpp_app.services.commands.smart_charging import check_profile
from ocpp_app.services.common import clip
from ocpp_app.services.secrets import REDACTED, InvalidPassword, is_authorization_key, password_validate
from ocpp_app.services.security_profiles import effective_profile, is_security_profile_key, profile_value


class RemoteStartTransaction(OperatorCommand):
    """How a remote start learns its transaction id: the charger's answer says
    only Accepted or Rejected. After Accepted the charger sends a
    StartTransaction of its own, on its own socket (maybe in another
    process), and that stores the transaction. So the transport
    (ocpp/commands.py) asks `started_transaction` until it finds one or the
    operator's time-out, counted from when the command was sent, runs out;
    the answer carries its id, or null."""

    action = "RemoteStartTransaction"
    short = "remote_start"
    reports_transaction = True

    def check(self, charger: Charger, payload: dict) -> None:
        """Its id tag follows the card rule (it is stored with the session)."""
        check_id_tags(idTag=payload.get("idTag"))
        profile = payload.get("chargingProfile")
        if isinstance(profile, dict):
            check_profile(profile, prefix="chargingProfile.")

    def awaits_transaction(self, response: dict) -> bool:
        return response.get("status") == "Accepted"

    def started_transaction(self, command: Command) -> int | None:
        """The first transaction on the command's charger (and connector, when
        given) for its id tag stored after the command was created."""
        transactions = Transaction.objects.filter(
            charger_id=command.charger_id, id_tag=command.request.get("idTag"), created_at__gte=command.created_at
        )
        if command.request.get("connectorId") is not None:
            transactions = transactions.filter(connector_id=command.request["connectorId"])
        return transactions.order_by("id").values_list("id", flat=True).first()


class RemoteStopTransaction(OperatorCommand):
    action = "RemoteStopTransaction"
    short = "remote_stop"

    def fill(self, charger: Charger, payload: dict) -> dict:
        """remote_stop without a transactionId stops the active transaction (of
        `connectorId` when given; the latest started when several run)."""
        if "transactionId" in payload:
            return payload
        connector_id = payload.pop("connectorId", None)
        active = Transaction.objects.filter(charger=charger, stop_time__isnull=True)
        if connector_id is not None:
            if not int_in_range(connector_id):
                raise BadCommand("connectorId must be an integer")
            active = active.filter(connector_id=connector_id)
        tx = active.order_by("-start_time", "-id").first()
        if tx is None:
            raise BadCommand(f"Charger {charger.charger_id} has no active transaction to stop")
        payload["transactionId"] = tx.pk
        return payload


class Reset(OperatorCommand):
    action = "Reset"
    short = "reset"

    def fill(self, charger: Charger, payload: dict) -> dict:
        """reset is Soft unless a type is given, in any capitalisation."""
        payload.setdefault("type", "Soft")
        if isinstance(payload["type"], str):
            payload["type"] = payload["type"].capitalize()
        return payload


class UnlockConnector(OperatorCommand):
    action = "UnlockConnector"
    short = "unlock"

    def fill(self, charger: Charger, payload: dict) -> dict:
        payload.setdefault("connectorId", 1)
        return payload


plain_commands("ChangeAvailability", "ClearCache")


class GetConfiguration(OperatorCommand):
    action = "GetConfiguration"

    def apply(self, charger: Charger, request: dict, response: dict) -> None:
        """Merge the keys read into config["configurationKey"] (key -> {value,
        readonly}); a partial read updates only the keys it names. An
        AuthorizationKey a charger reports arrives here already redacted."""
        charger.refresh_from_db(fields=["config"])
        config = dict(charger.config) if isinstance(charger.config, dict) else {}
        keys = config_keys(charger)
        for item in response.get("configurationKey") or []:
            keys[item["key"]] = {"value": item.get("value"), "readonly": bool(item.get("readonly"))}
        config["configurationKey"] = keys
        config["unknownKey"] = list(response.get("unknownKey") or [])
        config["configurationReadAt"] = timezone.now().isoformat()
        charger.config = config
        charger.save(update_fields=["config", "updated_at"])


class ChangeConfiguration(OperatorCommand):
    action = "ChangeConfiguration"

    def check(self, charger: Charger, payload: dict) -> None:
        """A new AuthorizationKey we could not accept as a password would lock
        the charger out once it takes it. A SecurityProfile must be 0-3 and
        never below the charger's (Security Whitepaper: no downgrade), and
        profiles 1 and 2 need the charger's password set first."""
        if is_authorization_key(payload.get("key")):
            try:
                password_validate(payload.get("value") or "")
            except InvalidPassword as exc:
                raise BadCommand(str(exc)) from None
        if is_security_profile_key(payload.get("key")):
            wanted = profile_value(payload.get("value"))
            current = effective_profile(charger.security_profile)
            if wanted is None:
                raise BadCommand("SecurityProfile must be 0, 1, 2 or 3")
            if wanted < current:
                raise BadCommand(f"SecurityProfile cannot be lowered (the charger is at {current})")
            if wanted in (1, 2) and not charger.has_password:
                raise BadCommand(f"SecurityProfile {wanted} needs the charger's AuthorizationKey set first")

    def apply(self, charger: Charger, request: dict, response: dict) -> None:
        if response.get("status") not in ("Accepted", "RebootRequired"):
            return  # Rejected / NotSupported: the charger keeps its value, and we our password
        key, value = request.get("key"), request.get("value")
        if is_authorization_key(key):
            # Security Whitepaper A01: the charger now holds the new key, so it
            # is the only Basic-auth password that opens its next connection.
            charger_set_password(charger_id=charger.charger_id, password=value)
            value = REDACTED
        if is_security_profile_key(key):
            # From now on the charger must connect at this profile; a lower
            # one is refused (a downgrade from the network).
            wanted = profile_value(value)
            charger.refresh_from_db(fields=["security_profile"])
            stored = charger.security_profile
            if wanted is not None and (stored is None or wanted > stored):
                # Pinned on the charger: a later lower site default never
                # lowers it either.
                charger.security_profile = max(wanted, effective_profile(stored))
                charger.save(update_fields=["security_profile", "updated_at"])
        charger.refresh_from_db(fields=["config"])
        config = dict(charger.config) if isinstance(charger.config, dict) else {}
        keys = config_keys(charger)
        keys[key] = {**(keys.get(key) or {"readonly": False}), "value": value}
        config["configurationKey"] = keys
        charger.config = config
        charger.save(update_fields=["config", "updated_at"])


class DataTransfer(OperatorCommand):
    action = "DataTransfer"

    def apply(self, charger: Charger, request: dict, response: dict) -> None:
        """The exchange is kept with the charger's status and data, whatever
        the status."""
        DataTransferRecord.objects.create(
            charger=charger,
            direction=Direction.OUT,
            vendor_id=clip(request.get("vendorId"), 255),
            message_id=clip(request.get("messageId"), 50),
            data=_text(request.get("data")),
            status=clip(response.get("status"), 20),
            response_data=_text(response.get("data")),
        )


def _text(value: object) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))
