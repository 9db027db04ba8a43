"""Pages driven in real headless Chromium against a real server process, with a
real OCPP charge point (the `ocpp` library) on the other side."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async
from ocpp.v16 import call

from ocpp_app.models import Charger
from ocpp_app.tests.helpers import browser_page, connected_charge_point, staff_session, ws_path

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
ODD_ID = "BR 1#ü"


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


async def status(cp, connector_id: int, value: str, error_code: str = "NoError"):
    await cp.call(
        call.StatusNotification(connector_id=connector_id, error_code=error_code, status=value, timestamp=now_iso())
    )


async def open_dashboard(page, server):
    await page.goto(server.http_url + "/ocpp/")
    await page.wait_for_selector('#live[data-state="open"]')
    # Set a flag that a reload would wipe: proves the row arrived live.
    await page.evaluate("window.__sameDocument = true")


async def test_a_connecting_charger_appears_on_an_open_dashboard(require_chromium, live_ocpp_server):
    session = await staff_session()
    async with browser_page(require_chromium, live_ocpp_server, session=session) as page:
        await open_dashboard(page, live_ocpp_server)
        assert await page.locator("tr[data-charger-id]").count() == 0
        async with connected_charge_point(live_ocpp_server.ws_url + ws_path(ODD_ID), ODD_ID) as cp:
            await cp.call(call.BootNotification(charge_point_vendor="Acme", charge_point_model="X1"))
            await status(cp, 1, "Available")
            row = page.locator(f'tr[data-charger-id="{ODD_ID}"]')
            await row.wait_for()
            await page.wait_for_function(
                'id => document.querySelector(`tr[data-charger-id="${id}"] [data-connector="1"]`)', arg=ODD_ID
            )
            assert await row.get_attribute("data-state") == "online"
            assert "Acme" in await row.inner_text()
            await page.wait_for_function("() => document.querySelector('[data-count=online] b').textContent === '1'")
        assert await page.evaluate("window.__sameDocument") is True
        assert page.errors == []


async def test_a_status_change_recolours_the_connector(require_chromium, live_ocpp_server):
    session = await staff_session()
    async with connected_charge_point(live_ocpp_server.ws_url + ws_path("BR2"), "BR2") as cp:
        await cp.call(call.BootNotification(charge_point_vendor="Acme", charge_point_model="X1"))
        await status(cp, 1, "Available")
        async with browser_page(require_chromium, live_ocpp_server, session=session) as page:
            await open_dashboard(page, live_ocpp_server)
            connector = page.locator('tr[data-charger-id="BR2"] [data-connector="1"]')
            assert await connector.get_attribute("class") == "connector st-ok"
            green = await connector.evaluate("el => getComputedStyle(el).backgroundColor")
            await status(cp, 1, "Faulted", error_code="GroundFailure")
            await page.wait_for_selector('tr[data-charger-id="BR2"] [data-connector="1"].st-fault')
            red = await connector.evaluate("el => getComputedStyle(el).backgroundColor")
            assert (green, red) == ("rgb(22, 163, 74)", "rgb(220, 38, 38)")
            assert await connector.inner_text() == "#1 Faulted"
            await page.wait_for_function("() => document.querySelector('[data-count=faulted] b').textContent === '1'")
            assert await page.evaluate("window.__sameDocument") is True


async def test_the_landing_page_shows_the_qr_image(require_chromium, live_ocpp_server):
    await sync_to_async(Charger.objects.create)(charger_id="QR 1#ü", name="Plaza")
    async with browser_page(require_chromium, live_ocpp_server, viewport=(390, 844)) as page:
        response = await page.goto(live_ocpp_server.http_url + "/ocpp/c/QR%201%23%C3%BC/")
        assert response.status == 200
        qr = page.locator("img.landing-qr")
        await qr.wait_for()
        size = await qr.evaluate("img => [img.complete, img.naturalWidth, img.naturalHeight]")
        assert size[0] is True and size[1] == size[2] > 100
        assert "Plaza" in await page.locator("h1").inner_text()
        # Readable on a phone: nothing wider than the screen.
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


async def test_the_admin_map_sets_the_position_and_saving_stores_it(require_chromium, live_ocpp_server):
    charger = await sync_to_async(Charger.objects.create)(charger_id="MAP1")
    session = await staff_session("root", superuser=True)
    async with browser_page(require_chromium, live_ocpp_server, session=session) as page:
        await page.goto(f"{live_ocpp_server.http_url}/admin/ocpp_app/charger/{charger.pk}/change/")
        await page.wait_for_selector('.latlng-map[data-ready="1"]')
        centre = await page.evaluate(
            "(() => { const c = window.ocppLatLngMap.map.getCenter(); return [c.lat, c.lng]; })()"
        )
        assert centre == pytest.approx([25.6866, -100.3161], abs=1e-4)
        assert await page.evaluate("window.ocppLatLngMap.marker()") is None
        await page.locator(".latlng-map").scroll_into_view_if_needed()
        box = await page.locator(".latlng-map").bounding_box()
        await page.mouse.click(box["x"] + box["width"] / 2 + 60, box["y"] + box["height"] / 2 - 40)
        marker = page.locator(".latlng-map .leaflet-marker-icon")
        await marker.wait_for()
        clicked = (await page.input_value("#id_latitude"), await page.input_value("#id_longitude"))
        assert all(clicked)
        mbox = await marker.bounding_box()
        x, y = mbox["x"] + mbox["width"] / 2, mbox["y"] + mbox["height"] - 4
        await page.mouse.move(x, y)
        await page.mouse.down()
        for step in range(1, 11):
            await page.mouse.move(x - 12 * step, y + 9 * step)
        await page.mouse.up()
        await page.wait_for_function("v => document.getElementById('id_latitude').value !== v", arg=clicked[0])
        dragged = (await page.input_value("#id_latitude"), await page.input_value("#id_longitude"))
        assert Decimal(dragged[0]) < Decimal(clicked[0]) and Decimal(dragged[1]) < Decimal(clicked[1])
        await page.click("input[name=_continue]")
        await page.wait_for_selector(".messagelist .success")
        assert page.errors == []
    await sync_to_async(charger.refresh_from_db)()
    assert (charger.latitude, charger.longitude) == (Decimal(dragged[0]), Decimal(dragged[1]))


# Refuses a hard reset, accepts a soft one; accepts a remote start and then
# starts the session.
COMMAND_ANSWERS = {
    "Reset": lambda request: {"status": "Rejected" if request["type"] == "Hard" else "Accepted"},
    "RemoteStartTransaction": {"status": "Accepted"},
}


async def test_a_command_button_shows_the_chargers_answer(require_chromium, live_ocpp_server):
    session = await staff_session()
    url = live_ocpp_server.ws_url + ws_path("CMD1")
    async with connected_charge_point(url, "CMD1", answers=COMMAND_ANSWERS) as cp:
        await cp.call(call.BootNotification(charge_point_vendor="Acme", charge_point_model="X1"))
        async with browser_page(require_chromium, live_ocpp_server, session=session) as page:
            await page.goto(live_ocpp_server.http_url + "/ocpp/chargers/CMD1/view/")
            answer = page.locator("#command-answer")
            form = page.locator('form[data-action="Reset"]')
            await form.locator("select").select_option("Hard")
            await form.locator("button").click()
            await page.wait_for_function("() => /Rejected/.test(document.getElementById('command-answer').textContent)")
            assert "Reset → Rejected" in await answer.inner_text()
            await form.locator("select").select_option("Soft")
            await form.locator("button").click()
            await page.wait_for_function("() => /Accepted/.test(document.getElementById('command-answer').textContent)")
            assert await answer.get_attribute("class") == "answer ok"
            assert [request["type"] for action, request in cp.received if action == "Reset"] == ["Hard", "Soft"]
            assert await page.locator("#chart-empty").is_visible()  # no transaction yet: no chart
            start = page.locator('form[data-action="RemoteStartTransaction"]')
            await start.locator("input[name=idTag]").fill("WEBTAG")
            await start.locator("button").click()
            await page.wait_for_function(
                "() => /session started/.test(document.getElementById('command-answer').textContent)"
            )
            text = await answer.inner_text()
            assert "RemoteStartTransaction → Accepted" in text
            assert f"The session started: transaction {cp.started_transaction_id}." in text
            assert page.errors == []


async def test_a_command_to_a_disconnected_charger_shows_the_error(require_chromium, live_ocpp_server):
    await sync_to_async(Charger.objects.create)(charger_id="GONE")
    session = await staff_session()
    async with browser_page(require_chromium, live_ocpp_server, session=session) as page:
        await page.goto(live_ocpp_server.http_url + "/ocpp/chargers/GONE/view/")
        await page.locator('form[data-action="Reset"] button').click()
        await page.wait_for_function("() => /HTTP 409/.test(document.getElementById('command-answer').textContent)")
        assert await page.locator("#command-answer").get_attribute("class") == "answer error"


def meter_values(transaction_id: int, minute: int, wh: int, watts: int):
    ts = datetime(2026, 1, 1, 12, minute, tzinfo=UTC).isoformat().replace("+00:00", "Z")
    return call.MeterValues(
        connector_id=1,
        transaction_id=transaction_id,
        meter_value=[
            {
                "timestamp": ts,
                "sampledValue": [
                    {"value": str(wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
                    {"value": str(watts), "measurand": "Power.Active.Import", "unit": "W"},
                ],
            }
        ],
    )


async def test_the_charger_page_charts_stored_readings_and_follows_new_ones(require_chromium, live_ocpp_server):
    session = await staff_session()
    async with connected_charge_point(live_ocpp_server.ws_url + ws_path("CHART1"), "CHART1") as cp:
        await cp.call(call.BootNotification(charge_point_vendor="Acme", charge_point_model="X1"))
        started = await cp.call(
            call.StartTransaction(connector_id=1, id_tag="T1", meter_start=1000, timestamp="2026-01-01T12:00:00Z")
        )
        tx = started.transaction_id
        await cp.call(meter_values(tx, 1, 1500, 7000))
        await cp.call(meter_values(tx, 2, 2100, 7200))
        async with browser_page(require_chromium, live_ocpp_server, session=session) as page:
            await page.goto(live_ocpp_server.http_url + "/ocpp/chargers/CHART1/view/")
            await page.wait_for_selector("#chart .uplot canvas")
            await page.wait_for_selector('#live[data-state="open"]')
            data = await page.evaluate("window.ocppChart().data")
            assert data[1] == [7.0, 7.2]  # kW
            assert data[2] == [0.5, 1.1]  # kWh delivered
            await cp.call(meter_values(tx, 3, 2800, 6900))
            await page.wait_for_function("() => window.ocppChart().data[0].length === 3")
            assert (await page.evaluate("window.ocppChart().data[2]"))[-1] == pytest.approx(1.8)
            assert page.errors == []


async def test_charger_supplied_text_never_becomes_markup_on_the_map(require_chromium, live_ocpp_server):
    evil = '<img src=x onerror="window.__xss=1">'
    await sync_to_async(Charger.objects.create)(charger_id=evil, latitude="25.7", longitude="-100.3")
    session = await staff_session()
    async with browser_page(require_chromium, live_ocpp_server, session=session) as page:
        await open_dashboard(page, live_ocpp_server)
        marker = page.locator("#charger-map path.leaflet-interactive")
        await marker.hover()
        tooltip = page.locator(".leaflet-tooltip")
        await tooltip.wait_for()
        assert evil in await tooltip.inner_text()
        assert await page.evaluate("window.__xss") is None
        assert evil in await page.locator("tr[data-charger-id] td.cid a").inner_text()
