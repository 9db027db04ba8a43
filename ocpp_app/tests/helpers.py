"""What the tests share: users, chargers and sessions, Basic-auth headers, and
charge points that speak OCPP to the central system (in process through the
ASGI application, or over a real socket to a server process)."""

import asyncio
import base64
import contextlib
import json
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote, urlsplit

import requests
import websockets
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.utils import timezone
from ocpp.charge_point import camel_to_snake_case
from ocpp.routing import on
from ocpp.v16 import ChargePoint as LibraryChargePoint
from ocpp.v16 import call as ocpp_call
from ocpp.v16 import call_result
from ocpp.v16.enums import Action
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from config.asgi import application
from ocpp_app import consumers
from ocpp_app.models import Charger, Connector, MessageLog, MeterReading, Transaction
from ocpp_app.ocpp.charge_point import CentralSystem
from ocpp_app.runtime.message_log import get_writer
from ocpp_app.services import roles
from ocpp_app.services.chargers import charger_admit, charger_set_password

TIMEOUT = 5  # generous: only ever reached when a test is failing
BOOT = {"chargePointVendor": "ACME", "chargePointModel": "Volt"}
START = {"connectorId": 1, "idTag": "TAG1", "meterStart": 1000, "timestamp": "2024-05-01T12:00:00Z"}
PASSWORD = "correct-horse-battery"
STAFF_PASSWORD = "pw-operator-12345"
VIEWER_PASSWORD = "pw-viewer-12345"
ENERGY = "Energy.Active.Import.Register"
POWER = "Power.Active.Import"


# -- users and credentials ---------------------------------------------------------------------


def role_group(name: str) -> Group:
    """The Viewers or Operators group as migration 0011 makes it, made again
    when a transactional test's flush emptied the tables (the flush brings
    the permissions back, not the groups)."""
    group, created = Group.objects.get_or_create(name=name)
    if created:
        permissions = Permission.objects.filter(content_type__app_label="ocpp_app")
        if name == roles.VIEWERS_GROUP:
            permissions = permissions.filter(codename=roles.VIEW_PERMISSION.split(".")[1])
        group.permissions.add(*permissions)
    return group


def create_staff(username: str = "operator", *, superuser: bool = False, password: str = STAFF_PASSWORD):
    """An operator: staff in the Operators group (or a superuser), logging in
    with `password`."""
    users = get_user_model().objects
    if superuser:
        return users.create_superuser(username, password=password)
    user = users.create_user(username, password=password, is_staff=True)
    user.groups.add(role_group(roles.OPERATORS_GROUP))
    return user


def create_viewer(username: str = "viewer", password: str = VIEWER_PASSWORD, *, staff: bool = False):
    """A viewer: in the Viewers group, not staff unless asked."""
    user = get_user_model().objects.create_user(username, password=password, is_staff=staff)
    user.groups.add(role_group(roles.VIEWERS_GROUP))
    return user


def create_without_role(username: str = "driver", password: str = "pw-driver-123", *, staff: bool = False):
    """A user who can log in but holds no role (in no group), not staff
    unless asked: the pages and the API refuse them like a stranger."""
    return get_user_model().objects.create_user(username, password=password, is_staff=staff)


def database_rows() -> dict[str, list[tuple]]:
    """Every row of the app's tables, to show that a refused request changed
    nothing."""
    return {
        model._meta.label: list(model.objects.order_by("pk").values_list())
        for model in apps.get_app_config("ocpp_app").get_models()
    }


def token_of(user) -> str:
    return Token.objects.get_or_create(user=user)[0].key


def api_client_for(user) -> APIClient:
    """A REST client authenticated with the user's token."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_of(user)}")
    return client


def session_of(user) -> str:
    """The id of a logged-in session of the user (database sessions)."""
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def basic(user: str, password: str) -> dict[str, str]:
    """The HTTP Basic `Authorization` header of a charger (or any client)."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


# -- chargers and sessions in the database ---------------------------------------------------


def create_charger(charger_id: str = "CP1", password: str | None = None, **fields) -> Charger:
    charger = Charger.objects.create(charger_id=charger_id, **fields)
    if password:
        charger_set_password(charger_id=charger_id, password=password)
    return charger


acreate_charger = database_sync_to_async(create_charger)


def make_charger(charger_id: str = "CP1", *, connected: bool = True, statuses=("Available",), **fields) -> Charger:
    """A charger as the pages show it: identity, connectors, and (by default) online."""
    now = timezone.now()
    defaults = {"vendor": "Acme", "model": "X1", "firmware_version": "1.0"}
    if connected:
        defaults.update(connected=True, connected_since=now, last_seen=now, last_heartbeat=now)
    charger = create_charger(charger_id, **{**defaults, **fields})
    for number, status in enumerate(statuses, start=1):
        Connector.objects.create(charger=charger, connector_id=number, status=status, error_code="NoError")
    return charger


