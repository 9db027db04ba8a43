"""Charger registration, connection bookkeeping, boot, heartbeat and status."""

from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from ocpp_app.models import Charger, Connector, RegistrationStatus, SecurityProfile, StatusNotificationRecord
from ocpp_app.services.common import clip
from ocpp_app.services.secrets import password_validate, secret_hash, secret_is_fast, secret_verify
from ocpp_app.services.security_profiles import (
    ClientCertificate,
    effective_profile,
    password_required,
    revocation_refusal,
    transport_refusal,
)
from ocpp_app.services.sql import column_map, update_rows, update_where_in


def charger_set_password(*, charger_id: str, password: str | None) -> Charger:
    """Set (or with None/"" clear) a charger's Basic-auth password, stored
    hashed; raises secrets.InvalidPassword for one that breaks the rule."""
    charger = Charger.objects.get(charger_id=charger_id)
    if password:
        password_validate(password)
        charger.password_hash = secret_hash(password)
    else:
        charger.password_hash = ""
    charger.save(update_fields=["password_hash", "updated_at"])
    return charger


def charger_get_or_create(*, charger_id: str, registration_status: str = RegistrationStatus.ACCEPTED) -> Charger:
    try:
        charger, _ = Charger.objects.get_or_create(
            charger_id=charger_id, defaults={"registration_status": registration_status}
        )
    except IntegrityError:  # created concurrently by another connection
        charger = Charger.objects.get(charger_id=charger_id)
    return charger


@dataclass(frozen=True)
class ConnectResult:
    registration_status: str
    # The channel of the connection this one replaces (maybe in another process).
    previous_channel: str


def new_charger_status(unknown_policy: str) -> str | None:
    """The registration status a charger seen for the first time is created
    with under OCPP_UNKNOWN_CHARGERS (`accept`, `pending`), or None when
    unknown chargers are refused (`reject`)."""
    if unknown_policy == "reject":
        return None
    return RegistrationStatus.PENDING if unknown_policy == "pending" else RegistrationStatus.ACCEPTED


def _mark_connected(
    *,
    charger_id: str,
    row: tuple | None,
    path: str,
    connection_id: str,
    channel_name: str,
    subprotocol: str,
    new_status: str,
) -> ConnectResult:
    now = timezone.now()
    if row is None:
        # First sight of a charger (its sticker QR code is made after commit,
        # on a background thread, not on this writer thread).
        charger = charger_get_or_create(charger_id=charger_id, registration_status=new_status)
        row = (charger.registration_status, False, "")
    status, was_connected, old_channel = row
    Charger.objects.filter(charger_id=charger_id).update(
        connected=True,
        connected_since=now,
        last_seen=now,
        last_path=path[:512],
        connection_id=connection_id,
        channel_name=channel_name,
        node_id=settings.OCPP_NODE_ID[:200],
        subprotocol=subprotocol,
        updated_at=now,
    )
    return ConnectResult(registration_status=status, previous_channel=old_channel if was_connected else "")


@dataclass(frozen=True)
class Admission:
    """The database's part of a handshake: `connected` (done, `result` says
    how), `unknown` (refuse with 404), `refused` (missing or wrong
    credentials: 401), `forbidden` (the connection is below the charger's
    security profile: `status` and `reason`), `authenticate` (check the
    password against `password_hash`, a slow legacy hash, off this thread,
    then call charger_admit again with password_checked=True) or `occupied`
    (a charger without credentials is connected on `previous_channel`: the
    caller checks that socket still answers, and comes back with
    takeover_checked=True when it does not). `known`: the charger is in the
    database (only those get a log file of their own). `authenticated`: it
    was admitted on credentials (a password or a client certificate)."""

    outcome: str
    result: ConnectResult | None = None
    password_hash: str = ""
    known: bool = True
    authenticated: bool = False
    status: int = 0
    reason: str = ""
    previous_channel: str = ""


