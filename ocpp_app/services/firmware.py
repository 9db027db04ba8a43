"""Signed firmware (OCPP 1.6 Security Whitepaper, SignedUpdateFirmware): the
operator's file is kept under a random, unguessable name in
DATA_DIR/firmware, signed with the firmware signing key
(OCPP_FIRMWARE_SIGNING_CERTFILE / _KEYFILE: RSA PKCS#1 v1.5 or ECDSA, over
SHA-256 of the file, base64), and published for download at
/ocpp/firmware/<name>: the name is the capability (a charger downloads
without credentials), so it is 256 random bits and never listed."""

import base64
import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from django.conf import settings

FIRMWARE_DIR = "firmware"
_NAME = re.compile(r"^[A-Za-z0-9_-]{43}\.bin$")


class FirmwareError(ValueError):
    """Firmware that cannot be stored or signed (too large, no signing key)."""


@dataclass(frozen=True)
class SignedFirmware:
    name: str  # the file's random name, the last segment of its URL
    size: int
    sha256: str  # hex
    signature: str  # base64 of the signature over the file's SHA-256
    signing_certificate: str  # PEM


def firmware_dir() -> Path:
    path = Path(settings.DATA_DIR) / FIRMWARE_DIR
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def firmware_path(name: str) -> Path | None:
    """The stored file of `name`, or None for a name we never made."""
    if not isinstance(name, str) or not _NAME.match(name):
        return None
    path = Path(settings.DATA_DIR) / FIRMWARE_DIR / name
    return path if path.is_file() else None


def firmware_store(chunks: Iterable[bytes]) -> str:
    """Keep an uploaded firmware file; its random name. Nothing is kept when
    it is empty or too large, or when no signing key is configured."""
    _signing_material()  # refuse before storing anything
    name = secrets.token_urlsafe(32) + ".bin"
    path = firmware_dir() / name
    size = 0
    try:
        with open(path, "xb") as handle:
            for chunk in chunks:
                size += len(chunk)
                if size > settings.OCPP_FIRMWARE_MAX_BYTES:
                    raise FirmwareError(f"firmware larger than {settings.OCPP_FIRMWARE_MAX_BYTES} bytes")
                handle.write(chunk)
        if size == 0:
            raise FirmwareError("the firmware file is empty")
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return name


def firmware_signed(name: str) -> SignedFirmware:
    """The signature and signing certificate of a stored firmware file."""
    path = firmware_path(name)
    if path is None:
        raise FirmwareError(f"no stored firmware named {name!r}")
    key, certificate = _signing_material()
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    return SignedFirmware(
        name=name,
        size=size,
        sha256=digest.hexdigest(),
        signature=base64.b64encode(_sign(key, digest.digest())).decode("ascii"),
        signing_certificate=certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
    )


def firmware_url(name: str, base_url: str | None = None) -> str:
    """Where a charger downloads the file: under `base_url` (the request's
    host), else OCPP_PUBLIC_URL."""
    return f"{(base_url or settings.OCPP_PUBLIC_URL).rstrip('/')}/ocpp/firmware/{name}"


def _signing_material():
    certfile, keyfile = settings.OCPP_FIRMWARE_SIGNING_CERTFILE, settings.OCPP_FIRMWARE_SIGNING_KEYFILE
    if not certfile:
        raise FirmwareError(
            "no firmware signing key: set OCPP_FIRMWARE_SIGNING_CERTFILE and OCPP_FIRMWARE_SIGNING_KEYFILE"
        )
    try:
        certificate = x509.load_pem_x509_certificate(Path(certfile).read_bytes())
        key = serialization.load_pem_private_key(Path(keyfile).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as error:
        raise FirmwareError(f"the firmware signing certificate or key cannot be read: {error}") from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise FirmwareError("the firmware signing key must be RSA or EC")
    if key.public_key().public_numbers() != certificate.public_key().public_numbers():
        raise FirmwareError("the firmware signing key does not match its certificate")
    return key, certificate


def _sign(key, digest: bytes) -> bytes:
    prehashed = utils.Prehashed(hashes.SHA256())
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(digest, padding.PKCS1v15(), prehashed)
    return key.sign(digest, ec.ECDSA(prehashed))
