"""Certificate commands of the Security extension. What a charger answers is
kept: the certificates it reports as installed (GetInstalledCertificateIds),
the one it accepted (InstallCertificate) and the one it deleted
(DeleteCertificate), as InstalledCertificate rows by their hash data."""

from django.utils import timezone

from ocpp_app.lib import x509
from ocpp_app.models import Charger, InstalledCertificate
from ocpp_app.services.commands.base import BadCommand, OperatorCommand

# The certificate types InstallCertificate may carry, and GetInstalledCertificateIds lists.
ROOT_TYPES = ("CentralSystemRootCertificate", "ManufacturerRootCertificate")
# InstallCertificate's `certificate` is at most this long (the OCPP schema).
CERTIFICATE_MAX_CHARS = 5500
ACCEPTED = "Accepted"


def _hash_fields(data: dict) -> dict:
    return {
        "hash_algorithm": str(data.get("hashAlgorithm", ""))[:10],
        "issuer_name_hash": str(data.get("issuerNameHash", ""))[:128].lower(),
        "issuer_key_hash": str(data.get("issuerKeyHash", ""))[:128].lower(),
        "serial_number": str(data.get("serialNumber", ""))[:40].lower(),
    }


def _keep(charger: Charger, certificate_type: str, data: dict) -> None:
    fields = _hash_fields(data)
    InstalledCertificate.objects.update_or_create(
        charger=charger,
        **fields,
        defaults={"certificate_type": certificate_type, "reported_at": timezone.now()},
    )


class InstallCertificate(OperatorCommand):
    action = "InstallCertificate"
    short = "install_certificate"

    def check(self, charger: Charger, payload: dict) -> None:
        try:
            certificate = x509.certificate_read(payload.get("certificate", ""))
        except x509.CertificateInvalid as exc:
            raise BadCommand(f"certificate: {exc}") from None
        if not x509.is_ca(certificate):
            raise BadCommand("certificate: not a CA certificate (a root certificate is expected)")

    def apply(self, charger: Charger, request: dict, response: dict) -> None:
        if response.get("status") != ACCEPTED:
            return
        certificate = x509.certificate_read(request["certificate"])
        _keep(charger, request["certificateType"], x509.hash_data(certificate).wire())


class GetInstalledCertificateIds(OperatorCommand):
    action = "GetInstalledCertificateIds"
    short = "get_installed_certificates"

    def apply(self, charger: Charger, request: dict, response: dict) -> None:
        """The answer is the charger's whole list of that type: rows it no
        longer reports go."""
        certificate_type = request["certificateType"]
        reported = response.get("certificateHashData") or [] if response.get("status") == ACCEPTED else []
        kept = []
        for data in reported:
            _keep(charger, certificate_type, data)
            kept.append(_hash_fields(data))
        stale = InstalledCertificate.objects.filter(charger=charger, certificate_type=certificate_type)
        for fields in kept:
            stale = stale.exclude(**fields)
        stale.delete()


class DeleteCertificate(OperatorCommand):
    action = "DeleteCertificate"
    short = "delete_certificate"

    def apply(self, charger: Charger, request: dict, response: dict) -> None:
        if response.get("status") in (ACCEPTED, "NotFound"):
            InstalledCertificate.objects.filter(
                charger=charger, **_hash_fields(request["certificateHashData"])
            ).delete()


class CertificateSigned(OperatorCommand):
    """The chain the central system's CA signed (sent after SignCertificate);
    what the charger answered stays on the Command."""

    action = "CertificateSigned"
