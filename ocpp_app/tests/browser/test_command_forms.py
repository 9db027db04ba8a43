"""The charger page's command forms in real headless Chromium against a real
server, with a real OCPP charge point answering: each form's answer in words
under it and what it changed on the page (the configuration row, the local
list version, a reservation), the profile editor and the composite schedule
as a table, a refusal, a field refused before sending and a CALLERROR; and
the forms fit a 1400 px screen and a 390 px phone."""

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone
from ocpp.v16 import call

from ocpp_app.models import RFID, Charger, LocalListEntry, Reservation
from ocpp_app.tests.certs import firmware_signing_env
from ocpp_app.tests.helpers import (
    browser_page,
    connected_charge_point,
    session_of,
    staff_session,
    wait_for,
    ws_path,
)

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
CID = "FORMS 1#ü"
URL = "/ocpp/chargers/FORMS%201%23%C3%BC/view/"
SCHEDULE = {
    "status": "Accepted",
    "connectorId": 1,
    "scheduleStart": "2026-01-01T10:00:00Z",
    "chargingSchedule": {
        "chargingRateUnit": "A",
        "duration": 7200,
        "chargingSchedulePeriod": [
            {"startPeriod": 0, "limit": 16.0},
            {"startPeriod": 3600, "limit": 10.0, "numberPhases": 3},
        ],
    },
}
ANSWERS = {
    "GetConfiguration": {
        "configurationKey": [
            {"key": "HeartbeatInterval", "readonly": False, "value": "60"},
            {"key": "ChargePointModel", "readonly": True, "value": "X1"},
        ]
    },
    # A read-only key is refused, as a real charger does.
    "ChangeConfiguration": lambda request: {
        "status": "Rejected" if request["key"] == "ChargePointModel" else "Accepted"
    },
    "SetChargingProfile": {"status": "Accepted"},
    "GetCompositeSchedule": SCHEDULE,
    "SendLocalList": {"status": "Accepted"},
    "GetLocalListVersion": {"listVersion": 1},
    "ReserveNow": {"status": "Accepted"},
    "CancelReservation": {"status": "Accepted"},
    # DataTransfer is not answered: the library's CALLERROR NotImplemented.
}


def cards() -> None:
    expiry = timezone.now().replace(microsecond=0) + timedelta(days=30)
    RFID.objects.create(id_tag="CARD-A", label="Fleet 7", expiry_date=expiry)
    RFID.objects.create(id_tag="CARD-B", status="Blocked", parent_id_tag="CARD-A")
    RFID.objects.create(id_tag="CARD-C")


async def answer(form, text: str) -> str:
    """The form's answer, once it says `text` and the form may send again."""
    box = form.locator(".answer")
    await box.filter(has_text=text).wait_for(timeout=15_000)
    await form.locator("button:not([type=button]):not([disabled])").wait_for()
    return await box.inner_text()


async def fits(page) -> bool:
    return await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def received(cp, action: str) -> list[dict]:
    return [request for name, request in cp.received if name == action]


