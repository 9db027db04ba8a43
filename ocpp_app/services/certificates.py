"""The certificate authority that signs the chargers' certificates (OCPP 1.6
Security Whitepaper, security profile 3), and the rules of what it signs.

The CA is the operator's (OCPP_CA_CERTFILE / OCPP_CA_KEYFILE, PEM) or, when
none is configured, one made on first use in DATA_DIR/ca/ (ECDSA P-256, ten
years): `ca.key` (mode 0600) and `ca.crt` in a directory of mode 0700. Its
private key is never stored in the database, logged or shown. Two processes
making it at once end with one CA: each builds its own in a private
directory and renames that directory into place, which only the first can.

A SignCertificate request is checked (lib/x509.csr_check) and stored in the
transaction that answers it; an accepted one is signed afterwards
(`csr_sign`), off the event loop, and sent back with CertificateSigned by the
protocol edge.
"""

import logging
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from ocpp_app.lib import x509 as x509_lib
from ocpp_app.models import (
    CertificateSigningRequest,
    ChargerEvent,
    ChargerEventKind,
    IssuedCertificate,
    IssuedCertificateStatus,
    RevokedCertificateSerial,
)
from ocpp_app.runtime.charger_log import charger_log
from ocpp_app.services.chargers import charger_get_or_create
from ocpp_app.services.common import clip

# The revocation check lives with the handshake's rules (services/chargers
# imports it; this module imports services/chargers).
from ocpp_app.services.security_profiles import certificate_revoked as certificate_revoked

logger = logging.getLogger("ocpp_app.certificates")

CA_YEARS = 10
CA_KEY_FILE = "ca.key"
CA_CERT_FILE = "ca.crt"
# A certificate is "expiring soon" this long before its end.
EXPIRING_SOON = timedelta(days=30)
# Clocks of chargers run a little behind: a new certificate is valid from a few minutes ago.
BACKDATE = timedelta(minutes=5)
CSR_ACCEPTED = "Accepted"
CSR_REJECTED = "Rejected"
CSR_EVENT = "CsrRejected"


class CAUnavailable(RuntimeError):
    """The configured CA files cannot be used (missing, unreadable, not a CA
    key pair); the message names the file, never the key."""


@dataclass(frozen=True)
class CertificateAuthority:
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    # The certificates above the leaf in what a charger is sent: the CA and,
    # for a configured CA file that holds them, its own issuers.
    chain: tuple[x509.Certificate, ...]
    generated: bool  # made by this server (not the operator's own CA)

    @property
    def chain_pem(self) -> str:
        return "".join(x509_lib.certificate_pem(cert) for cert in self.chain)


_lock = threading.Lock()
_cache: dict[tuple, CertificateAuthority] = {}


def ca_directory() -> Path:
    return Path(settings.DATA_DIR) / "ca"


def _stamp(*paths: Path) -> tuple:
    """What identifies the files' current version (a CA rotated on disk is re-read)."""
    stamps = []
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            stamps.append(None)
        else:
            stamps.append((stat.st_ino, stat.st_mtime_ns, stat.st_size))
    return tuple(stamps)


def ca_load() -> CertificateAuthority:
    """The CA, read once per version of its files (made first when the server
    makes its own). Raises CAUnavailable for configured files that do not work."""
    if settings.OCPP_CA_CERTFILE:
        paths = (Path(settings.OCPP_CA_CERTFILE), Path(settings.OCPP_CA_KEYFILE))
        generated = False
    else:
        directory = ca_directory()
        paths = (directory / CA_CERT_FILE, directory / CA_KEY_FILE)
        generated = True
    with _lock:
        key = (*map(str, paths), _stamp(*paths))
        authority = _cache.get(key)
        if authority is None:
            if generated and not paths[1].exists():
                try:
                    ca_create(ca_directory())
                except OSError as exc:
                    raise CAUnavailable(f"cannot make a CA in {ca_directory()}: {exc.strerror or exc}") from None
                key = (*map(str, paths), _stamp(*paths))
            authority = _read(*paths, generated=generated)
            _cache.clear()
            _cache[key] = authority
        return authority


