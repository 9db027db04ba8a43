"""The charger page's command forms as an operator types into them, in real
headless Chromium against a real server with a real OCPP charge point: a
stored configuration value is brought when its key is typed and replaced by
what is typed into Value; a submit the browser's validation blocks leaves no
earlier answer under its form; the GetConfiguration answer uses the card's
width; a Remote start without a session says so in words."""

import pytest
from asgiref.sync import sync_to_async
from ocpp.v16 import call

from ocpp_app.models import Charger
from ocpp_app.tests.helpers import browser_page, connected_charge_point, staff_session, ws_path

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
CID = "TYPING-1"
URL = f"/ocpp/chargers/{CID}/view/"
CONFIG = {
    "configurationKey": {
        "HeartbeatInterval": {"value": "60", "readonly": False},
        "MeterValueSampleInterval": {"value": "15", "readonly": False},
    }
}


def store_config() -> None:
    Charger.objects.filter(charger_id=CID).update(config=CONFIG)


def received(cp, action: str) -> list[dict]:
    return [request for name, request in cp.received if name == action]


async def booted(cp) -> None:
    await cp.call(call.BootNotification(charge_point_vendor="Acme", charge_point_model="X1"))
    await cp.call(call.StatusNotification(connector_id=1, error_code="NoError", status="Available"))


async def test_typing_a_key_then_a_value_sends_the_value_typed(require_chromium, live_ocpp_server):
    server = live_ocpp_server
    session = await staff_session()
    answers = {"ChangeConfiguration": {"status": "Accepted"}}
    async with connected_charge_point(server.ws_url + ws_path(CID), CID, answers=answers) as cp:
        await booted(cp)
        await sync_to_async(store_config)()
        async with browser_page(require_chromium, server, session=session) as page:
            await page.goto(server.http_url + URL)
            change = page.locator('form[data-action="ChangeConfiguration"]')
            key = change.locator("input[name=key]")
            value = change.locator("input[name=value]")

            await key.click()
            await page.keyboard.type("HeartbeatInterval")
            await value.click()
            await page.keyboard.type("30")
            await change.locator("button").click()
            await change.locator(".answer").filter(has_text="ChangeConfiguration →").wait_for()
            assert received(cp, "ChangeConfiguration") == [{"key": "HeartbeatInterval", "value": "30"}]
            assert "HeartbeatInterval is now 30." in await change.locator(".answer").inner_text()

            # The stored value is there as soon as a key is typed, to edit.
            await value.fill("")
            await key.fill("")
            await key.click()
            await page.keyboard.type("MeterValueSampleInterval")
            assert await value.input_value() == "15"

            # A value typed first is the operator's: a key typed after it does not replace it.
            await value.fill("")
            await key.fill("")
            await value.click()
            await page.keyboard.type("45")
            await key.click()
            await page.keyboard.type("MeterValueSampleInterval")
            await key.blur()
            assert await value.input_value() == "45"
            assert page.errors == []