def charger_admit(
    *,
    charger_id: str,
    path: str,
    connection_id: str,
    channel_name: str,
    subprotocol: str,
    unknown_policy: str,
    require_auth: bool,
    password_checked: bool = False,
    password_rehash: tuple[str, str] | None = None,
    password: str | None = None,
    tls: bool = False,
    certificate: ClientCertificate | None = None,
    certificate_problem: str = "",
    takeover_checked: bool = False,
) -> Admission:
    """The whole admission rule of a handshake: the unknown-charger policy
    (OCPP_UNKNOWN_CHARGERS, passed as `unknown_policy`), the security profile
    (services/security_profiles.py: TLS, client certificate), the password
    rule (OCPP_REQUIRE_AUTH, profiles 1 and 2, or a password set on the
    charger), the takeover rule, and the record of the connection. ONE
    database call for a charger without a password or
    with one stored in the fast form, checked here against `password` (what
    its Basic-auth header offers for its own id): what a reconnect storm is
    made of. A charger whose password has a legacy hash comes back with
    `password_checked=True` once it was verified. Two queries for a known
    charger. A client certificate, when one is presented, costs one query
    more: whether the CA's record says it was revoked (refused 403 at any
    profile). `password_rehash` (old hash, new hash):
    a password that matched a legacy hash is stored again in the fast form,
    unless an operator changed it in the meantime.

    Takeover: a connection without credentials (no password checked, no
    client certificate) for a charger that is connected is `occupied`, never
    recorded at once: anyone who knows the id could otherwise cut the real
    charger off. Chargers with credentials keep "the newest authenticated
    connection wins"."""
    row = (
        Charger.objects.filter(charger_id=charger_id)
        .values_list("password_hash", "registration_status", "connected", "channel_name", "security_profile")
        .first()
    )
    status = new_charger_status(unknown_policy)
    if row is None and status is None:
        return Admission("unknown", known=False)
    known = row is not None
    profile = effective_profile(row[4] if row else None)
    refusal = revocation_refusal(certificate) or transport_refusal(
        charger_id=charger_id,
        profile=profile,
        tls=tls,
        certificate=certificate,
        certificate_problem=certificate_problem,
    )
    if refusal is not None:
        return Admission("forbidden", known=known, status=refusal.status, reason=refusal.reason)
    needs_password = password_required(profile=profile, require_auth=require_auth, has_password=bool(row and row[0]))
    if not password_checked and needs_password:
        stored = row[0] if row else ""
        if password is None or not secret_is_fast(stored):
            # Nothing is recorded before the password is checked: a legacy
            # hash is checked off this thread, then the charger comes back.
            return Admission("authenticate", password_hash=stored, known=known)
        # `password`: what the charger's Basic-auth header offers for its own
        # id. A fast hash costs microseconds: checked here, one call in all.
        if not secret_verify(password=password, password_hash=stored):
            return Admission("refused", known=known)
    has_credentials = needs_password or profile == SecurityProfile.TLS_CLIENT_CERT
    if not has_credentials and not takeover_checked and row is not None and row[2] and row[3]:
        return Admission("occupied", previous_channel=row[3])
    if password_rehash is not None:
        old_hash, new_hash = password_rehash
        Charger.objects.filter(charger_id=charger_id, password_hash=old_hash).update(password_hash=new_hash)
    result = _mark_connected(
        charger_id=charger_id,
        row=row[1:4] if row else None,
        path=path,
        connection_id=connection_id,
        channel_name=channel_name,
        subprotocol=subprotocol,
        new_status=status or RegistrationStatus.ACCEPTED,
    )
    return Admission("connected", result=result, authenticated=has_credentials)


def charger_disconnected(*, charger_id: str, connection_id: str) -> bool:
    """Mark the charger offline, but only if this connection is still the live
    one: a replaced socket's cleanup must not unregister its successor."""
    now = timezone.now()
    return bool(
        Charger.objects.filter(charger_id=charger_id, connection_id=connection_id).update(
            connected=False, disconnected_at=now, channel_name="", updated_at=now
        )
    )


@dataclass(frozen=True)
class BootResult:
    status: str
    interval: int