def make_session(
    charger: Charger,
    *,
    connector_id: int = 1,
    id_tag: str = "TAG12345",
    meter_start: int = 1000,
    readings: int = 3,
    step_wh: int = 500,
    power_w: float = 7400.0,
    stop: bool = False,
    start=None,
) -> Transaction:
    """A transaction with one energy and one power reading a minute."""
    start = start or timezone.now() - timedelta(minutes=30)
    tx = Transaction.objects.create(
        charger=charger, connector_id=connector_id, id_tag=id_tag, meter_start=meter_start, start_time=start
    )
    for i in range(1, readings + 1):
        ts = start + timedelta(minutes=i)
        energy = meter_start + i * step_wh
        for measurand, unit, value in ((ENERGY, "Wh", energy), (POWER, "W", power_w)):
            MeterReading.objects.create(
                charger=charger,
                connector_id=connector_id,
                transaction=tx,
                timestamp=ts,
                measurand=measurand,
                unit=unit,
                value=str(value),
                value_numeric=value,
            )
    if stop:
        tx.stop_time = start + timedelta(minutes=readings + 1)
        tx.meter_stop = meter_start + readings * step_wh
        tx.energy_wh = readings * step_wh
        tx.save()
    return tx


def admit(
    charger_id: str = "CP1",
    *,
    unknown_policy="accept",
    require_auth=False,
    connection_id="c1",
    channel_name="",
    **extra,
):
    """charger_admit as the consumer calls it at a handshake."""
    return charger_admit(
        charger_id=charger_id,
        path=f"/ocpp/{charger_id}",
        connection_id=connection_id,
        channel_name=channel_name or f"chan-{connection_id}",
        subprotocol="ocpp1.6",
        unknown_policy=unknown_policy,
        require_auth=require_auth,
        **extra,
    )


def charger_admin_form(**fields) -> dict:
    """What the admin's charger form posts (no connector rows), with `fields`."""
    return {
        "name": "",
        "registration_status": "Accepted",
        "config": "{}",
        "latitude": "",
        "longitude": "",
        "circuit": "",
        "phases": "3",
        "phase": "L1",
        "min_current": "6",
        "max_current": "32",
        "load_priority": "0",
        "connectors-TOTAL_FORMS": "0",
        "connectors-INITIAL_FORMS": "0",
        "connectors-MIN_NUM_FORMS": "0",
        "connectors-MAX_NUM_FORMS": "1000",
        **fields,
    }


@database_sync_to_async
def aget_charger(charger_id: str = "CP1") -> Charger:
    return Charger.objects.get(charger_id=charger_id)


@database_sync_to_async
def acount(model, **filters) -> int:
    return model.objects.filter(**filters).count()


@database_sync_to_async
def alog_rows(**filters) -> list[MessageLog]:
    return list(MessageLog.objects.filter(**filters).order_by("id"))


async def flushed_log_rows(**filters) -> list[MessageLog]:
    await get_writer().flush()
    return await alog_rows(**filters)


def strings(value):
    """Every string (keys too) inside a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


async def wait_for(predicate: Callable, timeout: float = 10.0):
    """Poll the database until a server process's writes are visible; the
    predicate's last value."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await sync_to_async(predicate)()
        if value or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.05)


