"""Headless Chromium (Debian's, through Playwright's async API) against a real
server process, logged in with a session created through the ORM."""

import contextlib
from urllib.parse import quote, urlsplit

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@sync_to_async
def staff_session(username: str = "operator", *, superuser: bool = False) -> str:
    """A staff (or super) user and the id of a logged-in session (database sessions)."""
    users = get_user_model().objects
    user = users.filter(username=username).first() or (
        users.create_superuser(username, password="pw-operator-12345")
        if superuser
        else users.create_user(username, password="pw-operator-12345", is_staff=True)
    )
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def ws_path(charger_id: str) -> str:
    return "/ocpp16/" + quote(charger_id, safe="")


@contextlib.asynccontextmanager
async def browser_page(chromium: str, server, *, session: str | None = None, viewport=(1280, 900)):
    """A page of a fresh browser context; every request off the test server
    (map tiles from the internet) is refused so nothing depends on a network."""
    from playwright.async_api import async_playwright

    host = urlsplit(server.http_url).hostname
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
            if session:
                await context.add_cookies(
                    [{"name": settings.SESSION_COOKIE_NAME, "value": session, "domain": host, "path": "/"}]
                )

            async def only_local(route):
                if urlsplit(route.request.url).hostname == host:
                    await route.continue_()
                else:
                    await route.abort()

            await context.route("**/*", only_local)
            page = await context.new_page()
            page.errors = []
            page.on("pageerror", lambda exc: page.errors.append(str(exc)))
            yield page
        finally:
            await browser.close()
