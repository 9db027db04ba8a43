"""The driver's page on a 390 px phone, against a real server and a real OCPP
charge point: the session's energy rises as meter values arrive, a connector
that faults says so, and the page says when the charger goes offline, all
without a reload."""

from datetime import UTC, datetime

import pytest
from ocpp.v16 import call

from ocpp_app.tests.helpers import browser_page, connected_charge_point, ws_path

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
CID = "DRIVER 1#ü"
PAGE = "/ocpp/c/DRIVER%201%23%C3%BC/"


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def meter_values(transaction_id: int, wh: int, watts: int):
    sampled = [
        {"value": str(wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
        {"value": str(watts), "measurand": "Power.Active.Import", "unit": "W"},
    ]
    return call.MeterValues(
        connector_id=1, transaction_id=transaction_id, meter_value=[{"timestamp": now_iso(), "sampledValue": sampled}]
    )


async def status(cp, connector_id: int, value: str, error_code: str = "NoError"):
    await cp.call(
        call.StatusNotification(connector_id=connector_id, error_code=error_code, status=value, timestamp=now_iso())
    )


def text_is(selector: str, expected: str) -> str:
    return f"() => document.querySelector({selector!r})?.textContent.trim() === {expected!r}"


async def test_the_drivers_page_follows_the_session_and_says_when_the_charger_is_offline(
    require_chromium, live_ocpp_server
):
    server = live_ocpp_server
    energy = '[data-connector-card="1"] [data-field="energy_text"]'
    async with browser_page(require_chromium, server, viewport=(390, 844)) as page:
        async with connected_charge_point(server.ws_url + ws_path(CID), CID) as cp:
            await cp.call(call.BootNotification(charge_point_vendor="Acme", charge_point_model="X1"))
            await status(cp, 2, "Available")
            started = await cp.call(
                call.StartTransaction(connector_id=1, id_tag="PHONE-CARD-42", meter_start=1000, timestamp=now_iso())
            )
            await status(cp, 1, "Charging")
            await cp.call(meter_values(started.transaction_id, 1500, 7000))

            response = await page.goto(server.http_url + PAGE)
            assert response.status == 200
            await page.evaluate("window.__sameDocument = true")  # a reload would wipe it
            card = page.locator('[data-connector-card="1"]')
            assert await page.locator(energy).inner_text() == "0.500 kWh"
            assert await card.locator('[data-field="card"]').inner_text() == "••••42"
            assert await card.locator('[data-field="power_text"]').inner_text() == "7.00 kW"
            await page.wait_for_function(
                "() => /^\\d+ min \\d\\d s$/.test(document.querySelector("
                '\'[data-connector-card="1"] [data-field="elapsed"]\').textContent)'
            )
            assert await page.locator("#charger-state").inner_text() == "Online"
            assert await page.locator("#charger-notice").is_hidden()

            await cp.call(meter_values(started.transaction_id, 2100, 7200))
            await page.wait_for_function(text_is(energy, "1.100 kWh"))
            assert await card.locator('[data-field="power_text"]').inner_text() == "7.20 kW"

            await status(cp, 2, "Faulted", error_code="GroundFailure")
            fault = page.locator('[data-connector-card="2"] [data-field="fault_text"]')
            await fault.wait_for(state="visible")
            assert "GroundFailure" in await fault.inner_text()
            assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        # The charge point's socket is closed: the server marks it offline.
        await page.wait_for_function(text_is("#charger-state", "Offline"))
        notice = page.locator("#charger-notice")
        await notice.wait_for(state="visible")
        assert "offline" in await notice.inner_text()
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert await page.evaluate("window.__sameDocument") is True
        assert page.errors == []


async def test_a_session_that_ends_shows_the_energy_the_charger_finally_counted(require_chromium, live_ocpp_server):
    server = live_ocpp_server
    cid = "DRIVER-END"
    energy = '[data-connector-card="1"] [data-field="energy_text"]'
    ended = '[data-connector-card="1"] [data-field="ended"]'
    async with browser_page(require_chromium, server, viewport=(390, 844)) as page:
        async with connected_charge_point(server.ws_url + ws_path(cid), cid) as cp:
            await cp.call(call.BootNotification(charge_point_vendor="Acme", charge_point_model="X1"))
            started = await cp.call(
                call.StartTransaction(connector_id=1, id_tag="PHONE-CARD-42", meter_start=1000, timestamp=now_iso())
            )
            await status(cp, 1, "Charging")
            await cp.call(meter_values(started.transaction_id, 1306, 7000))
            await page.goto(server.http_url + f"/ocpp/c/{cid}/1/")
            assert await page.locator(energy).inner_text() == "0.306 kWh"

            # The last readings never came: the stop says what was delivered.
            await cp.call(
                call.StopTransaction(meter_stop=1500, timestamp=now_iso(), transaction_id=started.transaction_id)
            )
            await status(cp, 1, "Finishing")
            await page.wait_for_function(text_is(ended, "Session ended · 0.500 kWh"))
            assert await page.locator('[data-connector-card="1"] [data-field="session"]').is_hidden()
            assert page.errors == []
