"""What the charger page's command forms offer (templates/ocpp/_charger_commands.html,
static/ocpp/commands.js): the protocol's choices, read from the OCPP 1.6
schemas every command is checked against, and what this charger and the
network hold: its stored configuration keys, the RFID cards and its local
list, its active reservations, its charging profiles in force, the firmware
files the server hosts, and the ids to propose.

Each part is read when the template first asks for it (`cached_property`):
a page that shows no command form (a viewer's) costs no query for them, and
each part is one bounded query whatever the size of the tables."""

import functools
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from ocpp_app.lib.limits import INT32_MAX
from ocpp_app.lib.timeparse import format_datetime_utc
from ocpp_app.models import RFID, Charger, ChargingProfileRecord, LocalListEntry, Reservation, ReservationStatus
from ocpp_app.ocpp.schemas import load_schema
from ocpp_app.selectors import configuration_rows
from ocpp_app.services.firmware import firmware_dir, firmware_path, firmware_url
from ocpp_app.services.secrets import is_authorization_key

# At most this many id tags are offered for a local list (the RFID table and
# the charger's list each); a larger network sends its list through the API.
ID_TAG_ROWS = 500
RESERVATION_ROWS = 50
PROFILE_ROWS = 100
FIRMWARE_FILES = 20
# The configuration keys that say how long a local list may be.
LIST_LENGTH_KEYS = ("LocalAuthListMaxLength", "SendLocalListMaxLength")
_HELD = (ReservationStatus.REQUESTED, ReservationStatus.ACCEPTED)


@functools.cache
def schema_choices(action: str, *path: str) -> tuple[str, ...]:
    """The values the 1.6 schema of `action`'s CALL allows at `path` (property
    names; "[]" steps into an array's items), e.g. ("TriggerMessage",
    "requestedMessage")."""
    schema = load_schema(2, action)
    node: dict[str, Any] = schema
    for step in path:
        node = _resolved(schema, node)
        node = node["items"] if step == "[]" else node["properties"][step]
    return tuple(_resolved(schema, node)["enum"])


def _resolved(schema: dict, node: dict) -> dict:
    ref = node.get("$ref", "")
    if ref.startswith("#/definitions/"):
        return schema["definitions"][ref.removeprefix("#/definitions/")]
    return node


def first(choices: tuple[str, ...], value: str) -> tuple[str, ...]:
    """The choices with `value` (the safer or usual one) first."""
    return tuple(sorted(choices, key=lambda choice: choice != value))


