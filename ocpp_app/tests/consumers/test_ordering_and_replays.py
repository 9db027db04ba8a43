"""Order and idempotency: a replayed backlog is answered in order, replayed
starts and stops are answered again without double counting, and two chargers
never touch each other's transactions."""

import json

import pytest
from channels.db import database_sync_to_async

from ocpp_app.models import (
    ChargerEvent,
    MeterReading,
    Transaction,
)
from ocpp_app.tests.helpers import (
    START,
    acount,
    call,
    charger_socket,
    reply,
)

pytestmark = pytest.mark.django_db(transaction=True)


async def test_it_answers_a_replayed_start_transaction_with_the_same_id():
    async with charger_socket() as comm:
        first = await call(comm, "StartTransaction", START, message_id="a")
        again = await call(comm, "StartTransaction", START, message_id="b")
    assert first[2]["transactionId"] == again[2]["transactionId"]
    assert await acount(Transaction) == 1


async def test_it_answers_a_replayed_backlog_in_order_and_stores_it_all():
    frames = []
    for minute in range(20):
        meter = {
            "connectorId": 1,
            "meterValue": [{"timestamp": f"2024-05-01T12:{minute:02d}:00Z", "sampledValue": [{"value": str(minute)}]}],
        }
        frames.append(json.dumps([2, f"q{minute}", "MeterValues", meter]))
    async with charger_socket() as comm:
        for frame in frames:  # queued by the charger while offline, sent back to back
            await comm.send_to(text_data=frame)
        answers = [await reply(comm) for _ in frames]
    assert [a[:2] for a in answers] == [[3, f"q{minute}"] for minute in range(20)]
    assert await acount(MeterReading, charger__charger_id="CP1") == 20


async def test_it_gives_simultaneous_starts_of_two_chargers_different_ids():
    async with charger_socket("/ocpp/CPA") as a, charger_socket("/ocpp/CPB") as b:
        await a.send_to(text_data=json.dumps([2, "s", "StartTransaction", START]))
        await b.send_to(text_data=json.dumps([2, "s", "StartTransaction", START]))
        answer_a, answer_b = await reply(a), await reply(b)
    assert answer_a[2]["transactionId"] != answer_b[2]["transactionId"]
    assert await acount(Transaction) == 2


async def test_it_never_lets_a_charger_stop_another_chargers_transaction():
    async with charger_socket("/ocpp/CPA") as a, charger_socket("/ocpp/CPB") as b:
        tx_id = (await call(a, "StartTransaction", START))[2]["transactionId"]
        stop = {"transactionId": tx_id, "meterStop": 9999, "timestamp": "2024-05-01T13:00:00Z"}
        answer = await call(b, "StopTransaction", stop)
    tx = await database_sync_to_async(Transaction.objects.get)(pk=tx_id)
    assert answer == [3, "m1", {}]
    assert (tx.stop_time, tx.meter_stop) == (None, None)
    assert await acount(ChargerEvent, charger__charger_id="CPB", status="ForeignTransaction") == 1


async def test_it_answers_a_replayed_stop_again_without_double_energy():
    async with charger_socket() as comm:
        tx_id = (await call(comm, "StartTransaction", START, message_id="a"))[2]["transactionId"]
        stop = {"transactionId": tx_id, "meterStop": 1500, "timestamp": "2024-05-01T13:00:00Z"}
        first = await call(comm, "StopTransaction", stop, message_id="b")
        again = await call(comm, "StopTransaction", {**stop, "meterStop": 2500}, message_id="c")
    tx = await database_sync_to_async(Transaction.objects.get)(pk=tx_id)
    assert (first, again) == ([3, "b", {}], [3, "c", {}])
    assert (tx.meter_stop, tx.energy_wh) == (1500, 500)
