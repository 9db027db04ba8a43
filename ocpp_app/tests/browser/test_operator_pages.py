"""The operator pages in real headless Chromium against a real server, with a
real charge point: the charger page fits a 1400 px screen whatever the
configuration holds, its chart writes ISO dates, a GetConfiguration answer
reads as a table, a fault shows the vendor's details; the dashboard and the
records pages are usable on a 390 px phone; and an open dashboard says when its server is gone, greys
what it shows, and comes back by itself with fresh figures.

One server (and one browser per page) for all the layout checks: each server
start costs seconds of CI time."""

from datetime import UTC, datetime

import pytest
from asgiref.sync import sync_to_async
from ocpp.v16 import call

from ocpp_app.models import Charger, Connector
from ocpp_app.tests.helpers import browser_page, connected_charge_point, staff_session, wait_for, ws_path

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
CID = "LAYOUT 1#ü"
# As long as OCPP lets them be (CiString50 and CiString500), without a space.
LONG_KEY = ("VendorSpecificConfigurationKeyThatNeverBreaks" + "X" * 50)[:50]
LONG_VALUE = ("Energy.Active.Import.Register,Power.Active.Import,Current.Import," * 12)[:500]
VENDOR_ID = "com.example.vendor." + "subsystem" * 20
GET_CONFIGURATION = {
    "configurationKey": [
        {"key": "HeartbeatInterval", "readonly": False, "value": "60"},
        {"key": LONG_KEY, "readonly": True, "value": LONG_VALUE},
    ],
    "unknownKey": ["NoSuchKey"],
}


async def fits(page) -> bool:
    return await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


async def within_screen(locator, width: int) -> bool:
    box = await locator.bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width


