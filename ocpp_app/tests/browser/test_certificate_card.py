"""The charger page's certificate card in real headless Chromium against a
real server, with a real OCPP charge point answering its commands."""

import re
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.utils import timezone
from ocpp.v16 import call

from ocpp_app.models import Charger, InstalledCertificate, IssuedCertificate
from ocpp_app.tests.certs import make_csr, root_pem
from ocpp_app.tests.helpers import browser_page, connected_charge_point, staff_session, wait_for, ws_path

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
CID = "CERT 1#ü"
HOSTILE = '<img src=x onerror="window.__xss=1">'
REPORTED = {
    "hashAlgorithm": "SHA256",
    "issuerNameHash": "1" * 64,
    "issuerKeyHash": "2" * 64,
    "serialNumber": "5eed",
}


def installed_ids(request: dict) -> dict:
    if request["certificate_type"] == "ManufacturerRootCertificate":
        return {"status": "Accepted", "certificateHashData": [REPORTED]}
    return {"status": "NotFound"}


ANSWERS = {
    "ExtendedTriggerMessage": {"status": "Accepted"},
    "CertificateSigned": {"status": "Accepted"},
    "InstallCertificate": {"status": "Accepted"},
    "DeleteCertificate": {"status": "Accepted"},
    "GetInstalledCertificateIds": installed_ids,
}


def old_certificate() -> None:
    now = timezone.now()
    IssuedCertificate.objects.create(
        charger=Charger.objects.get(charger_id=CID),
        serial="abc123",
        # As long as the column holds (services/certificates.py clips there).
        subject=(f"CN={HOSTILE}," + ",".join(f"OU=unit-{i}-{'x' * 30}" for i in range(12)))[:512],
        not_before=now - timedelta(days=300),
        not_after=now + timedelta(days=5),
        pem="(public certificate)",
    )


async def answered(page, text: str) -> str:
    await page.wait_for_function(
        "t => document.getElementById('certificate-answer').textContent.includes(t)"
        " && !document.querySelector('#certificates button:disabled')",
        arg=text,
    )
    return await page.locator("#certificate-answer").inner_text()


async def fits(page) -> bool:
    return await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("width", [1400, 390])
async def test_the_card_drives_the_certificate_commands_and_fits(require_chromium, server_factory, tmp_path, width):
    # A data directory of its own (the CA is made there), with the test's
    # SECRET_KEY so that the staff session made here is valid there.
    server = await sync_to_async(server_factory)(OCPP_DATA_DIR=str(tmp_path / "data"), SECRET_KEY=settings.SECRET_KEY)
    session = await staff_session()
    async with connected_charge_point(server.ws_url + ws_path(CID), CID, answers=ANSWERS) as cp:
        await cp.call(call.BootNotification(charge_point_vendor="Acme", charge_point_model="X1"))
        await sync_to_async(old_certificate)()
        async with browser_page(require_chromium, server, session=session, viewport=(width, 900)) as page:
            await page.goto(server.http_url + "/ocpp/chargers/CERT%201%23%C3%BC/view/")
            card = page.locator("#certificates")
            assert "expires soon" in await card.locator('tr[data-serial="abc123"]').inner_text()
            assert HOSTILE in await card.locator('tr[data-serial="abc123"] td').nth(1).inner_text()
            assert await fits(page)

            # Refresh: both types asked; what the charger reports is listed.
            await card.locator("#certificate-refresh").click()
            text = await answered(page, "GetInstalledCertificateIds ManufacturerRootCertificate → Accepted")
            assert "GetInstalledCertificateIds CentralSystemRootCertificate → NotFound" in text
            row = card.locator('#installed-certificates tr[data-serial-number="5eed"]')
            await row.wait_for()
            assert "ManufacturerRootCertificate" in await row.inner_text()

            # Delete that entry: the hash data goes back to the charger as it reported it.
            await row.locator(".cert-delete").click()
            await answered(page, "DeleteCertificate 5eed → Accepted")
            await row.wait_for(state="detached")
            deleted = [request for action, request in cp.received if action == "DeleteCertificate"]
            assert deleted == [
                {
                    "certificate_hash_data": {
                        "hash_algorithm": "SHA256",
                        "issuer_name_hash": "1" * 64,
                        "issuer_key_hash": "2" * 64,
                        "serial_number": "5eed",
                    }
                }
            ]

            # Install a CA certificate pasted as PEM: refused text first, then a real one.
            install = card.locator("#certificate-install")
            await install.locator("textarea").fill("not a certificate")
            await install.locator("button").click()
            assert "HTTP 400" in await answered(page, "InstallCertificate: HTTP 400")
            pem = root_pem()
            await install.locator("select").select_option("CentralSystemRootCertificate")
            await install.locator("textarea").fill(pem)
            await install.locator("button").click()
            await answered(page, "InstallCertificate → Accepted")
            new_row = card.locator("#installed-certificates tr[data-serial-number]")
            await new_row.wait_for()
            assert "CentralSystemRootCertificate" in await new_row.inner_text()
            sent = [request for action, request in cp.received if action == "InstallCertificate"]
            assert [r["certificate_type"] for r in sent] == ["CentralSystemRootCertificate"]
            assert sent[0]["certificate"].strip() == pem.strip()

            # Renew: ExtendedTriggerMessage; the charger's CSR is signed and the card shows it.
            await card.locator("#certificate-renew").click()
            await answered(page, "ExtendedTriggerMessage SignChargePointCertificate → Accepted")
            assert ("ExtendedTriggerMessage", {"requested_message": "SignChargePointCertificate"}) in cp.received
            csr = make_csr(CID, key=ec.generate_private_key(ec.SECP256R1()))
            assert (await cp.call(call.SignCertificate(csr=csr))).status == "Accepted"
            issued = await wait_for(
                lambda: IssuedCertificate.objects.filter(charger__charger_id=CID).exclude(serial="abc123").first()
            )
            assert issued is not None
            await card.locator(f'#issued-certificates tr[data-serial="{issued.serial}"]').wait_for(timeout=15_000)
            assert await fits(page)
            assert await page.evaluate("window.__xss") is None
            assert page.errors == []
    assert await sync_to_async(InstalledCertificate.objects.filter(charger__charger_id=CID).count)() == 1


async def test_a_command_to_a_disconnected_charger_says_so_in_the_card(require_chromium, live_ocpp_server):
    await sync_to_async(Charger.objects.create)(charger_id="GONE")
    session = await staff_session()
    async with browser_page(require_chromium, live_ocpp_server, session=session, viewport=(390, 844)) as page:
        await page.goto(live_ocpp_server.http_url + "/ocpp/chargers/GONE/view/")
        await page.locator("#certificate-refresh").click()
        text = await answered(page, "HTTP 409")
        # Stopped at the first type: the second is never asked.
        assert re.findall(r"GetInstalledCertificateIds \w+", text) == [
            "GetInstalledCertificateIds CentralSystemRootCertificate"
        ]
        assert await page.locator("#certificate-answer").get_attribute("class") == "answer error"
        assert await fits(page)
