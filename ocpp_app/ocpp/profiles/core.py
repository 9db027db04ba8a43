"""Core profile handlers: translate the wire, call ONE service, answer."""

from ocpp.routing import on
from ocpp.v16 import call_result
from ocpp.v16.datatypes import IdTagInfo
from ocpp.v16.enums import Action

from ocpp_app.lib.limits import INT32_MAX, INT64_MAX, int_in_range
from ocpp_app.ocpp import framing
from ocpp_app.ocpp.values import checked_int, iso_z, parse_timestamp, utc_now_iso
from ocpp_app.runtime import events
from ocpp_app.runtime.group_commit import run as commit
from ocpp_app.services import chargers, meter_values, notifications, transactions
from ocpp_app.services.common import IdTagInfo as TagInfo


def id_tag_info(info: TagInfo | None) -> IdTagInfo | None:
    if info is None:
        return None
    return IdTagInfo(status=info.status, expiry_date=iso_z(info.expiry_date), parent_id_tag=info.parent_id_tag)


def meter_value_list(meter_value: list[dict], field: str) -> list[dict]:
    """Parse the timestamps of a MeterValues/transactionData list."""
    return [
        {"timestamp": parse_timestamp(mv["timestamp"], f"{field}/timestamp"), "sampled_value": mv["sampled_value"]}
        for mv in meter_value
    ]


# BootNotification names three fields after the charge point; the others
# arrive under the names they are stored with.
BOOT_RENAMED = {
    "charge_point_vendor": "vendor",
    "charge_point_model": "model",
    "charge_point_serial_number": "serial_number",
}


def boot_identity(payload: dict) -> chargers.BootIdentity:
    """The identity in a (schema-checked, snake_case) BootNotification payload;
    anything else in it is ignored."""
    values = {BOOT_RENAMED.get(key, key): value for key, value in payload.items()}
    return chargers.BootIdentity(**{name: values.get(name) for name in chargers.BOOT_IDENTITY_FIELDS})


class CoreHandlers:
    id: str
    registration_status: str

    @on(Action.boot_notification)
    async def on_boot_notification(self, **payload):
        result = await commit(chargers.charger_boot, charger_id=self.id, identity=boot_identity(payload))
        self.registration_status = result.status
        await events.publish(self.id, "boot", status=result.status)
        return call_result.BootNotification(current_time=utc_now_iso(), interval=result.interval, status=result.status)

    @on(Action.heartbeat)
    async def on_heartbeat(self, **_):
        now = await commit(chargers.charger_heartbeat, charger_id=self.id)
        await events.publish(self.id, "heartbeat")
        return call_result.Heartbeat(current_time=iso_z(now))

    @on(Action.authorize)
    async def on_authorize(self, id_tag: str, **_):
        info = await commit(transactions.id_tag_authorize, charger_id=self.id, id_tag=id_tag)
        return call_result.Authorize(id_tag_info=id_tag_info(info))

    @on(Action.start_transaction)
    async def on_start_transaction(
        self, connector_id: int, id_tag: str, meter_start: int, timestamp: str, reservation_id: int | None = None, **_
    ):
        result = await commit(
            transactions.transaction_start,
            charger_id=self.id,
            connector_id=checked_int(connector_id, "connectorId"),
            id_tag=id_tag,
            meter_start=checked_int(meter_start, "meterStart", low=-INT64_MAX, high=INT64_MAX),
            timestamp=parse_timestamp(timestamp, "timestamp"),
            reservation_id=checked_int(reservation_id, "reservationId", low=-INT32_MAX),
        )
        if result.created:
            await events.publish(
                self.id, "transaction", connector_id=connector_id, transaction_id=result.transaction_id, state="started"
            )
        return call_result.StartTransaction(
            transaction_id=result.transaction_id, id_tag_info=id_tag_info(result.id_tag_info)
        )

    @on(Action.stop_transaction)
    async def on_stop_transaction(
        self,
        meter_stop: int,
        timestamp: str,
        transaction_id: int,
        id_tag: str | None = None,
        reason: str | None = None,
        transaction_data: list | None = None,
        **_,
    ):
        # Never a CALLERROR for charger mistakes here: an out-of-range id is an
        # unknown transaction and an absurd meter value is clamped and noted.
        if not int_in_range(transaction_id, -INT32_MAX, INT32_MAX):
            transaction_id = -1
        meter_stop = max(-INT64_MAX, min(INT64_MAX, meter_stop))
        result = await commit(
            transactions.transaction_stop,
            charger_id=self.id,
            transaction_id=transaction_id,
            meter_stop=meter_stop,
            timestamp=parse_timestamp(timestamp, "timestamp"),
            id_tag=id_tag,
            reason=reason,
            transaction_data=meter_value_list(transaction_data, "transactionData") if transaction_data else None,
        )
        if result.stopped:
            await events.publish(self.id, "transaction", transaction_id=transaction_id, state="stopped")
        return call_result.StopTransaction(id_tag_info=id_tag_info(result.id_tag_info))

    @on(Action.meter_values)
    async def on_meter_values(self, connector_id: int, meter_value: list, transaction_id: int | None = None, **_):
        await commit(
            meter_values.meter_values_store,
            charger_id=self.id,
            connector_id=checked_int(connector_id, "connectorId"),
            transaction_id=checked_int(transaction_id, "transactionId", low=-INT32_MAX),
            meter_value=meter_value_list(meter_value, "meterValue"),
            raw={
                "connectorId": connector_id,
                "transactionId": transaction_id,
                "meterValue": framing.camel_payload(meter_value),
            },
        )
        await events.publish(self.id, "meter", connector_id=connector_id, transaction_id=transaction_id)
        return call_result.MeterValues()

    @on(Action.status_notification)
    async def on_status_notification(
        self,
        connector_id: int,
        error_code: str,
        status: str,
        info: str | None = None,
        timestamp: str | None = None,
        vendor_id: str | None = None,
        vendor_error_code: str | None = None,
        **_,
    ):
        await commit(
            chargers.connector_status_update,
            charger_id=self.id,
            connector_id=checked_int(connector_id, "connectorId"),
            status=status,
            error_code=error_code,
            info=info,
            vendor_id=vendor_id,
            vendor_error_code=vendor_error_code,
            timestamp=parse_timestamp(timestamp, "timestamp"),
        )
        await events.publish(self.id, "status", connector_id=connector_id, status=status, error_code=error_code)
        return call_result.StatusNotification()

    @on(Action.data_transfer)
    async def on_data_transfer(self, vendor_id: str, message_id: str | None = None, data: str | None = None, **_):
        result = await commit(
            notifications.data_transfer_receive,
            charger_id=self.id,
            vendor_id=vendor_id,
            message_id=message_id,
            data=data,
        )
        return call_result.DataTransfer(status=result.status, data=result.data)
