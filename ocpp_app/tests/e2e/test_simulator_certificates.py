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
from ocpp_app.tests.certs import key_pem
from ocpp_app.tests.e2e.pki import Pki, log_says, make
from ocpp_app.tests.helpers import create_staff, token_of, wait_for
from simulator import ChargePointSimulator, SimulatorConfig
from simulator.certificates import CERT_FILE, KEY_FILE

pytestmark = pytest.mark.e2e


async def test_the_simulator_obtains_a_certificate_and_reconnects_with_it(server_factory, tmp_path):
    pki = Pki(tmp_path)
    ca_key = pki._write("ca.key", key_pem(pki.ca_key))
    server = await sync_to_async(server_factory)(
        **pki.env(),
        OCPP_CA_CERTFILE=pki.ca_file,
        OCPP_CA_KEYFILE=ca_key,
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
        ca_bundle=pki.ca_file,
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
            verify=pki.ca_file,
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
        await make("SIMC", 3)
        await asyncio.sleep(0.5)
        reconnects = sim.stats.reconnects
        await sim.drop_connection()
        assert await wait_for(lambda: sim.stats.reconnects > reconnects and sim.online, 20), sim.last_error
        assert await log_says(server, "SIMC", "wss from 127.0.0.1")
        assert "needs a verified client certificate" not in (server.log_dir / "charger.SIMC.log").read_text()
        charger = await Charger.objects.aget(charger_id="SIMC")
        assert charger.connected and charger.security_profile == 3
    finally:
        await sim.stop(drain_timeout=1)