@dataclass(frozen=True)
class BootIdentity:
    """What a BootNotification reports about a charger, under the names of the
    Charger columns that keep it: the one list of those fields (the boot
    service, the admin and the API read it)."""

    vendor: str
    model: str
    serial_number: str | None = None
    charge_box_serial_number: str | None = None
    firmware_version: str | None = None
    iccid: str | None = None
    imsi: str | None = None
    meter_type: str | None = None
    meter_serial_number: str | None = None


BOOT_IDENTITY_FIELDS: tuple[str, ...] = tuple(field.name for field in dataclass_fields(BootIdentity))


def charger_boot(*, charger_id: str, identity: BootIdentity) -> BootResult:
    return charger_boot_many([{"charger_id": charger_id, "identity": identity}])[0]


_BOOT_LENGTHS = {name: Charger._meta.get_field(name).max_length for name in BOOT_IDENTITY_FIELDS}


def charger_boot_many(calls: list[dict]) -> list[BootResult]:
    """Record the BootNotifications of a group-commit batch: one query for the
    chargers' registration statuses and one prepared UPDATE run for all of
    them (a reconnect storm is thousands of boots at once). Only what the boot
    reports is written: never a password or status an operator just changed."""
    statuses = column_map(Charger, "charger_id", "registration_status", {call["charger_id"] for call in calls})
    for call in calls:
        if call["charger_id"] not in statuses:
            statuses[call["charger_id"]] = charger_get_or_create(charger_id=call["charger_id"]).registration_status
    now = timezone.now()
    results = []
    rows: dict[bool, list[tuple]] = {True: [], False: []}
    for call in calls:
        status = statuses[call["charger_id"]]
        accepted = status == RegistrationStatus.ACCEPTED
        interval = settings.OCPP_HEARTBEAT_INTERVAL if accepted else settings.OCPP_BOOT_RETRY_INTERVAL
        identity = call["identity"]
        reported = tuple(clip(getattr(identity, name), length) for name, length in _BOOT_LENGTHS.items())
        rows[accepted].append((*reported, now, now, None, *((interval,) if accepted else ()), call["charger_id"]))
        results.append(BootResult(status=status, interval=interval))
    # failsafe_limit: a charger that rebooted may have lost its charging
    # profiles; the load manager then sends its fail-safe again.
    fields = [*BOOT_IDENTITY_FIELDS, "last_boot_at", "updated_at", "failsafe_limit"]
    update_rows(Charger, "charger_id", [*fields, "heartbeat_interval"], rows[True])
    update_rows(Charger, "charger_id", fields, rows[False])
    return results


charger_boot.many = charger_boot_many  # type: ignore[attr-defined]


def charger_heartbeat(*, charger_id: str) -> datetime:
    return charger_heartbeat_many([{"charger_id": charger_id}])[0]


def charger_heartbeat_many(calls: list[dict]) -> list[datetime]:
    """Record the heartbeats of many chargers with one UPDATE (group commit
    hands a whole batch of heartbeats here)."""
    now = timezone.now()
    ids = {call["charger_id"] for call in calls}
    if update_where_in(Charger, "charger_id", ids, last_heartbeat=now, last_seen=now) < len(ids):
        for charger_id in ids:  # rare: a charger deleted while connected
            charger_get_or_create(charger_id=charger_id)
        update_where_in(Charger, "charger_id", ids, last_heartbeat=now, last_seen=now)
    return [now] * len(calls)


charger_heartbeat.many = charger_heartbeat_many  # type: ignore[attr-defined]


def connector_status_update(
    *,
    charger_id: str,
    connector_id: int,
    status: str,
    error_code: str,
    info: str | None = None,
    vendor_id: str | None = None,
    vendor_error_code: str | None = None,
    timestamp: datetime | None = None,
) -> Connector:
    """Store a StatusNotification: the history row and the connector's latest
    status. An older timestamp (a replayed backlog) is kept in the history but
    does not overwrite a newer status."""
    charger = charger_get_or_create(charger_id=charger_id)
    fields = _status_fields(info, vendor_id, vendor_error_code, status, error_code, timestamp)
    with transaction.atomic():
        StatusNotificationRecord.objects.create(charger=charger, connector_id=connector_id, **fields)
        # Lock the row: two sockets of one charger (a replacement in flight)
        # must not interleave read-compare-write on the same connector.
        connector = Connector.objects.select_for_update().filter(charger=charger, connector_id=connector_id).first()
        if connector is None:
            connector = Connector.objects.create(charger=charger, connector_id=connector_id, **fields)
        elif _newer(fields, connector):
            for name, value in fields.items():
                setattr(connector, name, value)
            connector.save()
    return connector


