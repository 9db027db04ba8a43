"""Charging sessions of a simulated charger: authorize, start, deliver
energy with periodic MeterValues, stop.

At every sample the charger works out the current it offers (the limit in
force by its charging profiles, shared under a ChargePointMaxProfile) and
the car (simulator/ev.py) draws what it takes of it; the energy of the next
interval flows at that draw, so energy and power follow the profiles as they
start and lapse."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from datetime import UTC, datetime

from ocpp.v16 import call

from simulator.ev import MIN_CURRENT
from simulator.model import Connector, Session, utc_iso

PHASE_NAMES = ("L1", "L2", "L3")
# The statuses of a running transaction that follow the draw.
DELIVERING = ("Charging", "SuspendedEV", "SuspendedEVSE")


class SessionsMixin:
    """Behaviour of ChargePointSimulator that runs charging sessions."""

    def start_session(self, connector_id: int, id_tag: str, *, remote: bool = False) -> asyncio.Task:
        return self._spawn(self.charge(connector_id, id_tag, remote=remote))

    async def _authorize(self, id_tag: str) -> str:
        """Authorize online; offline use the local list and the cache."""
        if self.online:
            result = await self.send(call.Authorize(id_tag=id_tag))
            if result is not None:
                status = (result.id_tag_info or {}).get("status", "Invalid")
                self.auth_cache[id_tag] = status
                return status
        if self.configuration["LocalAuthorizeOffline"].value == "true":
            known = self.local_list.get(id_tag) or self.auth_cache.get(id_tag)
            if known:
                return known
        return "Accepted" if self.configuration["AllowOfflineTxForUnknownId"].value == "true" else "Invalid"

    async def _session(self, connector: Connector, id_tag: str | None, *, remote: bool) -> Session:
        connector.claimed = False
        tag = id_tag or "SIMULATOR"
        session = Session(connector.id, tag, meter_start=round(connector.meter_wh), start_time=datetime.now(UTC))
        if not (connector.operative and self.charger_operative):
            return self._not_started(connector, session, "Other")
        authorize = bool(id_tag) and (not remote or self.configuration["AuthorizeRemoteTxRequests"].value == "true")
        if authorize:
            status = await self._authorize(tag)
            if status != "Accepted":
                self.last_error = f"id tag {tag} not accepted: {status}"
                session.id_tag_status = status
                return self._not_started(connector, session, "DeAuthorized")
        reservation = connector.reservation
        if reservation is not None:
            if reservation.id_tag != tag:
                return self._not_started(connector, session, "Other")
            session.reservation_id = reservation.reservation_id
            connector.reservation = None
            self.reservations.pop(reservation.reservation_id, None)

        connector.session = session
        connector.ev.plug_in(self.config.soc_start, time.monotonic())
        self.stats.sessions += 1
        try:
            await self.set_status(connector, "Preparing")
            begin = self.sample(connector, session, "Transaction.Begin")
            self.enqueue(
                call.StartTransaction(
                    connector_id=connector.id,
                    id_tag=tag,
                    meter_start=session.meter_start,
                    timestamp=utc_iso(session.start_time),
                    reservation_id=session.reservation_id,
                ),
                session,
            )
            if self.online:
                # Online, a charger starts delivering once the CSMS answered.
                await asyncio.wait({asyncio.ensure_future(session.answered.wait())}, timeout=self.config.call_timeout)
            await self._deliver(connector, session)
            end = self.sample(connector, session, "Transaction.End")
            await self.set_status(connector, "Finishing")
            self.enqueue(
                call.StopTransaction(
                    meter_stop=round(connector.meter_wh),
                    timestamp=end["timestamp"],
                    transaction_id=0,  # filled in when sent
                    reason=session.stop_reason,
                    id_tag=tag,
                    transaction_data=[begin, end],
                ),
                session,
            )
        finally:
            # Its TxProfiles end with the transaction (before the connector is
            # free: a RemoteStart may bring the next one's).
            self.profiles.end_transaction(connector.id)
            connector.session = None
            session.done.set()
        if connector.scheduled_operative is not None:
            connector.operative, connector.scheduled_operative = connector.scheduled_operative, None
        await self.set_status(connector, connector.idle_status)
        return session

    def _not_started(self, connector: Connector, session: Session, reason: str) -> Session:
        """A session that never began: a profile its RemoteStart brought goes."""
        self.profiles.end_transaction(connector.id)
        session.request_stop(reason)
        session.done.set()
        return session

    async def _deliver(self, connector: Connector, session: Session) -> None:
        """Charge until the kWh target, a full battery or a stop request, one
        MeterValues per sample interval. Each interval's energy flows at the
        draw decided at its start."""
        target_wh = self.config.kwh_max * 1000
        await self._follow_limit(connector, session)
        last = time.monotonic()
        while session.stop_reason is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(session.stop_event.wait(), self.sample_interval)
            now = time.monotonic()
            delta = min(session.power_w * (now - last) * self.config.speed / 3600, target_wh - session.delivered_wh)
            delta = max(0.0, delta)
            last = now
            connector.meter_wh += delta
            session.delivered_wh += delta
            connector.ev.charge(delta)
            if session.stop_reason is not None:
                break
            await self._follow_limit(connector, session)
            self.enqueue(
                call.MeterValues(
                    connector_id=connector.id,
                    meter_value=[self.sample(connector, session, "Sample.Periodic")],
                    transaction_id=0,  # filled in when sent
                ),
                session,
            )
            session.meter_values_sent += 1
            if session.delivered_wh >= target_wh - 0.5 or connector.ev.full:
                # The car is full (or has what the driver wanted): unplugged.
                session.request_stop("EVDisconnected")

    async def _follow_limit(self, connector: Connector, session: Session) -> None:
        """Re-evaluate the limit in force and the car's draw; the status
        follows: SuspendedEVSE when less than MIN_CURRENT is offered,
        SuspendedEV when the car takes nothing, else Charging."""
        connector.ev.tick(time.monotonic())
        offer = self.allocate()[connector.id]
        session.offered_a, session.phases = offer.amps, offer.phases
        session.current_a = connector.ev.draw(offer.amps)
        session.power_w = session.current_a * self.config.voltage * offer.phases
        if offer.amps < MIN_CURRENT:
            status = "SuspendedEVSE"
        elif session.current_a <= 0:
            status = "SuspendedEV"
        else:
            status = "Charging"
        if connector.status != status and (connector.status in DELIVERING or connector.status == "Preparing"):
            await self.set_status(connector, status)

    def sample(self, connector: Connector, session: Session | None, context: str) -> dict:
        """One meter value: energy register, power, the current of each phase
        and the current offered, voltage, SoC."""
        power = session.power_w if session is not None else 0.0
        current = session.current_a if session is not None else 0.0
        in_use = session.phases if session is not None and session.phases else self.config.phases
        offered = self.limit_in_force(connector)
        voltage = self.config.voltage + random.uniform(-2, 2)
        values = [
            {
                "value": str(round(connector.meter_wh)),
                "context": context,
                "measurand": "Energy.Active.Import.Register",
                "location": "Outlet",
                "unit": "Wh",
            },
            {"value": f"{power:.0f}", "context": context, "measurand": "Power.Active.Import", "unit": "W"},
        ]
        for index, phase in enumerate(PHASE_NAMES[: self.config.phases]):
            amps = current if index < in_use else 0.0
            values.append(
                {"value": f"{amps:.1f}", "context": context, "measurand": "Current.Import", "phase": phase, "unit": "A"}
            )
        values += [
            {"value": f"{offered:.1f}", "context": context, "measurand": "Current.Offered", "unit": "A"},
            {"value": f"{voltage:.1f}", "context": context, "measurand": "Voltage", "unit": "V"},
        ]
        if session is not None:
            values.append(
                {
                    "value": f"{connector.ev.soc:.0f}",
                    "context": context,
                    "measurand": "SoC",
                    "location": "EV",
                    "unit": "Percent",
                }
            )
        return {"timestamp": utc_iso(), "sampled_value": values}

    def request_stop(self, *, transaction_id: int | None = None, connector_id: int | None = None, reason: str) -> bool:
        for connector in self.connectors.values():
            session = connector.session
            if session is None:
                continue
            if (transaction_id is not None and session.transaction_id == transaction_id) or (
                connector_id is not None and connector.id == connector_id
            ):
                session.request_stop(reason)
                return True
        return False

    def connector_for_remote_start(self, connector_id: int | None, id_tag: str | None = None):
        """A connector a RemoteStartTransaction can use: operative, free, and
        not reserved for another id tag (a charger answers Rejected then)."""
        if not self.charger_operative:
            return None
        if connector_id is not None:
            connector = self.connectors.get(connector_id)
            candidates = [connector] if connector is not None else []
        else:
            candidates = list(self.connectors.values())
        for connector in candidates:
            reserved = connector.reservation
            if reserved is not None and reserved.id_tag != id_tag:
                continue
            if connector.operative and connector.session is None and not connector.claimed:
                return connector
        return None

    def claimed_connector(self, connector_id: int | None):
        for connector in self.connectors.values():
            if connector.claimed and connector_id in (None, connector.id):
                return connector
        return None
