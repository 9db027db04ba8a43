"""The load manager in a real server, steering real OCPP 1.6 charge points
(the `ocpp` library's) on one circuit: the profiles they are sent keep the
circuit within its limit through starts, a lowered limit, a stop, a refusal
and a charger that does not answer."""

import asyncio
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async
from ocpp.v16 import call

from ocpp_app.models import Charger, Command, LoadAllocation
from ocpp_app.services import load
from ocpp_app.tests.helpers import connected_charge_point, wait_for

pytestmark = pytest.mark.e2e

LIMIT_ENV = {"OCPP_LOAD_INTERVAL": "0.2", "OCPP_LOAD_MIN_INTERVAL": "0.5", "OCPP_LOAD_SAMPLE_INTERVAL": "1"}


class Profiles:
    """What one charge point was told: the limit in force per connector."""

    def __init__(self, *, refuse: bool = False) -> None:
        self.tx: dict[int, float] = {}
        self.failsafe: float | None = None
        self.refuse = refuse

    def set(self, request: dict) -> dict:
        if self.refuse:
            return {"status": "Rejected"}
        profile = request["cs_charging_profiles"]
        # The library reads numbers as Decimal.
        limit = float(profile["charging_schedule"]["charging_schedule_period"][0]["limit"])
        if profile["charging_profile_purpose"] == "TxProfile":
            self.tx[request["connector_id"]] = limit
        else:
            self.failsafe = limit
        return {"status": "Accepted"}

    def composite(self, request: dict) -> dict:
        limit = self.tx.get(request["connector_id"], self.failsafe or 0)
        return {
            "status": "Accepted",
            "connectorId": request["connector_id"],
            "scheduleStart": "2026-01-01T00:00:00Z",
            "chargingSchedule": {
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}],
            },
        }

    def answers(self) -> dict:
        return {
            "SetChargingProfile": self.set,
            "GetCompositeSchedule": self.composite,
            "ClearChargingProfile": {"status": "Accepted"},
        }


def tree(ids, limit="32"):
    site = load.circuit_write(circuit=None, fields={"name": "Main", "max_current": Decimal(limit)})
    for charger_id in ids:
        Charger.objects.create(charger_id=charger_id, circuit=site)
    return site


async def start(cp, tag="TAG1"):
    result = await cp.call(
        call.StartTransaction(connector_id=1, id_tag=tag, meter_start=0, timestamp="2026-01-01T10:00:00Z")
    )
    return result.transaction_id


async def settled(profiles: dict[str, Profiles], expected: dict[str, float], timeout: float = 15.0):
    told = await wait_for(lambda: all(profiles[k].tx.get(1) == v for k, v in expected.items()), timeout=timeout)
    assert told, {k: p.tx.get(1) for k, p in profiles.items()}


async def test_three_chargers_share_a_circuit_through_every_change(server_factory):
    ids = ["LM-A", "LM-B", "LM-C"]
    site = await sync_to_async(tree)(ids)
    server = server_factory(**LIMIT_ENV)
    profiles = {charger_id: Profiles() for charger_id in ids}
    async with (
        connected_charge_point(f"{server.ws_url}/ocpp/LM-A", "LM-A", answers=profiles["LM-A"].answers()) as a,
        connected_charge_point(f"{server.ws_url}/ocpp/LM-B", "LM-B", answers=profiles["LM-B"].answers()) as b,
        connected_charge_point(f"{server.ws_url}/ocpp/LM-C", "LM-C", answers=profiles["LM-C"].answers()) as c,
    ):
        tx_a = await start(a)
        await settled(profiles, {"LM-A": 32.0})
        await start(b)
        await settled(profiles, {"LM-A": 16.0, "LM-B": 16.0})
        await start(c)
        await settled(profiles, {"LM-A": 10.6, "LM-B": 10.6, "LM-C": 10.6})
        # The fail-safe: every connector of the tree at once.
        assert await wait_for(lambda: all(p.failsafe == 10.6 for p in profiles.values()))

        # The limit lowered to 12 A: two keep 6 A, the latest session is paused.
        await sync_to_async(load.circuit_write)(circuit=site, fields={"max_current": Decimal("12")})
        await settled(profiles, {"LM-A": 6.0, "LM-B": 6.0, "LM-C": 0.0})
        # The fail-safes follow: at 12 A, two connectors of three get 6 A, one nothing.
        assert await wait_for(lambda: sorted(p.failsafe for p in profiles.values()) == [0.0, 6.0, 6.0])

        # A stops: C gets its minimum back.
        await a.call(call.StopTransaction(meter_stop=1000, timestamp="2026-01-01T11:00:00Z", transaction_id=tx_a))
        await settled(profiles, {"LM-B": 6.0, "LM-C": 6.0})

        # What the chargers say they apply is kept beside each limit.
        def confirmed():
            # None until the GetCompositeSchedule after the latest accepted profile answered.
            rows = LoadAllocation.objects.filter(transaction__stop_time__isnull=True)
            return sorted(value for value in rows.values_list("confirmed_limit", flat=True) if value is not None)

        assert await wait_for(lambda: confirmed() == [Decimal("6.0"), Decimal("6.0")])
    site_samples = await sync_to_async(lambda: site.samples.count())()
    assert site_samples >= 1


async def test_a_charger_that_refuses_is_counted_at_its_maximum_and_flagged(server_factory):
    await sync_to_async(tree)(["LM-R", "LM-OK"], limit="30")
    await sync_to_async(Charger.objects.filter(charger_id="LM-R").update)(max_current=Decimal("16"))
    server = server_factory(**LIMIT_ENV)
    refusing, steered = Profiles(refuse=True), Profiles()
    async with (
        connected_charge_point(f"{server.ws_url}/ocpp/LM-R", "LM-R", answers=refusing.answers()) as r,
        connected_charge_point(f"{server.ws_url}/ocpp/LM-OK", "LM-OK", answers=steered.answers()) as ok,
    ):
        await start(r)
        await start(ok)

        def flagged():
            charger = Charger.objects.get(charger_id="LM-R")
            return charger.load_control == "rejected"

        assert await wait_for(flagged)
        # 30 A - the refusing charger's 16 A maximum (steered, both would get 15 A).
        assert await wait_for(lambda: steered.tx.get(1) == 14.0, timeout=15)
        row = await sync_to_async(LoadAllocation.objects.get)(charger__charger_id="LM-R")
        assert (row.reason, row.limit) == ("fixed", Decimal("16.0"))
        assert "Rejected" in row.detail


async def test_a_charger_without_smart_charging_answering_not_implemented_is_never_asked_again(server_factory):
    await sync_to_async(tree)(["LM-N"], limit="32")
    server = server_factory(**LIMIT_ENV)
    async with connected_charge_point(f"{server.ws_url}/ocpp/LM-N", "LM-N", answers={}) as cp:
        await start(cp)

        def unsupported():
            return Charger.objects.get(charger_id="LM-N").load_control == "unsupported"

        assert await wait_for(unsupported)

        def asked() -> int:
            return Command.objects.filter(charger__charger_id="LM-N", action="SetChargingProfile").count()

        before = await sync_to_async(asked)()
        await asyncio.sleep(1.5)  # about seven passes of the load manager
        assert await sync_to_async(asked)() == before <= 2  # its TxProfile, perhaps its fail-safe; then no more
        row = await sync_to_async(LoadAllocation.objects.get)(charger__charger_id="LM-N")
        assert row.state == "unsupported"