def _read(cert_path: Path, key_path: Path, *, generated: bool) -> CertificateAuthority:
    try:
        cert_text = cert_path.read_text(encoding="ascii")
        key_bytes = key_path.read_bytes()
    except (OSError, UnicodeDecodeError) as exc:
        raise CAUnavailable(f"cannot read the CA files {cert_path} and {key_path}: {exc.strerror or exc}") from None
    try:
        certificates = x509_lib.certificates_read(cert_text)
    except x509_lib.CertificateInvalid as exc:
        raise CAUnavailable(f"{cert_path}: {exc}") from None
    try:
        key = serialization.load_pem_private_key(key_bytes, password=None)
    except (ValueError, TypeError):
        # Never echo what the file holds.
        raise CAUnavailable(f"{key_path}: not an unencrypted PEM private key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise CAUnavailable(f"{key_path}: use an EC or RSA key")
    certificate = certificates[0]
    if certificate.public_key().public_numbers() != key.public_key().public_numbers():
        raise CAUnavailable(f"{key_path} is not the key of the certificate in {cert_path}")
    if not x509_lib.is_ca(certificate):
        raise CAUnavailable(f"{cert_path}: the certificate is not a CA (basicConstraints CA:TRUE)")
    return CertificateAuthority(certificate=certificate, key=key, chain=tuple(certificates), generated=generated)


def ca_create(directory: Path) -> None:
    """Make a CA in `directory` unless one is there. The key and certificate
    are written in a private directory beside it, which is then renamed to
    `directory`: the rename is atomic and fails once `directory` holds a CA,
    so concurrent makers end with the first one's and drop their own."""
    if (directory / CA_KEY_FILE).exists():
        return
    directory.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=".ca-", dir=directory.parent))  # mode 0700
    try:
        key = ec.generate_private_key(ec.SECP256R1())
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        descriptor = os.open(building / CA_KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(key_pem)
        (building / CA_CERT_FILE).write_text(x509_lib.certificate_pem(_ca_certificate(key)), encoding="ascii")
        try:
            # Replaces an empty directory, fails on one that holds a CA already.
            os.rename(building, directory)
        except OSError:
            if not (directory / CA_KEY_FILE).exists():
                raise
        else:
            logger.warning(
                "made a certificate authority for chargers in %s: production should bring its own CA "
                "(OCPP_CA_CERTFILE/OCPP_CA_KEYFILE)",
                directory,
            )
    finally:
        shutil.rmtree(building, ignore_errors=True)


def _ca_certificate(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    organization = settings.OCPP_CPO_NAME or "OCPP Central System"
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{organization} charge point CA"[:64]),
        ]
    )
    now = datetime.now(UTC)
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + timedelta(days=365 * CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )


def ca_info() -> dict:
    """What may be shown of the CA: never its key."""
    authority = ca_load()
    certificate = authority.certificate
    return {
        "generated": authority.generated,
        "subject": certificate.subject.rfc4514_string(),
        "not_after": certificate.not_valid_after_utc,
        "sha256": certificate.fingerprint(hashes.SHA256()).hex(),
        "pem": authority.chain_pem,
    }


# -- SignCertificate --------------------------------------------------------------


def csr_receive(*, charger_id: str, csr: str) -> CertificateSigningRequest:
    """Check and keep a charger's SignCertificate request. Accepted when it
    passes every check (lib/x509.csr_check, O = OCPP_CPO_NAME when set) and
    the CA is usable; otherwise Rejected, with the reason on the request and
    in a security event. Signing comes after the answer (`csr_sign`)."""
    charger = charger_get_or_create(charger_id=charger_id)
    reason = ""
    try:
        x509_lib.csr_check(csr, common_name=charger_id, organization=settings.OCPP_CPO_NAME)
        ca_load()
    except x509_lib.CsrInvalid as exc:
        reason = str(exc)
    except CAUnavailable as exc:
        logger.error("certificate authority unavailable: %s", exc)
        reason = "the central system's certificate authority is not available"
    status = CSR_REJECTED if reason else CSR_ACCEPTED
    request = CertificateSigningRequest.objects.create(
        charger=charger, csr=csr, status=status, reason=clip(reason, 255)
    )
    if reason:
        ChargerEvent.objects.create(
            charger=charger,
            kind=ChargerEventKind.SECURITY,
            status=CSR_EVENT,
            payload={"reason": clip(reason, 255), "csr": request.pk},
            timestamp=timezone.now(),
        )
        charger_log(charger_id, f"SignCertificate rejected: {clip(reason, 255)}", logging.WARNING)
    return request


