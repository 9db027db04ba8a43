"""manage.py charger_ca: the CA's public certificate for SSL_CA_CERTS, made on first use."""

import stat
from io import StringIO

import pytest
from cryptography import x509
from django.core.management import call_command

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    settings.OCPP_CA_CERTFILE = settings.OCPP_CA_KEYFILE = settings.OCPP_CPO_NAME = ""
    return settings.DATA_DIR


def test_it_makes_the_ca_on_first_use_and_prints_only_its_certificate(data_dir):
    out = StringIO()
    call_command("charger_ca", stdout=out)
    text = out.getvalue()
    assert "PRIVATE KEY" not in text
    certificate = x509.load_pem_x509_certificate(text.encode())
    assert certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert stat.S_IMODE((data_dir / "ca" / "ca.key").stat().st_mode) == 0o600


def test_it_writes_the_same_ca_to_a_file(data_dir, tmp_path):
    printed = StringIO()
    call_command("charger_ca", stdout=printed)
    call_command("charger_ca", "--out", str(tmp_path / "charger-ca.pem"), stdout=StringIO())
    assert (tmp_path / "charger-ca.pem").read_text() == printed.getvalue()
