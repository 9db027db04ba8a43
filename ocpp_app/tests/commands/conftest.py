"""Fixtures for command tests: a staff token and an HTTP client for a real
server process."""

import asyncio
import json
import urllib.parse
from dataclasses import dataclass

import pytest
import requests
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from ocpp_app.models import Charger


def make_staff_token(username: str = "operator") -> str:
    user = get_user_model().objects.create_user(username=username, password="pw-" + username, is_staff=True)
    return Token.objects.create(user=user).key


@dataclass
class Api:
    base_url: str
    token: str

    def _url(self, path: str) -> str:
        return self.base_url + path

    def post_action_sync(self, charger_id: str, body: dict, timeout: float = 60) -> tuple[int, dict]:
        url = self._url(f"/ocpp/chargers/{urllib.parse.quote(charger_id, safe='')}/action/")
        response = requests.post(url, json=body, headers={"Authorization": f"Token {self.token}"}, timeout=timeout)
        try:
            data = response.json()
        except json.JSONDecodeError:
            data = {"raw": response.text}
        return response.status_code, data

    async def get(self, path: str) -> dict:
        def fetch():
            response = requests.get(self._url(path), headers={"Authorization": f"Token {self.token}"}, timeout=30)
            response.raise_for_status()
            return response.json()

        return await asyncio.to_thread(fetch)

    async def action(self, charger_id: str, action: str, payload: dict | None = None, **extra) -> tuple[int, dict]:
        body = {"action": action, **extra}
        if payload is not None:
            body["payload"] = payload
        # The charge point runs on this event loop: block a thread, not the loop.
        return await asyncio.to_thread(self.post_action_sync, charger_id, body)


@pytest.fixture
def api_for(server_factory):
    """api_for(server) -> Api with a fresh staff token for that server."""
    counter = iter(range(1000))

    async def make(server) -> Api:
        token = await sync_to_async(make_staff_token)(f"operator{next(counter)}")
        return Api(server.http_url, token)

    return make


async def wait_connected(charger_id: str, connected: bool = True, timeout: float = 10) -> Charger:
    """The server records the connection asynchronously: wait for it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        charger = await Charger.objects.filter(charger_id=charger_id).afirst()
        if charger is not None and charger.connected == connected and (charger.channel_name or not connected):
            return charger
        if loop.time() > deadline:
            raise AssertionError(f"{charger_id} never became connected={connected}")
        await asyncio.sleep(0.05)