def _status_fields(info, vendor_id, vendor_error_code, status: str, error_code: str, timestamp) -> dict:
    return {
        "status": status,
        "error_code": error_code,
        "info": clip(info, 50),
        "vendor_id": clip(vendor_id, 255),
        "vendor_error_code": clip(vendor_error_code, 50),
        "timestamp": timestamp or timezone.now(),
    }


def _newer(fields: dict, connector: Connector) -> bool:
    return connector.timestamp is None or fields["timestamp"] >= connector.timestamp


def connector_status_update_many(calls: list[dict]) -> list[None]:
    """connector_status_update for a whole group-commit batch (a reconnect
    storm is made of these): one query for the chargers, one INSERT for the
    history, one locked SELECT for the connectors, one INSERT for new ones and
    one prepared UPDATE for the changed ones, instead of five statements per
    message. The connector ends in the state the calls one by one would leave
    (the newest timestamp wins, the later call on a tie). Answers None: a
    StatusNotification's answer carries nothing."""
    pks = dict(Charger.objects.filter(charger_id__in={c["charger_id"] for c in calls}).values_list("charger_id", "pk"))
    history, latest = [], {}
    for call in calls:
        charger_pk = pks.get(call["charger_id"])
        if charger_pk is None:  # rare: first seen in this batch
            charger_pk = pks[call["charger_id"]] = charger_get_or_create(charger_id=call["charger_id"]).pk
        fields = _status_fields(
            call.get("info"),
            call.get("vendor_id"),
            call.get("vendor_error_code"),
            call["status"],
            call["error_code"],
            call.get("timestamp"),
        )
        history.append(StatusNotificationRecord(charger_id=charger_pk, connector_id=call["connector_id"], **fields))
        key = (charger_pk, call["connector_id"])
        if key not in latest or fields["timestamp"] >= latest[key]["timestamp"]:
            latest[key] = fields
    StatusNotificationRecord.objects.bulk_create(history)
    existing = {
        (connector.charger_id, connector.connector_id): connector
        for connector in Connector.objects.select_for_update()
        .filter(charger_id__in={pk for pk, _ in latest})
        .only("pk", "charger_id", "connector_id", "timestamp")
    }
    created, changed = [], []
    for (charger_pk, connector_id), fields in latest.items():
        connector = existing.get((charger_pk, connector_id))
        if connector is None:
            created.append(Connector(charger_id=charger_pk, connector_id=connector_id, **fields))
        elif _newer(fields, connector):
            changed.append((connector.pk, fields))
    Connector.objects.bulk_create(created)
    _update_connectors(changed)
    return [None] * len(calls)


_STATUS_COLUMNS = ("status", "error_code", "info", "vendor_id", "vendor_error_code", "timestamp")


def _update_connectors(changed: list[tuple[int, dict]]) -> None:
    if not changed:
        return
    quote = connection.ops.quote_name
    adapt = connection.ops.adapt_datetimefield_value
    assignments = ", ".join(f"{quote(column)} = %s" for column in (*_STATUS_COLUMNS, "updated_at"))
    sql = f"UPDATE {quote(Connector._meta.db_table)} SET {assignments} WHERE {quote('id')} = %s"
    now = adapt(timezone.now())
    params = [
        (*(fields[column] for column in _STATUS_COLUMNS[:-1]), adapt(fields["timestamp"]), now, pk)
        for pk, fields in changed
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


connector_status_update.many = connector_status_update_many  # type: ignore[attr-defined]
