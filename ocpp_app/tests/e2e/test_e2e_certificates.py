"""End to end: a charger asks a real server (uvicorn) to sign its CSR and gets
the chain back with CertificateSigned, through the operator-command path."""

import asyncio

import pytest
from cryptography import x509
from ocpp.v16 import call

from ocpp_app.models import ChargerEvent, Command, IssuedCertificate, MessageLog
from ocpp_app.tests.certs import make_csr
from ocpp_app.tests.helpers import connected_charge_point, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def ca_server(server_factory, tmp_path):
    server = server_factory(OCPP_DATA_DIR=str(tmp_path / "data"), OCPP_CPO_NAME="ACME", OCPP_CHARGER_CERT_DAYS="90")
    server.ca_file = tmp_path / "data" / "ca" / "ca.crt"
    return server


def signed_chains(cp) -> list[str]:
    return [request["certificate_chain"] for action, request in cp.received if action == "CertificateSigned"]


async def test_a_charger_gets_its_certificate_signed_after_the_accepted_answer(ca_server):
    url = f"{ca_server.ws_url}/ocpp16/CERT1"
    async with connected_charge_point(url, "CERT1", answers={"CertificateSigned": {"status": "Accepted"}}) as cp:
        result = await cp.call(call.SignCertificate(csr=make_csr("CERT1", "ACME")))
        assert result.status == "Accepted"
        assert await wait_for(lambda: signed_chains(cp))
    leaf, ca = x509.load_pem_x509_certificates(signed_chains(cp)[0].encode())
    leaf.verify_directly_issued_by(ca)
    assert ca == x509.load_pem_x509_certificate(ca_server.ca_file.read_bytes())
    assert (leaf.not_valid_after_utc - leaf.not_valid_before_utc).days == 90
    issued = await IssuedCertificate.objects.select_related("charger").aget()
    assert (issued.charger.charger_id, issued.serial) == ("CERT1", format(leaf.serial_number, "x"))
    command = await wait_for(lambda: Command.objects.filter(action="CertificateSigned", status="ok").first())
    assert (command.source, command.response) == ("ca", {"status": "Accepted"})
    # Answer first, then our CALL: the message log keeps the order on the wire.
    frames = await wait_for(
        lambda: (
            list(
                MessageLog.objects.filter(charger_id="CERT1", action__in=["SignCertificate", "CertificateSigned"])
                .order_by("id")
                .values_list("direction", "message_type", "action")
            )
            if MessageLog.objects.filter(charger_id="CERT1", action="CertificateSigned", message_type=3).exists()
            else None
        )
    )
    assert frames == [
        ("in", 2, "SignCertificate"),
        ("out", 3, "SignCertificate"),
        ("out", 2, "CertificateSigned"),
        ("in", 3, "CertificateSigned"),
    ]


async def test_a_csr_for_another_charger_is_rejected_and_nothing_is_signed(ca_server):
    url = f"{ca_server.ws_url}/ocpp16/CERT2"
    async with connected_charge_point(url, "CERT2", answers={"CertificateSigned": {"status": "Accepted"}}) as cp:
        result = await cp.call(call.SignCertificate(csr=make_csr("SOMEONE-ELSE", "ACME")))
        assert result.status == "Rejected"
        await asyncio.sleep(1.0)
        assert signed_chains(cp) == []
    event = await ChargerEvent.objects.aget(charger__charger_id="CERT2", kind="security")
    assert event.status == "CsrRejected" and "expected the charger id 'CERT2'" in event.payload["reason"]
    assert await IssuedCertificate.objects.acount() == 0