def local_input(value: datetime) -> str:
    """A time as a `datetime-local` field shows it: UTC, to the minute (the
    page reads what is typed there as UTC too)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


@dataclass(frozen=True)
class IdTagRow:
    """One id tag the local-list form offers: the RFID card (None for a tag
    only on the charger's list now) and the entry on the charger's list."""

    id_tag: str
    label: str = ""
    status: str = ""
    expiry_date: str = ""  # ISO 8601 UTC with Z, or ""
    parent_id_tag: str = ""
    in_table: bool = True
    on_list: str = ""  # the status the charger's list holds for it, "" when not on it

    @property
    def expires(self) -> str:
        return self.expiry_date[:16].replace("T", " ")


@dataclass(frozen=True)
class FirmwareFile:
    name: str
    url: str
    size: int
    stored_at: datetime


class CommandForms:
    """The choices and proposals of one charger's command forms."""

    def __init__(self, request, charger: Charger) -> None:
        self.request = request
        self.charger = charger
        self.now = timezone.now()

    # -- the protocol's choices --------------------------------------------------------

    reset_types = first(schema_choices("Reset", "type"), "Soft")
    availability_types = first(schema_choices("ChangeAvailability", "type"), "Operative")
    trigger_messages = schema_choices("TriggerMessage", "requestedMessage")
    extended_trigger_messages = schema_choices("ExtendedTriggerMessage", "requestedMessage")
    update_types = first(schema_choices("SendLocalList", "updateType"), "Full")
    profile_purposes = schema_choices("SetChargingProfile", "csChargingProfiles", "chargingProfilePurpose")
    profile_kinds = schema_choices("SetChargingProfile", "csChargingProfiles", "chargingProfileKind")
    recurrency_kinds = schema_choices("SetChargingProfile", "csChargingProfiles", "recurrencyKind")
    rate_units = tuple(
        sorted(schema_choices("SetChargingProfile", "csChargingProfiles", "chargingSchedule", "chargingRateUnit"))
    )
    log_types = schema_choices("GetLog", "logType")

    # -- the charger ---------------------------------------------------------------------

    @functools.cached_property
    def connectors(self) -> list[int]:
        """The connectors the charger reported (connector 1 before it reported any)."""
        numbers = [c.connector_id for c in getattr(self.charger, "connector_list", [])]
        return numbers or [1]

    @functools.cached_property
    def active_transactions(self) -> list:
        return list(getattr(self.charger, "active_transactions", []))

    @functools.cached_property
    def config_rows(self) -> list[dict]:
        return configuration_rows(self.charger.config)

    @functools.cached_property
    def stored_keys(self) -> list[str]:
        """Every key GetConfiguration stored, for asking some of them again."""
        return [row["key"] for row in self.config_rows if row["key"]]

    @functools.cached_property
    def writable_keys(self) -> list[dict]:
        """The stored keys ChangeConfiguration may set: not read-only (or not
        known to be), each with its value as stored to edit; never the
        AuthorizationKey's (stored redacted: sent back, it would be the new key)."""
        return [
            {**row, "value": "" if is_authorization_key(row["key"]) else row["value"]}
            for row in self.config_rows
            if row["key"] and row["readonly"] is not True
        ]

    @functools.cached_property
    def list_lengths(self) -> list[dict]:
        """What the charger said of its local list's size (if it was read)."""
        stored = {row["key"]: row["value"] for row in self.config_rows}
        return [{"key": key, "value": stored[key]} for key in LIST_LENGTH_KEYS if stored.get(key) not in (None, "")]

    # -- local list ------------------------------------------------------------------------

    @functools.cached_property
    def local_list(self) -> list[LocalListEntry]:
        return list(LocalListEntry.objects.filter(charger=self.charger).order_by("id_tag")[:ID_TAG_ROWS])

    @functools.cached_property
    def rfids(self) -> list[RFID]:
        # One more than shown: whether the table holds more than the form lists.
        return list(RFID.objects.order_by("id_tag")[: ID_TAG_ROWS + 1])

    @property
    def rfids_truncated(self) -> bool:
        return len(self.rfids) > ID_TAG_ROWS

    @functools.cached_property
    def id_tag_rows(self) -> list[IdTagRow]:
        """The RFID cards, with what the charger's list holds for each, then
        the tags on that list that are no longer in the table (they can
        only be removed)."""
        on_list = {entry.id_tag: entry.status or "Accepted" for entry in self.local_list}
        rows = [
            IdTagRow(
                id_tag=card.id_tag,
                label=card.label,
                status=card.status,
                expiry_date=format_datetime_utc(card.expiry_date, timespec="seconds") if card.expiry_date else "",
                parent_id_tag=card.parent_id_tag,
                on_list=on_list.get(card.id_tag, ""),
            )
            for card in self.rfids[:ID_TAG_ROWS]
        ]
        known = {row.id_tag for row in rows}
        rows += [
            IdTagRow(id_tag=entry.id_tag, status=entry.status, in_table=False, on_list=on_list[entry.id_tag])
            for entry in self.local_list
            if entry.id_tag not in known
        ]
        return rows

    @property
    def id_tags(self) -> list[str]:
        """The RFID cards' tags, offered for remote starts and reservations."""
        return [card.id_tag for card in self.rfids[:ID_TAG_ROWS]]

    @property
    def list_version(self) -> int | None:
        return self.charger.local_list_version

    @property
    def next_list_version(self) -> int:
        return min((self.charger.local_list_version or 0) + 1, INT32_MAX)

    # -- reservations ---------------------------------------------------------------------

    @functools.cached_property
    def reservations(self) -> list[Reservation]:
        """The charger's reservations still held (accepted or not answered yet)."""
        held = Reservation.objects.filter(charger=self.charger, status__in=_HELD, expiry_date__gt=self.now)
        return list(held.order_by("expiry_date", "reservation_id")[:RESERVATION_ROWS])

    @functools.cached_property
    def next_reservation_id(self) -> int:
        """Reservation ids are unique across the network: one above the highest."""
        highest = Reservation.objects.aggregate(highest=Max("reservation_id"))["highest"] or 0
        return min(highest + 1, INT32_MAX)

    @property
    def reservation_expiry(self) -> str:
        return local_input(self.now + timedelta(hours=1))

    # -- smart charging -------------------------------------------------------------------

    @functools.cached_property
    def profiles(self) -> list[ChargingProfileRecord]:
        """The charging profiles in force on the charger, as the central system set them."""
        in_force = ChargingProfileRecord.objects.filter(charger=self.charger, cleared_at__isnull=True)
        return list(in_force.order_by("connector_id", "purpose", "stack_level", "id")[:PROFILE_ROWS])

    @property
    def next_profile_id(self) -> int:
        """One above the operators' profiles in force, below the ids the load
        manager keeps for itself (OCPP_LOAD_PROFILE_ID and up)."""
        reserved = settings.OCPP_LOAD_PROFILE_ID
        own = [p.charging_profile_id for p in self.profiles if 0 < p.charging_profile_id < reserved]
        return max(own, default=0) + 1

    @property
    def load_stack_level(self) -> int:
        return settings.OCPP_LOAD_STACK_LEVEL

    # -- firmware, diagnostics, logs ------------------------------------------------------

    @functools.cached_property
    def firmware_files(self) -> list[FirmwareFile]:
        """The firmware files the server hosts (uploaded for signed updates),
        newest first, with the address chargers download them from on the
        host this page was reached by."""
        base = self.request.build_absolute_uri("/")
        found = []
        for path in firmware_dir().iterdir():
            if firmware_path(path.name) is None:
                continue  # not a name the server made (a partial upload, a stray file)
            stat = path.stat()
            stored_at = datetime.fromtimestamp(stat.st_mtime, tz=UTC)
            found.append(FirmwareFile(path.name, firmware_url(path.name, base), stat.st_size, stored_at))
        found.sort(key=lambda item: item.stored_at, reverse=True)
        return found[:FIRMWARE_FILES]

    @property
    def signed_firmware_url(self) -> str:
        """Where a firmware file is uploaded, signed and sent (the REST API's)."""
        return reverse("ocpp:api-signed-firmware", args=[self.charger.charger_id])

    @property
    def now_input(self) -> str:
        return local_input(self.now)

    @functools.cached_property
    def request_id(self) -> int:
        """A GetLog requestId: its status notifications carry it."""
        return secrets.randbelow(INT32_MAX) + 1