async def wait_connected(charger_id: str, connected: bool = True, timeout: float = 10) -> Charger:
    """A server process records a connection asynchronously: wait for it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        charger = await Charger.objects.filter(charger_id=charger_id).afirst()
        if charger is not None and charger.connected == connected and (charger.channel_name or not connected):
            return charger
        if loop.time() > deadline:
            raise AssertionError(f"{charger_id} never became connected={connected}")
        await asyncio.sleep(0.05)


# -- a charger in process: the ASGI application under WebsocketCommunicator -------------------


def communicator(
    path: str = "/ocpp/CP1",
    *,
    subprotocols: list[str] | None = None,
    headers: dict[str, str] | None = None,
    raw_path: bytes | None = None,
) -> WebsocketCommunicator:
    """A charger's socket to the real ASGI application, not yet connected."""
    comm = WebsocketCommunicator(
        application,
        path,
        headers=[(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()],
        subprotocols=["ocpp1.6"] if subprotocols is None else subprotocols,
    )
    # Servers pass the path as sent; the communicator only gives the decoded one.
    # (The application task has not run yet, so the scope can still change.)
    comm.scope["raw_path"] = raw_path if raw_path is not None else path.split("?", 1)[0].encode()
    return comm


def with_ping(comm: WebsocketCommunicator, answers: bool) -> WebsocketCommunicator:
    """A socket whose WebSocket ping is answered (a live charger) or not (a
    half-open socket), as the server's protocol (runtime/ws_protocol.py)
    reports it to the takeover rule. Call before connecting."""

    async def probe(timeout: float) -> bool:
        return answers

    comm.scope.setdefault("extensions", {})["ocpp.ping"] = {"probe": probe}
    return comm


@contextlib.asynccontextmanager
async def charger_socket(path: str = "/ocpp/CP1", **kw):
    """A connected charger's socket, disconnected on the way out."""
    comm = communicator(path, **kw)
    connected, _ = await comm.connect(timeout=TIMEOUT)
    assert connected
    try:
        yield comm
    finally:
        await comm.disconnect(timeout=TIMEOUT)


class FakeSocket:
    """The charger's side of a CentralSystem driven without any socket, with
    the communicator's `receive_from`/`send_to`: every frame the central
    system sends is kept in `sent`, every frame sent back goes straight to
    `route_message`."""

    def __init__(self, charger_id: str) -> None:
        self.sent: list[list] = []
        self._read = 0
        self.cp = CentralSystem(charger_id, self)

    async def send(self, text: str) -> None:  # the connection the central system writes to
        self.sent.append(json.loads(text))

    async def receive_from(self, timeout: float = TIMEOUT) -> str:
        async with asyncio.timeout(timeout):
            while len(self.sent) <= self._read:
                await asyncio.sleep(0.01)
        self._read += 1
        return json.dumps(self.sent[self._read - 1])

    async def send_to(self, text_data: str) -> None:
        await self.cp.route_message(text_data)


async def reply(comm: WebsocketCommunicator | FakeSocket) -> list:
    return json.loads(await comm.receive_from(timeout=TIMEOUT))


async def call(comm: WebsocketCommunicator, action: str, payload: dict, message_id: str = "m1") -> list:
    await comm.send_to(text_data=json.dumps([2, message_id, action, payload]))
    return await reply(comm)


async def raw(comm: WebsocketCommunicator, text: str) -> list:
    await comm.send_to(text_data=text)
    return await reply(comm)


async def error_code(comm: WebsocketCommunicator, action: str, payload: dict) -> str:
    answer = await call(comm, action, payload)
    assert answer[:2] == [4, "m1"], answer
    return answer[2]


async def heartbeat_still_answered(comm: WebsocketCommunicator) -> bool:
    answer = await call(comm, "Heartbeat", {}, message_id="hb")
    return answer[:2] == [3, "hb"]


async def answer_next_call(comm: WebsocketCommunicator | FakeSocket, frame_for: Callable[[str], list]) -> list:
    """Answer the next CALL the central system sends with `frame_for(message_id)`;
    returns that CALL."""
    sent = await reply(comm)
    await comm.send_to(text_data=json.dumps(frame_for(sent[1])))
    return sent


async def operator_call(action: str, payload: dict, timeout: float = TIMEOUT, charger_id: str = "CP1", **extra) -> str:
    """Send an operator's CALL to the consumer holding the charger's socket, as
    the command service does (`extra`: more fields of the message, such as its
    deadline); returns the channel its answer comes back on."""
    layer = get_channel_layer()
    reply_channel = await layer.new_channel()
    await layer.send(
        consumers.LIVE[charger_id].channel_name,
        {
            "type": "ocpp.call",
            "charger_id": charger_id,
            "action": action,
            "payload": payload,
            "request_id": "r1",
            "reply_channel": reply_channel,
            "timeout": timeout,
            **extra,
        },
    )
    return reply_channel


# -- a charger over a real socket: the `ocpp` library over `websockets` ------------------------


Answer = dict | Callable[[dict], dict]


class FakeChargePoint(LibraryChargePoint):
    """A real OCPP 1.6 charge point. It answers each central-system CALL whose
    action is in `answers` (the answer's wire payload, or a function of the
    request's snake_case fields) and records the request in `received`. The
    library itself answers every other action NotImplemented, unless the charge
    point is `silent`: then no CALL is ever answered. After accepting a
    RemoteStartTransaction it starts the session, as a real charger does
    (`start_after_remote`)."""

    def __init__(
        self,
        charge_point_id: str,
        connection,
        *,
        answers: dict[str, Answer] | None = None,
        silent: bool = False,
        start_after_remote: bool = True,
    ) -> None:
        super().__init__(charge_point_id, connection)
        self.answers: dict[str, Answer] = dict(answers or {})
        # An action without an answer must get the library's own CALLERROR.
        self.route_map = {action: route for action, route in self.route_map.items() if action in self.answers}
        self.silent = silent
        self.start_after_remote = start_after_remote
        self.received: list[tuple[str, dict]] = []
        self.later: list[asyncio.Task] = []
        self.started_transaction_id: int | None = None

    async def route_message(self, raw_msg):
        if self.silent and json.loads(raw_msg)[0] == 2:
            return  # swallow the CALL
        await super().route_message(raw_msg)

    async def _answer(self, action: str, request: dict):
        self.received.append((action, request))
        answer = self.answers[action]
        wire = answer(request) if callable(answer) else answer
        if action == "RemoteStartTransaction" and wire.get("status") == "Accepted" and self.start_after_remote:
            self.later.append(asyncio.get_running_loop().create_task(self._start(request)))
        return getattr(call_result, action)(**camel_to_snake_case(wire))

    async def _start(self, request: dict) -> None:
        await asyncio.sleep(0.1)
        result = await self.call(
            ocpp_call.StartTransaction(
                connector_id=request.get("connector_id") or 1,
                id_tag=request["id_tag"],
                meter_start=1000,
                timestamp="2026-01-01T10:00:00Z",
            )
        )
        self.started_transaction_id = result.transaction_id


def _answering(action: Action):
    async def handler(self, **request):
        return await self._answer(action.value, request)

    handler.__name__ = f"on_{action.name}"
    return on(action)(handler)


# The library routes by the decorated attribute, one per action.
for _action in Action:
    setattr(FakeChargePoint, f"on_{_action.name}", _answering(_action))


@contextlib.asynccontextmanager
async def connected_charge_point(
    url: str, charger_id: str, *, subprotocols=("ocpp1.6",), additional_headers: dict | None = None, **fake
):
    """A FakeChargePoint (`fake` are its options) connected to `url`."""
    async with websockets.connect(
        url, subprotocols=list(subprotocols) or None, additional_headers=additional_headers
    ) as ws:
        cp = FakeChargePoint(charger_id, ws, **fake)
        task = asyncio.create_task(cp.start())
        try:
            yield cp
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def ws_path(charger_id: str) -> str:
    return "/ocpp16/" + quote(charger_id, safe="")


# -- the REST API of a server process ----------------------------------------------------------


@dataclass
class Api:
    """The command endpoint and reads of a server process, with a staff token."""

    base_url: str
    token: str

    def post_action_sync(self, charger_id: str, body: dict, timeout: float = 60) -> tuple[int, dict]:
        url = f"{self.base_url}/ocpp/chargers/{urllib.parse.quote(charger_id, safe='')}/action/"
        response = requests.post(url, json=body, headers={"Authorization": f"Token {self.token}"}, timeout=timeout)
        try:
            data = response.json()
        except json.JSONDecodeError:
            data = {"raw": response.text}
        return response.status_code, data

    async def get(self, path: str) -> dict:
        def fetch():
            response = requests.get(self.base_url + path, headers={"Authorization": f"Token {self.token}"}, timeout=30)
            response.raise_for_status()
            return response.json()

        return await asyncio.to_thread(fetch)

    async def action(self, charger_id: str, action: str, payload: dict | None = None, **extra) -> tuple[int, dict]:
        body = {"action": action, **extra}
        if payload is not None:
            body["payload"] = payload
        # The charge point runs on this event loop: block a thread, not the loop.
        return await asyncio.to_thread(self.post_action_sync, charger_id, body)


# -- headless Chromium -------------------------------------------------------------------------

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@database_sync_to_async
def staff_session(username: str = "operator", *, superuser: bool = False) -> str:
    """A logged-in session of a staff (or super) user, created once per name."""
    user = get_user_model().objects.filter(username=username).first() or create_staff(username, superuser=superuser)
    return session_of(user)


@contextlib.asynccontextmanager
async def browser_page(
    chromium: str, server, *, session: str | None = None, viewport=(1280, 900), timezone_id: str | None = None
):
    """A page of a fresh browser context (in the time zone `timezone_id`, else
    the machine's); every request off the test server (map tiles from the
    internet) is refused so nothing depends on a network."""
    from playwright.async_api import async_playwright

    host = urlsplit(server.http_url).hostname
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(
                viewport={"width": viewport[0], "height": viewport[1]}, timezone_id=timezone_id
            )
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