def csr_sign(*, csr_id: int) -> IssuedCertificate:
    """Sign an accepted request with the CA and keep the certificate; returns
    it. Its `chain` attribute is what CertificateSigned carries (leaf, then CA)."""
    request = CertificateSigningRequest.objects.select_related("charger").get(pk=csr_id)
    if request.status != CSR_ACCEPTED:
        raise ValueError(f"request {csr_id} was not accepted")
    authority = ca_load()
    csr = x509.load_pem_x509_csr(request.csr.encode("utf-8"))
    certificate = _charger_certificate(csr, authority)
    chain = x509_lib.certificate_pem(certificate) + authority.chain_pem
    with transaction.atomic():
        issued = IssuedCertificate.objects.create(
            charger=request.charger,
            serial=x509_lib.serial_hex(certificate),
            subject=clip(certificate.subject.rfc4514_string(), 512),
            not_before=certificate.not_valid_before_utc,
            not_after=certificate.not_valid_after_utc,
            pem=x509_lib.certificate_pem(certificate),
            csr=request,
        )
        request.certificate = chain
        request.save(update_fields=["certificate"])
    issued.chain = chain
    charger_log(request.charger.charger_id, f"certificate {issued.serial} issued, valid to {issued.not_after:%Y-%m-%d}")
    return issued


def _charger_certificate(csr: x509.CertificateSigningRequest, authority: CertificateAuthority) -> x509.Certificate:
    now = datetime.now(UTC)
    public = csr.public_key()
    not_after = min(now + timedelta(days=settings.OCPP_CHARGER_CERT_DAYS), authority.certificate.not_valid_after_utc)
    return (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(authority.certificate.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=isinstance(public, rsa.RSAPublicKey),
                data_encipherment=False,
                key_agreement=isinstance(public, ec.EllipticCurvePublicKey),
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(authority.certificate.public_key()), critical=False
        )
        .sign(authority.key, hashes.SHA256())
    )


# -- issued certificates -----------------------------------------------------------


class NotRevocable(ValueError):
    """The certificate is revoked already."""


def certificate_revoke(*, certificate_id: int) -> IssuedCertificate:
    """Mark an issued certificate revoked (raises IssuedCertificate.DoesNotExist,
    NotRevocable); `certificate_revoked` then says so of its serial."""
    with transaction.atomic():
        issued = IssuedCertificate.objects.select_for_update().select_related("charger").get(pk=certificate_id)
        if issued.status == IssuedCertificateStatus.REVOKED:
            raise NotRevocable(f"certificate {issued.serial} is revoked already")
        issued.status = IssuedCertificateStatus.REVOKED
        issued.revoked_at = timezone.now()
        issued.save(update_fields=["status", "revoked_at"])
        RevokedCertificateSerial.objects.get_or_create(serial=issued.serial, defaults={"revoked_at": issued.revoked_at})
    charger_log(issued.charger.charger_id, f"certificate {issued.serial} revoked")
    return issued


def charger_certificates_revoke(*, charger_pk: int) -> int:
    """Revoke every certificate still issued to a charger (it is being
    deleted: a charger created again under its id must not be admitted with
    them). The number revoked."""
    now = timezone.now()
    serials = list(
        IssuedCertificate.objects.filter(charger_id=charger_pk, status=IssuedCertificateStatus.ISSUED).values_list(
            "serial", flat=True
        )
    )
    IssuedCertificate.objects.filter(charger_id=charger_pk, serial__in=serials).update(
        status=IssuedCertificateStatus.REVOKED, revoked_at=now
    )
    RevokedCertificateSerial.objects.bulk_create(
        [RevokedCertificateSerial(serial=serial, revoked_at=now) for serial in serials], ignore_conflicts=True
    )
    return len(serials)


# "Expires soon": still issued (not revoked) and valid until at most
# EXPIRING_SOON from now, which includes the expired ones. The same rule for
# one certificate and as a query.


def _expiry_cutoff(now: datetime | None) -> datetime:
    return (now or timezone.now()) + EXPIRING_SOON


def certificate_expires_soon(issued: IssuedCertificate, now: datetime | None = None) -> bool:
    return issued.status == IssuedCertificateStatus.ISSUED and issued.not_after <= _expiry_cutoff(now)


def certificates_expiring(
    queryset: QuerySet[IssuedCertificate] | None = None, now: datetime | None = None
) -> QuerySet[IssuedCertificate]:
    """The issued certificates (of `queryset`, default all) that expire soon
    or have expired, not revoked."""
    queryset = IssuedCertificate.objects.all() if queryset is None else queryset
    return queryset.filter(status=IssuedCertificateStatus.ISSUED, not_after__lte=_expiry_cutoff(now))
