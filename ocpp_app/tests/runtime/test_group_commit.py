"""Group commit: one transaction per batch, and a failing call never fails or
loses the others of its batch."""

import asyncio

import pytest

from ocpp_app.models import Charger
from ocpp_app.runtime.group_commit import GroupCommitter

pytestmark = pytest.mark.django_db(transaction=True)


def insert_charger(*, charger_id: str) -> str:
    return Charger.objects.create(charger_id=charger_id).charger_id


def explode(*, charger_id: str) -> None:
    Charger.objects.create(charger_id=charger_id)
    raise ValueError("bad message")


async def test_it_returns_each_result_of_a_batch():
    committer = GroupCommitter()
    results = await asyncio.gather(*(committer.run(insert_charger, charger_id=f"GC{n}") for n in range(5)))
    assert results == [f"GC{n}" for n in range(5)]
    assert await Charger.objects.filter(charger_id__startswith="GC").acount() == 5


async def test_it_isolates_a_failing_call_from_the_rest_of_its_batch():
    committer = GroupCommitter()
    outcomes = await asyncio.gather(
        committer.run(insert_charger, charger_id="OK1"),
        committer.run(explode, charger_id="BAD"),
        committer.run(insert_charger, charger_id="OK2"),
        return_exceptions=True,
    )
    assert outcomes[0] == "OK1" and outcomes[2] == "OK2"
    assert isinstance(outcomes[1], ValueError)
    ids = {c async for c in Charger.objects.values_list("charger_id", flat=True)}
    # The failing call's own write was rolled back; the others were committed.
    assert ids == {"OK1", "OK2"}


async def test_it_keeps_working_after_a_failed_batch():
    committer = GroupCommitter()
    with pytest.raises(ValueError):
        await committer.run(explode, charger_id="BAD")
    assert await committer.run(insert_charger, charger_id="AFTER") == "AFTER"


async def test_it_coalesces_the_calls_of_a_batch_into_the_batched_form():
    from ocpp_app.services.chargers import charger_heartbeat

    calls = []
    original = charger_heartbeat.many

    def spy(kwargs_list):
        calls.append([kwargs["charger_id"] for kwargs in kwargs_list])
        return original(kwargs_list)

    for n in range(3):
        await Charger.objects.acreate(charger_id=f"HB{n}")
    charger_heartbeat.many = spy
    try:
        committer = GroupCommitter()
        await asyncio.gather(*(committer.run(charger_heartbeat, charger_id=f"HB{n}") for n in range(3)))
    finally:
        charger_heartbeat.many = original
    assert calls == [["HB0", "HB1", "HB2"]]
    assert await Charger.objects.filter(last_heartbeat__isnull=False).acount() == 3
