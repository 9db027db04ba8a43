"""Signed firmware end to end: the operator uploads a file through the API, a
real server signs it and sends SignedUpdateFirmware, and a real `ocpp`
charge point downloads the file from the URL it was given, verifies the
signature with the signing certificate and reports SignatureVerified."""

import asyncio
import base64

import pytest
import requests
from asgiref.sync import sync_to_async
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import Client
from django.urls import reverse
from ocpp.v16 import call

from ocpp_app.models import ChargerEvent, ChargerEventKind
from ocpp_app.tests.certs import firmware_signing_env
from ocpp_app.tests.helpers import connected_charge_point, create_staff, token_of, wait_connected, wait_for

pytestmark = pytest.mark.e2e

IMAGE = b"signed firmware image " * 20_000


def signing_env(tmp_path) -> dict[str, str]:
    return firmware_signing_env(tmp_path)


async def test_a_charge_point_downloads_and_verifies_the_signed_firmware(server_factory, tmp_path):
    server = server_factory(**signing_env(tmp_path))
    staff = await sync_to_async(create_staff)()
    token = await sync_to_async(token_of)(staff)
    checked: dict = {}
    done = asyncio.Event()
    tasks: list[asyncio.Task] = []

    async def download_and_verify(cp, request: dict) -> None:
        firmware = request["firmware"]
        response = await asyncio.to_thread(requests.get, firmware["location"], timeout=30)
        certificate = x509.load_pem_x509_certificate(firmware["signing_certificate"].encode())
        certificate.public_key().verify(
            base64.b64decode(firmware["signature"]), response.content, ec.ECDSA(hashes.SHA256())
        )  # raises InvalidSignature otherwise
        checked.update(status=response.status_code, data=response.content, location=firmware["location"])
        await cp.call(
            call.SignedFirmwareStatusNotification(status="SignatureVerified", request_id=request["request_id"])
        )
        done.set()

    def upload() -> tuple[int, dict]:
        response = requests.post(
            f"{server.http_url}/ocpp/chargers/FW1/signed-firmware/",
            files={"file": ("fw.bin", IMAGE)},
            data={"retries": "2"},
            headers={"Authorization": f"Token {token}"},
            timeout=60,
        )
        return response.status_code, response.json()

    url = f"{server.ws_url}/ocpp16/FW1"
    holder: dict = {}

    def answer(request: dict) -> dict:
        tasks.append(asyncio.get_running_loop().create_task(download_and_verify(holder["cp"], request)))
        return {"status": "Accepted"}

    async with connected_charge_point(url, "FW1", answers={"SignedUpdateFirmware": answer}) as cp:
        holder["cp"] = cp
        await wait_connected("FW1")
        status, body = await asyncio.to_thread(upload)
        assert (status, body["response"]) == (200, {"status": "Accepted"}), body
        await asyncio.wait_for(done.wait(), 30)
    sent = body["request"]
    assert sent["retries"] == 2 and sent["firmware"]["location"] == checked["location"]
    assert checked["location"].startswith(f"{server.http_url}/ocpp/firmware/")
    assert (checked["status"], checked["data"]) == (200, IMAGE)

    event = await wait_for(
        lambda: ChargerEvent.objects.filter(charger__charger_id="FW1", kind=ChargerEventKind.SIGNED_FIRMWARE).first()
    )
    assert event.status == "SignatureVerified"
    assert event.request_id == sent["requestId"] and event.command_id == body["command_id"]

    def charger_page() -> str:
        client = Client()
        client.force_login(staff)
        return client.get(reverse("ocpp:charger-view", args=["FW1"])).content.decode()

    page = await sync_to_async(charger_page)()
    assert f"SignatureVerified (request {sent['requestId']})" in page
    # A name the server never made is not served.
    missing = await asyncio.to_thread(requests.get, f"{server.http_url}/ocpp/firmware/{'A' * 43}.bin", timeout=10)
    assert missing.status_code == 404