@pytest.mark.parametrize("width", [1400, 390])
async def test_the_forms_send_every_kind_of_command_and_say_what_the_charger_answered(
    require_chromium, live_ocpp_server, width
):
    server = live_ocpp_server
    session = await staff_session("root", superuser=True)
    await sync_to_async(cards)()
    async with connected_charge_point(server.ws_url + ws_path(CID), CID, answers=ANSWERS) as cp:
        await cp.call(call.BootNotification(charge_point_vendor="Acme", charge_point_model="X1"))
        await cp.call(call.StatusNotification(connector_id=1, error_code="NoError", status="Available"))
        async with browser_page(require_chromium, server, session=session, viewport=(width, 900)) as page:
            await page.goto(server.http_url + URL)
            await page.evaluate("document.querySelectorAll('details.cmd-group').forEach(d => { d.open = true; })")
            assert await fits(page), "the open forms widen the page"

            # Configuration: read the keys, change one (its row updates), a read-only one is refused.
            get = page.locator('form[data-action="GetConfiguration"]')
            await get.locator("button").click()
            await answer(get, "The charger reported 2 keys")
            await page.locator('#configuration tr[data-key="HeartbeatInterval"]').wait_for()
            writable = await page.eval_on_selector_all("#cmd-writable-keys option", "os => os.map(o => o.value)")
            assert writable == ["HeartbeatInterval"]
            change = page.locator('form[data-action="ChangeConfiguration"]')
            await change.locator("input[name=key]").fill("HeartbeatInterval")
            await change.locator("input[name=key]").dispatch_event("change")
            assert await change.locator("input[name=value]").input_value() == "60"  # the stored value, to edit
            await change.locator("input[name=value]").fill("30")
            await change.locator("button").click()
            text = await answer(change, "HeartbeatInterval is now 30.")
            assert "ChangeConfiguration → Accepted" in text
            assert await change.locator(".answer").get_attribute("class") == "answer ok"
            row = page.locator('#configuration tr[data-key="HeartbeatInterval"] td.config-value')
            await page.wait_for_function(
                "() => document.querySelector('#configuration tr[data-key=\"HeartbeatInterval\"] td.config-value')"
                ".textContent === '30'"
            )
            assert await row.inner_text() == "30"
            await change.locator("input[name=key]").fill("ChargePointModel")
            await change.locator("input[name=value]").fill("X2")
            await change.locator("button").click()
            text = await answer(change, "ChangeConfiguration → Rejected")
            assert "The charger refused: ChargePointModel keeps its value." in text
            assert await change.locator(".answer").get_attribute("class") == "answer refused"

            # The profile editor: two periods, the second with three phases; then what the charger applies.
            profile = page.locator('form[data-action="SetChargingProfile"]')
            assert not await profile.locator('[name="csChargingProfiles.recurrencyKind"]').is_visible()
            await profile.locator('[name="csChargingProfiles.chargingProfileKind"]').select_option("Recurring")
            assert await profile.locator('[name="csChargingProfiles.recurrencyKind"]').is_visible()
            await profile.locator('[name="csChargingProfiles.chargingProfileKind"]').select_option("Absolute")
            await profile.locator('[name="csChargingProfiles.stackLevel"]').fill("1")
            await profile.locator('[name="csChargingProfiles.chargingSchedule.duration"]').fill("7200")
            await profile.locator('[name="csChargingProfiles.chargingSchedule.startSchedule"]').fill("2026-01-01T10:00")
            await profile.locator(".add-period").click()
            second = profile.locator("tr.period").nth(1)
            assert await second.locator('[data-period="startPeriod"]').input_value() == "3600"
            await second.locator('[data-period="limit"]').fill("10")
            await second.locator('[data-period="numberPhases"]').fill("3")
            await profile.locator("button:not([type=button])").click()
            text = await answer(profile, "SetChargingProfile → Accepted")
            assert "The charger applies profile 1 (TxDefaultProfile, stack level 1) on connector 1." in text
            [sent] = received(cp, "SetChargingProfile")
            assert sent["connector_id"] == 1
            sent_profile = sent["cs_charging_profiles"]
            assert (sent_profile["charging_profile_id"], sent_profile["stack_level"]) == (1, 1)
            assert sent_profile["charging_profile_kind"] == "Absolute" and "recurrency_kind" not in sent_profile
            schedule = sent_profile["charging_schedule"]
            assert schedule["start_schedule"] == "2026-01-01T10:00:00Z" and schedule["duration"] == 7200
            assert [
                (p["start_period"], p["limit"], p.get("number_phases")) for p in schedule["charging_schedule_period"]
            ] == [
                (0, 16, None),
                (3600, 10, 3),
            ]
            await page.locator('#cmd-profiles tr[data-profile="1"]').wait_for()
            await page.wait_for_function("() => document.getElementById('cmd-profile-id').value === '2'")

            composite = page.locator('form[data-action="GetCompositeSchedule"]')
            await composite.locator("button").click()
            await answer(composite, "GetCompositeSchedule → Accepted")
            cells = await composite.locator(".answer table.schedule-table tbody tr").evaluate_all(
                "rows => rows.map(r => Array.from(r.cells, c => c.textContent))"
            )
            assert cells == [
                ["2026-01-01 10:00 UTC", "2026-01-01 11:00 UTC", "16 A", "—"],
                ["2026-01-01 11:00 UTC", "2026-01-01 12:00 UTC", "10 A", "3"],
            ]
            assert received(cp, "GetCompositeSchedule") == [{"connector_id": 1, "duration": 3600}]

            # The local list from the RFID table: two cards ticked, a Full list, version 1.
            send_list = page.locator('form[data-action="SendLocalList"]')
            assert await send_list.locator("#cmd-list-version").input_value() == "1"
            await send_list.locator('tr[data-id-tag="CARD-A"] .send-tag').check()
            await send_list.locator('tr[data-id-tag="CARD-B"] .send-tag').check()
            assert "these 2 tags" in await send_list.locator(".list-count").inner_text()
            await send_list.locator("button:not([type=button])").click()
            text = await answer(send_list, "SendLocalList → Accepted")
            assert "The charger's local list is now version 1 (exactly the 2 tags sent)." in text
            await page.wait_for_function(
                "() => document.getElementById('local-list-state').textContent.includes('version 1 · 2 tags')"
            )
            assert await send_list.locator("#cmd-list-version").input_value() == "2"
            [sent_list] = received(cp, "SendLocalList")
            assert sent_list["update_type"] == "Full" and sent_list["list_version"] == 1
            by_tag = {entry["id_tag"]: entry["id_tag_info"] for entry in sent_list["local_authorization_list"]}
            assert by_tag["CARD-B"] == {"status": "Blocked", "parent_id_tag": "CARD-A"}
            assert by_tag["CARD-A"]["status"] == "Accepted" and by_tag["CARD-A"]["expiry_date"].endswith("Z")
            assert await wait_for(
                lambda: (
                    sorted(LocalListEntry.objects.filter(charger__charger_id=CID).values_list("id_tag", flat=True))
                    == ["CARD-A", "CARD-B"]
                )
            )
            version = page.locator('form[data-action="GetLocalListVersion"]')
            await version.locator("button").click()
            assert "The charger's local list is at version 1." in await answer(version, "→ answered")

            # A reservation: refused before sending for a tag the card rule refuses, then held, then cancelled.
            reserve = page.locator('form[data-action="ReserveNow"]')
            await reserve.locator("input[name=idTag]").fill("BAD/TAG")
            await reserve.locator("button").click()
            text = await answer(reserve, "ReserveNow: HTTP 400 not sent")
            assert "Field idTag: id tag contains a slash" in text
            assert "{" not in text  # words, not JSON
            assert await reserve.locator("input[name=idTag]").get_attribute("aria-invalid") == "true"
            await reserve.locator("input[name=idTag]").fill("CARD-A")
            await reserve.locator("button").click()
            text = await answer(reserve, "ReserveNow → Accepted")
            assert "Reservation 1 holds connector 1 for CARD-A until " in text
            await page.locator('#cmd-reservations tr[data-reservation="1"]').wait_for()
            assert await reserve.locator("input[name=idTag]").get_attribute("aria-invalid") is None
            assert await reserve.locator("#cmd-reservation-id").input_value() == "2"
            cancel = page.locator('form[data-action="CancelReservation"]')
            assert await cancel.locator("select").input_value() == "1"
            await cancel.locator("button").click()
            await cancel.locator(".answer").filter(has_text="CancelReservation → Accepted").wait_for()
            assert "Reservation 1 is cancelled." in await cancel.locator(".answer").inner_text()
            await page.locator('#cmd-reservations tr[data-reservation="1"]').wait_for(state="detached")
            # None held any more: nothing to cancel.
            await cancel.locator("button[disabled]").wait_for()
            assert await wait_for(lambda: Reservation.objects.get(reservation_id=1).status == "Cancelled")

            # A field the protocol's schema refuses is named, and marked on the form.
            await (
                profile.locator("tr.period")
                .nth(1)
                .locator('[data-period="limit"]')
                .evaluate("el => { el.step = 'any'; }")
            )
            await profile.locator("tr.period").nth(1).locator('[data-period="limit"]').fill("10.05")
            await profile.locator("button:not([type=button])").click()
            text = await answer(profile, "SetChargingProfile: HTTP 400 not sent")
            assert (
                "Field csChargingProfiles/chargingSchedule/chargingSchedulePeriod/1/limit: 10.05 is not a multiple of 0.1"
                in text
            )
            limit = profile.locator("tr.period").nth(1).locator('[data-period="limit"]')
            assert await limit.get_attribute("aria-invalid") == "true"

            # A CALLERROR in words.
            transfer = page.locator('form[data-action="DataTransfer"]')
            await transfer.locator("input[name=messageId]").fill("ping")
            await transfer.locator("button").click()
            text = await answer(transfer, "DataTransfer: HTTP 502")
            assert "The charger answered CALLERROR NotImplemented" in text

            assert await fits(page), "an answer widens the page"
            for form in await page.locator("form.cmd").all():
                box = await form.bounding_box()
                assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5
            assert page.errors == []
    assert await sync_to_async(Charger.objects.filter(charger_id=CID, local_list_version=1).exists)()


