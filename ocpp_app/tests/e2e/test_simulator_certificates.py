"""The simulator's certificate flow against the real server over real TLS:
an operator asks for a renewal, the simulator makes a key and a CSR, gets
the chain signed by the server's CA, installs it (key mode 0600) and
reconnects presenting it, as security profile 3 then requires."""

import asyncio
import stat

import pytest
import requests
from asgiref.sync import sync_to_async
from cryptography import x509

from ocpp_app.models import Charger, Command, IssuedCertificate
from ocpp_app.services.chargers import charger_get_or_create
from ocpp_app.tests.certs import cert_pem, key_pem, make_ca, make_server_cert
from ocpp_app.tests.helpers import create_staff, token_of, wait_for
from simulator import ChargePointSimulator, SimulatorConfig
from simulator.certificates import CERT_FILE, KEY_FILE

pytestmark = pytest.mark.e2e


def write(path, text: str) -> str:
    path.write_text(text)
    return str(path)


def set_profile(charger_id: str, profile: int) -> None:
    charger = charger_get_or_create(charger_id=charger_id)
    charger.security_profile = profile
    charger.save(update_fields=["security_profile"])


async def test_the_simulator_obtains_a_certificate_and_reconnects_with_it(server_factory, tmp_path):
    # One CA signs the server's certificate and the chargers' (SSL_CA_CERTS).
    ca_cert, ca_key = make_ca("Charger Root CA")
    server_cert, server_key = make_server_cert(ca_cert, ca_key)
    ca_file = write(tmp_path / "ca.pem", cert_pem(ca_cert))
    server = await sync_to_async(server_factory)(
        SSL_CERTFILE=write(tmp_path / "server.pem", cert_pem(server_cert)),
        SSL_KEYFILE=write(tmp_path / "server.key", key_pem(server_key)),
        SSL_CA_CERTS=ca_file,
        OCPP_CA_CERTFILE=ca_file,
        OCPP_CA_KEYFILE=write(tmp_path / "ca.key", key_pem(ca_key)),
        OCPP_CPO_NAME="ACME",
        OCPP_CLIENT_CERT_ORGANIZATION="ACME",
        OCPP_DATA_DIR=str(tmp_path / "data"),
    )
    token = await sync_to_async(lambda: token_of(create_staff()))()
    cert_dir = tmp_path / "sim-certs"
    config = SimulatorConfig(
        host="127.0.0.1",
        ws_port=server.port,
        cp_path="ocpp/SIMC",
        scheme="wss",
        ca_bundle=ca_file,
        cert_dir=str(cert_dir),
        organization="ACME",
        reconnect_min=0.2,
        reconnect_max=0.5,
    )
    sim = ChargePointSimulator(config)

    def renew() -> requests.Response:
        return requests.post(
            f"{server.http_url}/ocpp/chargers/SIMC/certificates/renew/",
            headers={"Authorization": f"Token {token}"},
            verify=ca_file,
            timeout=30,
        )

    try:
        await asyncio.wait_for(sim.start(), 20)
        answer = await asyncio.to_thread(renew)
        assert answer.status_code == 200, answer.text
        assert answer.json()["response"] == {"status": "Accepted"}
        assert await wait_for(lambda: (cert_dir / CERT_FILE).exists(), 20)
        assert stat.S_IMODE((cert_dir / KEY_FILE).stat().st_mode) == 0o600
        leaf, ca = x509.load_pem_x509_certificates((cert_dir / CERT_FILE).read_bytes())
        leaf.verify_directly_issued_by(ca)
        assert leaf.subject.rfc4514_string() == "O=ACME,CN=SIMC"
        issued = await IssuedCertificate.objects.aget(charger__charger_id="SIMC")
        assert issued.serial == format(leaf.serial_number, "x")
        assert await wait_for(
            lambda: Command.objects.filter(action="CertificateSigned", response={"status": "Accepted"}).exists()
        )
        # It reconnects with the certificate: profile 3 (a verified client
        # certificate naming the charger, nothing else) now admits it.
        await sync_to_async(set_profile)("SIMC", 3)
        await asyncio.sleep(0.5)
        reconnects = sim.stats.reconnects
        await sim.drop_connection()
        assert await wait_for(lambda: sim.stats.reconnects > reconnects and sim.online, 20), sim.last_error
        log = server.log_dir / "charger.SIMC.log"
        assert await wait_for(lambda: log.read_text().count("wss from 127.0.0.1") >= 3)
        assert "needs a verified client certificate" not in log.read_text()
        charger = await Charger.objects.aget(charger_id="SIMC")
        assert charger.connected and charger.security_profile == 3
    finally:
        await sim.stop(drain_timeout=1)
