"""Admin actions send their command through the same path and show the
charger's answer to the operator."""

import asyncio
import html
import re

import pytest
import requests
from asgiref.sync import sync_to_async

from ocpp_app.admin.actions import CHARGER_ADMIN_ACTIONS
from ocpp_app.models import Charger, Command, CommandStatus
from ocpp_app.tests.commands.samples import ANSWERS
from ocpp_app.tests.helpers import STAFF_PASSWORD, connected_charge_point, create_staff, wait_connected


def test_the_common_commands_are_there():
    names = {action.__name__ for action in CHARGER_ADMIN_ACTIONS}
    assert {
        "remote_stop",
        "reset_soft",
        "unlock_connectors",
        "make_operative",
        "make_inoperative",
        "trigger_status",
        "fetch_configuration",
    } <= names


class FakeModelAdmin:
    def __init__(self):
        self.messages: list[tuple[str, int]] = []

    def message_user(self, request, message, level):
        self.messages.append((message, level))


@pytest.mark.django_db
def test_an_offline_charger_is_reported_and_recorded(rf):
    user = create_staff("admin", superuser=True)
    Charger.objects.create(charger_id="ADM-OFF")
    request = rf.post("/admin/")
    request.user = user
    modeladmin = FakeModelAdmin()
    by_name = {action.__name__: action for action in CHARGER_ADMIN_ACTIONS}
    by_name["reset_soft"](modeladmin, request, Charger.objects.filter(charger_id="ADM-OFF"))
    by_name["remote_stop"](modeladmin, request, Charger.objects.filter(charger_id="ADM-OFF"))
    assert modeladmin.messages[0][0] == "ADM-OFF: not connected"
    assert "no active transaction" in modeladmin.messages[1][0]
    command = Command.objects.get(charger__charger_id="ADM-OFF", action="Reset")
    refused = Command.objects.get(charger__charger_id="ADM-OFF", action="RemoteStopTransaction")
    assert refused.status == CommandStatus.INVALID and refused.error_code == "BadCommand"
    assert (command.action, command.source, command.status) == ("Reset", "admin", CommandStatus.NOT_CONNECTED)
    assert command.request == {"type": "Soft"} and command.created_by == user


def _admin_session(base_url: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base_url}/admin/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = session.post(
        f"{base_url}/admin/login/?next=/admin/",
        data={"username": "boss", "password": STAFF_PASSWORD, "csrfmiddlewaretoken": token, "next": "/admin/"},
    )
    assert response.url.endswith("/admin/"), response.text[:500]
    return session


def _run_admin_action(base_url: str, pk: int, action: str) -> str:
    session = _admin_session(base_url)
    changelist = f"{base_url}/admin/ocpp_app/charger/"
    page = session.get(changelist)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = session.post(
        changelist,
        data={"action": action, "_selected_action": [str(pk)], "csrfmiddlewaretoken": token, "index": "0"},
    )
    assert response.status_code == 200
    return html.unescape(response.text)


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("action", "answers", "expected"),
    [
        ("fetch_configuration", ANSWERS, "ADM-CP: GetConfiguration answered"),
        ("reset_soft", ANSWERS, "ADM-CP: Reset answered Accepted"),
        ("unlock_connectors", ANSWERS, "ADM-CP: UnlockConnector answered Unlocked"),
        ("trigger_status", ANSWERS, "ADM-CP: TriggerMessage answered Accepted"),
        ("make_inoperative", ANSWERS, "ADM-CP: ChangeAvailability answered Scheduled"),
        ("reset_soft", {}, "ADM-CP: Reset failed: NotImplemented"),
    ],
    ids=["configuration", "reset", "unlock", "trigger", "inoperative", "reset-unanswered"],
)
async def test_an_admin_action_shows_the_chargers_answer(live_ocpp_server, action, answers, expected):
    await sync_to_async(create_staff)("boss", superuser=True)
    cid = "ADM-CP"
    async with connected_charge_point(f"{live_ocpp_server.ws_url}/ocpp/{cid}", cid, answers=answers):
        charger = await wait_connected(cid)
        page = await asyncio.to_thread(_run_admin_action, live_ocpp_server.http_url, charger.pk, action)
    assert expected in page
    command = await Command.objects.aget(charger=charger)
    assert command.source == "admin"
