"""The charger page follows a session live in Chromium: after a Remote start
from the page, the connector's transaction, the recent transactions, the
chart, the total energy and the Remote stop field follow without a reload,
and the Stop button then stops that session; after the stop they follow
again. Firmware and diagnostics progress, a boot and a reconnection follow
too."""

from datetime import UTC, datetime

import pytest
from ocpp.v16 import call

from ocpp_app.tests.helpers import browser_page, connected_charge_point, staff_session, ws_path

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
CID = "LIVE-PAGE"


def meter(transaction_id: int, second: int, wh: int):
    ts = datetime(2026, 1, 1, 10, 0, second, tzinfo=UTC).isoformat().replace("+00:00", "Z")
    sampled = [
        {"value": str(wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
        {"value": "7000", "measurand": "Power.Active.Import", "unit": "W"},
    ]
    return call.MeterValues(
        connector_id=1, transaction_id=transaction_id, meter_value=[{"timestamp": ts, "sampledValue": sampled}]
    )


async def test_the_charger_page_follows_a_remote_start_and_stop_without_a_reload(require_chromium, live_ocpp_server):
    server = live_ocpp_server
    session = await staff_session()
    answers = {"RemoteStartTransaction": {"status": "Accepted"}, "RemoteStopTransaction": {"status": "Accepted"}}
    async with connected_charge_point(server.ws_url + ws_path(CID), CID, answers=answers) as cp:
        await cp.call(call.BootNotification(charge_point_vendor="Acme", charge_point_model="X1"))
        await cp.call(call.StatusNotification(connector_id=1, error_code="NoError", status="Available"))
        # An earlier, finished session: the page opens on it.
        old = await cp.call(
            call.StartTransaction(connector_id=1, id_tag="OLDTAG", meter_start=0, timestamp="2026-01-01T09:00:00Z")
        )
        await cp.call(
            call.StopTransaction(meter_stop=500, timestamp="2026-01-01T09:30:00Z", transaction_id=old.transaction_id)
        )
        async with browser_page(require_chromium, server, session=session) as page:
            await page.goto(server.http_url + f"/ocpp/chargers/{CID}/view/")
            await page.wait_for_selector('#live[data-state="open"]')
            stop_field = page.locator('form[data-action="RemoteStopTransaction"] input[name="transactionId"]')
            assert await stop_field.input_value() == ""

            await page.locator('form[data-action="RemoteStartTransaction"] button').click()
            await page.wait_for_function("() => /Accepted/.test(document.getElementById('command-answer').textContent)")
            # The fake charge point starts the session a moment after accepting.
            for _ in range(100):
                if cp.started_transaction_id:
                    break
                await page.wait_for_timeout(50)
            tx = cp.started_transaction_id
            assert tx and tx != old.transaction_id
            await cp.call(call.StatusNotification(connector_id=1, error_code="NoError", status="Charging"))
            await cp.call(meter(tx, 10, 1200))

            cell = '#connectors [data-tx-connector="1"]'
            await page.wait_for_function(f"() => document.querySelector('{cell}').textContent.includes('tx {tx}')")
            await page.wait_for_function(
                f"() => document.querySelector('#recent-transactions tbody tr td').textContent.trim() === '{tx}'"
            )
            assert "active" in await page.locator("#recent-transactions tbody tr").first.inner_text()
            await page.wait_for_function(
                "() => document.querySelector('form[data-action=\"RemoteStopTransaction\"] input').value !== ''"
            )
            assert await stop_field.input_value() == str(tx)
            await page.wait_for_function(f"() => document.getElementById('chart').dataset.tx === '{tx}'")
            assert await page.locator("#chart-tx").inner_text() == str(tx)
            await page.wait_for_function("() => document.getElementById('total-energy').textContent.includes('0.7')")

            # Stop from the page: the field holds the live session, so the form is valid.
            await page.locator('form[data-action="RemoteStopTransaction"] button').click()
            await page.wait_for_function(
                "() => /RemoteStopTransaction.*Accepted|Accepted/.test(document.getElementById('command-answer').textContent)"
            )
            assert ("RemoteStopTransaction", {"transaction_id": tx}) in cp.received
            await cp.call(call.StopTransaction(meter_stop=1500, timestamp="2026-01-01T10:05:00Z", transaction_id=tx))
            await page.wait_for_function(f"() => !document.querySelector('{cell}').textContent.includes('tx {tx}')")
            assert "active" not in await page.locator("#recent-transactions tbody tr").first.inner_text()
            assert page.errors == []


async def test_firmware_diagnostics_boot_and_connection_follow_live(require_chromium, live_ocpp_server):
    server = live_ocpp_server
    session = await staff_session()
    cid = "LIVE-FIRMWARE"
    url = server.ws_url + ws_path(cid)
    async with browser_page(require_chromium, server, session=session) as page:
        async with connected_charge_point(url, cid) as cp:
            await cp.call(call.BootNotification(charge_point_vendor="Acme", charge_point_model="X1"))
            await page.goto(server.http_url + f"/ocpp/chargers/{cid}/view/")
            await page.wait_for_selector('#live[data-state="open"]')
            booted = await page.locator("#last-boot").inner_text()
            connected = await page.locator("#connected-since").inner_text()
            assert await page.locator("#diagnostics").inner_text() == "—"

            await cp.call(call.FirmwareStatusNotification(status="Downloaded"))
            await cp.call(call.FirmwareStatusNotification(status="Installed"))
            await cp.call(call.DiagnosticsStatusNotification(status="Uploaded"))
            await page.wait_for_function(
                "() => document.getElementById('firmware').textContent.includes('(Installed)')"
            )
            await page.wait_for_function("() => document.getElementById('diagnostics').textContent === 'Uploaded'")

        # A reset: the charger goes, comes back a moment later and boots again.
        await page.wait_for_function("() => document.getElementById('connected-since').textContent === 'offline'")
        await page.wait_for_timeout(1100)  # the page shows times to the second
        async with connected_charge_point(url, cid) as cp:
            await cp.call(call.BootNotification(charge_point_vendor="Acme", charge_point_model="X1"))
            await page.wait_for_function(
                f"() => !['offline', '{connected}'].includes(document.getElementById('connected-since').textContent)"
            )
            await page.wait_for_function(f"() => document.getElementById('last-boot').textContent !== '{booted}'")
            assert page.errors == []