async def test_a_submit_the_browser_blocks_leaves_no_earlier_answer_and_cancel_needs_a_reservation(
    require_chromium, live_ocpp_server
):
    server = live_ocpp_server
    session = await staff_session()
    answers = {
        "RemoteStopTransaction": {"status": "Accepted"},
        "ReserveNow": {"status": "Accepted"},
        "CancelReservation": {"status": "Accepted"},
    }
    async with connected_charge_point(server.ws_url + ws_path(CID), CID, answers=answers) as cp:
        await booted(cp)
        async with browser_page(require_chromium, server, session=session) as page:
            await page.goto(server.http_url + URL)
            await page.evaluate("document.querySelectorAll('details.cmd-group').forEach(d => { d.open = true; })")

            # Remote stop: an answer, then a submit with the field empty.
            stop = page.locator('form[data-action="RemoteStopTransaction"]')
            await stop.locator("input[name=transactionId]").fill("123")
            await stop.locator("button").click()
            await stop.locator(".answer").filter(has_text="The charger will stop transaction 123.").wait_for()
            await stop.locator("input[name=transactionId]").fill("")
            await stop.locator("button").click()
            box = stop.locator(".answer")
            await box.filter(has_text="not sent").wait_for()
            text = await box.inner_text()
            assert "transaction 123" not in text
            assert "Transaction id: " in text
            assert len(received(cp, "RemoteStopTransaction")) == 1

            # Cancel reservation: nothing held, nothing to send.
            cancel = page.locator('form[data-action="CancelReservation"]')
            assert await cancel.locator("button").is_disabled()
            reserve = page.locator('form[data-action="ReserveNow"]')
            await reserve.locator("input[name=idTag]").fill("CARD-A")
            await reserve.locator("button").click()
            await reserve.locator(".answer").filter(has_text="ReserveNow → Accepted").wait_for()
            await cancel.locator("button:not([disabled])").wait_for()
            await cancel.locator("button").click()
            await cancel.locator(".answer").filter(has_text="is cancelled.").wait_for()
            await cancel.locator("button[disabled]").wait_for()
            assert len(received(cp, "CancelReservation")) == 1
            assert page.errors == []


KEYS = [
    "AuthorizeRemoteTxRequests",
    "ClockAlignedDataInterval",
    "ConnectionTimeOut",
    "LocalAuthorizeOffline",
    "MeterValuesAlignedData",
    "MeterValuesSampledDataMaxLength",
    "StopTransactionOnInvalidId",
    "SupportedFeatureProfiles",
]


async def test_a_get_configuration_answer_uses_the_cards_width_and_keeps_key_names_whole(
    require_chromium, live_ocpp_server
):
    server = live_ocpp_server
    session = await staff_session()
    reported = [{"key": key, "readonly": i % 2 == 0, "value": "Core,FirmwareManagement"} for i, key in enumerate(KEYS)]
    answers = {"GetConfiguration": {"configurationKey": reported}}
    async with connected_charge_point(server.ws_url + ws_path(CID), CID, answers=answers) as cp:
        await booted(cp)
        async with browser_page(require_chromium, server, session=session, viewport=(1400, 900)) as page:
            await page.goto(server.http_url + URL)
            get = page.locator('form[data-action="GetConfiguration"]')
            await get.locator("button").click()
            await get.locator(".answer").filter(has_text="The charger reported 8 keys").wait_for()
            card = await page.locator("#commands").bounding_box()
            box = await get.locator(".answer").bounding_box()
            assert box["width"] > 0.8 * card["width"]
            # Each key name on one line: none broken mid-word.
            lines = await get.locator(".answer td.config-key").evaluate_all(
                "cells => cells.map(td => { const r = document.createRange(); r.selectNodeContents(td);"
                " return [td.textContent, r.getClientRects().length]; })"
            )
            assert lines == [[key, 1] for key in KEYS]
            assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            assert page.errors == []


async def test_a_remote_start_whose_session_does_not_start_says_so_in_words(require_chromium, server_factory):
    server = server_factory(OCPP_CALL_TIMEOUT="2")
    session = await staff_session()
    answers = {"RemoteStartTransaction": {"status": "Accepted"}}
    async with connected_charge_point(
        server.ws_url + ws_path(CID), CID, answers=answers, start_after_remote=False
    ) as cp:
        await booted(cp)
        async with browser_page(require_chromium, server, session=session) as page:
            await page.goto(server.http_url + URL)
            start = page.locator('form[data-action="RemoteStartTransaction"]')
            await start.locator("button").click()
            box = start.locator(".answer")
            await box.filter(has_text="RemoteStartTransaction → Accepted").wait_for()
            text = await box.inner_text()
            assert "The charger accepted, but no session started within the time-out." in text
            assert "transaction_id" not in text
            assert page.errors == []
