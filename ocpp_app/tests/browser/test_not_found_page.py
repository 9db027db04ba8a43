"""The 404 page of an unknown charger's landing page, as a driver's phone
shows it: in the site's layout, readable at 390 px, nothing of the operator
side."""

import pytest

from ocpp_app.tests.helpers import browser_page

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
LONG_ID = "UNKNOWN-" + "X" * 40  # longer than a phone's line


async def test_an_unknown_landing_page_is_a_readable_404_on_a_phone(require_chromium, live_ocpp_server):
    async with browser_page(require_chromium, live_ocpp_server, viewport=(390, 844)) as page:
        response = await page.goto(f"{live_ocpp_server.http_url}/ocpp/c/{LONG_ID}/")
        assert response.status == 404
        # The site's stylesheet is applied: the dark top bar.
        topbar = await page.locator(".topbar").evaluate("el => getComputedStyle(el).backgroundColor")
        assert topbar == "rgb(17, 24, 39)"
        assert await page.locator("h1").inner_text() == "Not found"
        assert LONG_ID in await page.locator("main").inner_text()
        assert await page.locator('meta[name="viewport"]').get_attribute("content") == (
            "width=device-width, initial-scale=1"
        )
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert await page.locator("a").count() == 0  # no way into the operator side
        assert page.errors == []
