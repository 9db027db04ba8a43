"""The simulated charger's TLS and its certificate (OCPP 1.6 Security
Whitepaper): the TLS context of a wss:// connection (a CA bundle, a client
certificate), and the certificate flow. Asked with ExtendedTriggerMessage
SignChargePointCertificate, the charger makes a key and a CSR (CN = its
charger id, O = its organisation) and sends SignCertificate; a
CertificateSigned chain that belongs to that key and verifies is written to
its certificate directory (the key with mode 0600), and the charger
reconnects with it."""

from __future__ import annotations

import contextlib
import logging
import os
import ssl
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID
from ocpp.v16 import call

from ocpp_app.lib import x509 as x509_lib

logger = logging.getLogger("simulator.certificates")

# The file names in the certificate directory.
CERT_FILE = "charge_point.crt"
KEY_FILE = "charge_point.key"


@dataclass
class ClientCertificate:
    certfile: str
    keyfile: str


def ssl_context(*, ca_bundle: str | None, client: ClientCertificate | None) -> ssl.SSLContext:
    """What a wss:// connection trusts (`ca_bundle`, a PEM file; else the
    system's CAs) and the client certificate it presents (security profile 3)."""
    context = ssl.create_default_context(cafile=ca_bundle or None)
    if client is not None:
        context.load_cert_chain(client.certfile, client.keyfile)
    return context


def _write_private(path: Path, text: str, mode: int) -> None:
    """Write `path` whole (a temporary file renamed into place) with `mode`."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        os.fchmod(descriptor, mode)
        with os.fdopen(descriptor, "w") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


class CertificatesMixin:
    """The certificate flow of ChargePointSimulator (config: cert_dir,
    organization, ca_bundle, client_cert, client_key)."""

    _pending_key: str | None = None
    certificate_installed: bool = False

    # What the mixin needs of the simulator.
    config: object

    def client_certificate(self) -> ClientCertificate | None:
        """The client certificate to present: the one given, else one this
        charger obtained and installed in its certificate directory."""
        if self.config.client_cert and self.config.client_key:
            return ClientCertificate(self.config.client_cert, self.config.client_key)
        if self.config.cert_dir:
            directory = Path(self.config.cert_dir)
            if (directory / CERT_FILE).exists() and (directory / KEY_FILE).exists():
                return ClientCertificate(str(directory / CERT_FILE), str(directory / KEY_FILE))
        return None

    def connection_ssl(self) -> ssl.SSLContext | None:
        if self.config.scheme != "wss":
            return None
        return ssl_context(ca_bundle=self.config.ca_bundle, client=self.client_certificate())

    async def request_certificate(self) -> None:
        """A new key and CSR, sent with SignCertificate (after an
        ExtendedTriggerMessage SignChargePointCertificate)."""
        csr, key = x509_lib.csr_make(common_name=self.config.cp_id, organization=self.config.organization)
        self._pending_key = key
        result = await self.send(call.SignCertificate(csr=csr))
        status = getattr(result, "status", None)
        logger.info("%s: SignCertificate %s", self.config.cp_id, status)
        if status != "Accepted":
            self._pending_key = None
            self.last_error = f"SignCertificate {status or 'not answered'}"

    def install_certificate(self, chain: str) -> str:
        """Check a CertificateSigned chain and install it: "Accepted" or "Rejected"."""
        reason = self._certificate_problem(chain)
        if reason:
            logger.warning("%s: CertificateSigned rejected: %s", self.config.cp_id, reason)
            self.last_error = f"CertificateSigned rejected: {reason}"
            return "Rejected"
        directory = Path(self.config.cert_dir)
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_private(directory / KEY_FILE, self._pending_key, 0o600)
        _write_private(directory / CERT_FILE, chain, 0o644)
        self._pending_key = None
        self.certificate_installed = True
        logger.info("%s: certificate installed in %s", self.config.cp_id, directory)
        return "Accepted"

    def _certificate_problem(self, chain: str) -> str:
        if not self.config.cert_dir:
            return "no certificate directory (--cert-dir)"
        if self._pending_key is None:
            return "no certificate was requested"
        try:
            certificates = x509_lib.certificates_read(chain)
        except x509_lib.CertificateInvalid as exc:
            return str(exc)
        leaf = certificates[0]
        key = serialization.load_pem_private_key(self._pending_key.encode(), password=None)
        if leaf.public_key().public_numbers() != key.public_key().public_numbers():
            return "the certificate is not for the key of the request"
        names = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        if [name.value for name in names] != [self.config.cp_id]:
            return "the certificate's CN is not this charger's id"
        now = datetime.now(UTC)
        if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
            return "the certificate is not valid now"
        for certificate, issuer in zip(certificates, certificates[1:], strict=False):
            try:
                certificate.verify_directly_issued_by(issuer)
            except Exception:  # a bad signature, or a key type that cannot sign
                return "the chain does not verify"
        return ""

    async def reconnect_with_certificate(self) -> None:
        """Reconnect, presenting the new certificate (on wss://), without a reboot."""
        self._reconnect_now = True
        await self._close_socket()