OTHER_ANSWERS = {
    "UnlockConnector": {"status": "Unlocked"},
    "ChangeAvailability": {"status": "Scheduled"},
    "ClearCache": {"status": "Accepted"},
    "TriggerMessage": {"status": "Rejected"},
    "ExtendedTriggerMessage": {"status": "Accepted"},
    "ClearChargingProfile": {"status": "Unknown"},
    "UpdateFirmware": {},
    "GetDiagnostics": {"fileName": "diag.zip"},
    "GetLog": {"status": "Accepted", "filename": "security.log"},
    "DataTransfer": {"status": "Accepted", "data": "pong"},
    "SignedUpdateFirmware": {"status": "Accepted"},
    "SendLocalList": {"status": "Accepted"},
}


def signing_env(tmp_path) -> dict[str, str]:
    # The session made here must be valid there.
    return {**firmware_signing_env(tmp_path), "SECRET_KEY": settings.SECRET_KEY}


def on_the_list() -> list[str]:
    return sorted(LocalListEntry.objects.filter(charger__charger_id=CID).values_list("id_tag", flat=True))


async def test_the_other_forms_send_what_they_show_and_say_what_came_back(require_chromium, server_factory, tmp_path):
    server = await sync_to_async(server_factory)(**signing_env(tmp_path))
    session = await staff_session("root", superuser=True)
    await sync_to_async(cards)()
    async with connected_charge_point(server.ws_url + ws_path(CID), CID, answers=OTHER_ANSWERS) as cp:
        await cp.call(call.BootNotification(charge_point_vendor="Acme", charge_point_model="X1"))
        await cp.call(call.StatusNotification(connector_id=1, error_code="NoError", status="Available"))
        async with browser_page(require_chromium, server, session=session, viewport=(1400, 900)) as page:
            await page.goto(server.http_url + URL)

            async def send(action: str, expected: str, fill=None) -> tuple[str, dict]:
                form = page.locator(f'form[data-action="{action}"]')
                await form.evaluate("f => { f.closest('details').open = true; }")
                for name, value in (fill or {}).items():
                    field = form.locator(f'[name="{name}"]')
                    if await field.evaluate("el => el.tagName") == "SELECT":
                        await field.select_option(value)
                    else:
                        await field.fill(value)
                count = len(cp.received)
                await form.locator("button:not([type=button])").click()
                text = await answer(form, expected)
                assert len(cp.received) == count + 1
                return text, cp.received[-1][1]

            text, sent = await send("UnlockConnector", "Connector 1 is unlocked.")
            assert sent == {"connector_id": 1}
            text, sent = await send(
                "ChangeAvailability",
                "The whole charger becomes Inoperative once the session in progress ends.",
                {"connectorId": "0", "type": "Inoperative"},
            )
            assert sent == {"connector_id": 0, "type": "Inoperative"}
            await send("ClearCache", "The charger cleared its authorization cache.")
            text, sent = await send(
                "TriggerMessage",
                "The charger will not send MeterValues.",
                {"requestedMessage": "MeterValues", "connectorId": "1"},
            )
            assert sent == {"requested_message": "MeterValues", "connector_id": 1} and "→ Rejected" in text
            _, sent = await send(
                "ExtendedTriggerMessage", "The charger will send Heartbeat.", {"requestedMessage": "Heartbeat"}
            )
            assert sent == {"requested_message": "Heartbeat"}  # no connector chosen: none sent
            _, sent = await send(
                "ClearChargingProfile",
                "No profile on the charger matched.",
                {"chargingProfilePurpose": "TxProfile", "stackLevel": "2"},
            )
            assert sent == {"charging_profile_purpose": "TxProfile", "stack_level": 2}

            # A signed update from a new file: the server signs and hosts it, and offers it afterwards.
            signed = page.locator('form[data-action="SignedUpdateFirmware"]')
            await signed.evaluate("f => { f.closest('details').open = true; }")
            await signed.locator("input[type=file]").set_input_files(
                files=[{"name": "fw-2.bin", "mimeType": "application/octet-stream", "buffer": b"image v2" * 100}]
            )
            text, sent = await send("SignedUpdateFirmware", "SignedUpdateFirmware → Accepted", {"retries": "2"})
            assert "The charger will download and check the signed firmware (request " in text
            location = sent["firmware"]["location"]
            assert location.startswith(server.http_url + "/ocpp/firmware/") and sent["retries"] == 2
            await page.wait_for_function("() => document.querySelectorAll('#cmd-firmware-files option').length === 1")
            assert await page.locator("#cmd-firmware-files option").get_attribute("value") == location
            name = location.rsplit("/", 1)[1]
            await signed.locator("input[type=file]").set_input_files(files=[])
            _, again = await send("SignedUpdateFirmware", "SignedUpdateFirmware → Accepted", {"firmware": name})
            assert again["firmware"]["location"] == location.replace(server.http_url, settings.OCPP_PUBLIC_URL)

            text, sent = await send(
                "UpdateFirmware",
                "UpdateFirmware → answered",
                {"location": location, "retrieveDate": "2026-03-01T08:30", "retries": "3"},
            )
            assert sent == {"location": location, "retrieve_date": "2026-03-01T08:30:00Z", "retries": 3}
            assert f"from {location} from 2026-03-01 08:30 UTC" in text
            text, sent = await send(
                "GetDiagnostics",
                "The charger will upload diag.zip to ftp://diag.example/upload",
                {"location": "ftp://diag.example/upload", "startTime": "2026-02-01T00:00"},
            )
            assert sent == {"location": "ftp://diag.example/upload", "start_time": "2026-02-01T00:00:00Z"}
            request_id = int(await page.locator('form[data-action="GetLog"] [name="requestId"]').input_value())
            _, sent = await send(
                "GetLog",
                f"The charger will upload security.log (request {request_id}) to https://logs.example/up.",
                {
                    "logType": "SecurityLog",
                    "log.remoteLocation": "https://logs.example/up",
                    "log.latestTimestamp": "2026-02-02T12:00",
                },
            )
            assert sent == {
                "log_type": "SecurityLog",
                "request_id": request_id,
                "log": {"remote_location": "https://logs.example/up", "latest_timestamp": "2026-02-02T12:00:00Z"},
            }
            text, sent = await send(
                "DataTransfer", "The charger's data: pong", {"messageId": "ping", "data": 'hello <b>"x"</b>'}
            )
            assert sent == {"vendor_id": "Acme", "message_id": "ping", "data": 'hello <b>"x"</b>'}

            # Differential: add one card, take one off; the list and its version follow.
            form = page.locator('form[data-action="SendLocalList"]')
            await form.evaluate("f => { f.closest('details').open = true; }")
            await form.locator('tr[data-id-tag="CARD-A"] .send-tag').check()
            await form.locator('tr[data-id-tag="CARD-B"] .send-tag').check()
            await send("SendLocalList", "now version 1")
            assert await wait_for(lambda: on_the_list() == ["CARD-A", "CARD-B"])
            await form.locator("select[name=updateType]").select_option("Differential")
            await form.locator('tr[data-id-tag="CARD-B"] .remove-tag').check()
            assert not await form.locator('tr[data-id-tag="CARD-B"] .send-tag').is_checked()
            await form.locator('tr[data-id-tag="CARD-A"] .send-tag').uncheck()
            await form.locator('tr[data-id-tag="CARD-C"] .send-tag').check()
            assert await form.locator(".list-count").inner_text() == "1 tag to add or update, 1 to remove."
            text, sent = await send("SendLocalList", "now version 2 (2 changes)")
            assert sent["update_type"] == "Differential" and sent["list_version"] == 2
            assert sent["local_authorization_list"] == [
                {"id_tag": "CARD-B"},
                {"id_tag": "CARD-C", "id_tag_info": {"status": "Accepted"}},
            ]
            assert await wait_for(lambda: on_the_list() == ["CARD-A", "CARD-C"])
            assert "Accepted" in await form.locator('tr[data-id-tag="CARD-C"] td.on-list').inner_text()
            assert await page.evaluate("window.__xss") is None
            assert page.errors == []


async def test_a_viewer_sees_the_page_without_commands(require_chromium, live_ocpp_server):
    def viewer() -> str:
        user = get_user_model().objects.create_user("watcher", password="pw-watcher-123")
        user.user_permissions.add(Permission.objects.get(codename="view_network"))
        Charger.objects.create(charger_id=CID)
        return session_of(user)

    session = await sync_to_async(viewer)()
    async with browser_page(require_chromium, live_ocpp_server, session=session, viewport=(390, 844)) as page:
        await page.goto(live_ocpp_server.http_url + URL)
        await page.wait_for_selector("#live")
        assert "Read-only: commands need the operator role." in await page.locator("#commands").inner_text()
        assert await page.locator("form.cmd").count() == 0
        assert await page.locator("#certificates button").count() == 0
        # The top bar says the name, then the role as a pill that says it is the role.
        role = page.locator("#role")
        assert await role.inner_text() == "viewer"
        assert await role.evaluate("el => getComputedStyle(el, '::before').content") == '"role: "'
        assert await fits(page)
        assert page.errors == []