def meter_values(transaction_id: int, minute: int, wh: int, watts: int):
    ts = datetime(2026, 1, 1, 12, minute, tzinfo=UTC).isoformat().replace("+00:00", "Z")
    sampled = [
        {"value": str(wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
        {"value": str(watts), "measurand": "Power.Active.Import", "unit": "W"},
    ]
    return call.MeterValues(
        connector_id=1, transaction_id=transaction_id, meter_value=[{"timestamp": ts, "sampledValue": sampled}]
    )


def store_long_configuration() -> None:
    Charger.objects.filter(charger_id=CID).update(
        config={"configurationKey": {LONG_KEY: {"value": LONG_VALUE, "readonly": True}, "A": {"value": "1"}}}
    )


async def test_the_charger_page_and_the_dashboard_fit_their_screens(require_chromium, live_ocpp_server):
    server = live_ocpp_server
    session = await staff_session()
    answers = {"GetConfiguration": GET_CONFIGURATION}
    async with connected_charge_point(server.ws_url + ws_path(CID), CID, answers=answers) as cp:
        await cp.call(call.BootNotification(charge_point_vendor="Acme", charge_point_model="X1"))
        await cp.call(call.StatusNotification(connector_id=1, error_code="NoError", status="Available"))
        await cp.call(call.StatusNotification(connector_id=2, error_code="NoError", status="Available"))
        started = await cp.call(
            call.StartTransaction(connector_id=1, id_tag="PHONETAG", meter_start=1000, timestamp="2026-01-01T12:00:00Z")
        )
        await cp.call(meter_values(started.transaction_id, 1, 1500, 7000))
        await cp.call(meter_values(started.transaction_id, 2, 2100, 7200))
        await sync_to_async(store_long_configuration)()

        # The charger page at 1400 px, in a browser far from UTC.
        async with browser_page(
            require_chromium, server, session=session, viewport=(1400, 900), timezone_id="America/Chicago"
        ) as page:
            await page.goto(server.http_url + "/ocpp/chargers/LAYOUT%201%23%C3%BC/view/")
            await page.wait_for_selector('#live[data-state="open"]')
            await page.wait_for_selector("#chart .uplot canvas")
            assert await fits(page), "the configuration card widens the page"
            assert await within_screen(page.locator("#configuration"), 1400)

            # The chart: ISO dates in UTC on the time axis and in its legend.
            labels = await page.evaluate("window.ocppChart().axes[0]._values")
            assert labels and labels[0].startswith("2026-01-01\n12:"), labels
            assert all("/" not in label and "am" not in label.lower() for label in labels if label)
            plot = "window.ocppChart()"
            await page.evaluate(f"{plot}.setCursor({{left: {plot}.valToPos({plot}.data[0][1], 'x'), top: 10}})")
            legend = await page.locator(".u-legend .u-series").first.locator(".u-value").inner_text()
            assert legend == "2026-01-01 12:02:00"

            # GetConfiguration: the answer as a key/value table, the card refreshed, still fitting.
            await page.locator('form[data-action="GetConfiguration"] button').click()
            answer = page.locator("#command-answer table.config-table")
            await answer.wait_for()
            assert await answer.locator('tr[data-key="HeartbeatInterval"] td').all_inner_texts() == [
                "HeartbeatInterval",
                "60",
                "no",
            ]
            assert "Unknown to the charger: NoSuchKey" in await page.locator("#command-answer").inner_text()
            await page.locator('#configuration tr[data-key="HeartbeatInterval"]').wait_for()
            assert await fits(page)

            # A fault with the vendor's details appears live, and wraps in its card.
            await cp.call(
                call.StatusNotification(
                    connector_id=2,
                    error_code="OtherError",
                    status="Faulted",
                    vendor_id=VENDOR_ID,
                    vendor_error_code="E-4711",
                    info="contactor welded",
                )
            )
            cell = page.locator('#connectors [data-fault-connector="2"]')
            await page.wait_for_function(
                "() => /E-4711/.test(document.querySelector('#connectors [data-fault-connector=\"2\"]').textContent)"
            )
            text = await cell.inner_text()
            assert "OtherError" in text and VENDOR_ID in text and "contactor welded" in text
            assert await fits(page)
            assert page.errors == []

        # The dashboard on a phone: connectors and the transaction in view, no sideways scroll.
        await wait_for(
            lambda: Connector.objects.filter(charger__charger_id=CID, connector_id=2, status="Faulted").exists()
        )
        async with browser_page(require_chromium, server, session=session, viewport=(390, 844)) as page:
            await page.goto(server.http_url + "/ocpp/")
            await page.wait_for_selector('#live[data-state="open"]')
            row = page.locator(f'tr[data-charger-id="{CID}"]')
            # In view without scrolling anything sideways: nothing hidden to the right.
            table = page.locator("#chargers").locator("xpath=..")
            assert await table.evaluate("el => el.scrollWidth <= el.clientWidth")
            for part in (
                row.locator('[data-connector="1"]'),
                row.locator('[data-connector="2"]'),
                row.locator(".active-tx"),
            ):
                assert await part.is_visible() and await within_screen(part, 390)
            assert "PHONETAG" in await row.locator(".active-tx").inner_text()
            assert "E-4711" in await row.locator('.fault-note[data-fault-connector="2"]').inner_text()
            assert await fits(page)
            assert page.errors == []

            # The records pages on a phone: their navigation wraps, nothing scrolls sideways.
            for path in (
                "/ocpp/records/",
                "/ocpp/commands/view/",
                "/ocpp/charging-profiles/view/",
                "/ocpp/reservations/view/",
                "/ocpp/security-events/view/",
            ):
                response = await page.goto(server.http_url + path)
                assert response.status == 200, path
                assert await within_screen(page.locator("#records-nav a").last, 390), path
                assert await fits(page), f"{path} is wider than the screen"
            assert page.errors == []


def add_faulted_charger() -> None:
    charger = Charger.objects.create(charger_id="WHILE-AWAY", vendor="Acme")
    Connector.objects.create(charger=charger, connector_id=1, status="Faulted", error_code="GroundFailure")


async def test_the_dashboard_says_when_its_server_is_gone_and_comes_back_fresh(require_chromium, server_factory):
    server = await sync_to_async(server_factory)()
    session = await staff_session()
    await sync_to_async(Charger.objects.create)(charger_id="SHOWN", vendor="Acme")
    async with browser_page(require_chromium, server, session=session) as page:
        await page.goto(server.http_url + "/ocpp/")
        await page.wait_for_selector('#live[data-state="open"]')
        await page.evaluate("window.__sameDocument = true")
        counts = page.locator("#counts")
        assert await counts.evaluate("el => getComputedStyle(el).opacity") == "1"
        assert await page.locator("#live").inner_text() == "● live"

        await sync_to_async(server.stop)()
        await page.wait_for_selector('#live[data-state="closed"]')
        assert "disconnected" in await page.locator("#live").inner_text()
        assert "live" not in (await page.locator("#live").inner_text()).split("·")[0]
        # The figures are marked stale: greyed out, not shown as current.
        await page.wait_for_function("() => getComputedStyle(document.getElementById('counts')).opacity < 0.6")
        assert await page.locator("#chargers").locator("xpath=..").evaluate("el => getComputedStyle(el).opacity") != "1"

        # Meanwhile a charger faults; the server comes back on the same port.
        await sync_to_async(add_faulted_charger)()
        await sync_to_async(server_factory)(port=server.port)
        await page.wait_for_selector('#live[data-state="open"]', timeout=30_000)
        assert await page.locator("#live").inner_text() == "● live"
        await page.wait_for_function("() => document.querySelector('[data-count=faulted] b').textContent === '1'")
        assert await page.locator("[data-count=total] b").inner_text() == "2"
        assert await counts.evaluate("el => getComputedStyle(el).opacity") == "1"
        assert await page.evaluate("window.__sameDocument") is True  # refreshed in place, never reloaded
        assert page.errors == []
