"""X.509 for the OCPP 1.6 security extension, pure and shared by the central
system and the simulator: read and check a charger's certificate signing
request, make one, read certificates, and the certificate hash data
(issuer name and key hashes, serial) by which OCPP names a certificate."""

import hashlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

# What a charger's key may be: RSA of at least this many bits, or EC on one of these curves.
RSA_MIN_BITS = 2048
EC_CURVES = {"secp256r1": "P-256", "secp384r1": "P-384"}
HASH_ALGORITHMS = {"SHA256": hashlib.sha256, "SHA384": hashlib.sha384, "SHA512": hashlib.sha512}


class CsrInvalid(ValueError):
    """The certificate signing request fails a check; the message says which."""


class CertificateInvalid(ValueError):
    """The text is not a PEM X.509 certificate (or not only one)."""


def _name_value(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    """The one value of `oid` in `name`; None when it is missing or repeated."""
    values = name.get_attributes_for_oid(oid)
    if len(values) != 1:
        return None
    value = values[0].value
    return value if isinstance(value, str) else None


def key_description(key: object) -> str:
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA {key.key_size}"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC {EC_CURVES.get(key.curve.name, key.curve.name)}"
    return type(key).__name__


def _check_key(key: object) -> None:
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < RSA_MIN_BITS:
            raise CsrInvalid(f"RSA key of {key.key_size} bits: at least {RSA_MIN_BITS} are required")
        return
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in EC_CURVES:
            raise CsrInvalid(f"EC key on curve {key.curve.name}: use P-256 or P-384")
        return
    raise CsrInvalid(f"{key_description(key)} key: use RSA (2048 bits or more) or EC P-256/P-384")


def csr_check(pem: str, *, common_name: str, organization: str = "") -> x509.CertificateSigningRequest:
    """The CSR in `pem` once it passes every check: a PEM PKCS#10 request with
    a valid signature, subject CN equal to `common_name`, O equal to
    `organization` when one is given, and an acceptable key. Raises CsrInvalid."""
    if not isinstance(pem, str) or "-----BEGIN CERTIFICATE REQUEST-----" not in pem:
        raise CsrInvalid("not a PEM certificate signing request")
    try:
        csr = x509.load_pem_x509_csr(pem.encode("utf-8"))
    except (ValueError, UnicodeEncodeError):
        raise CsrInvalid("not a PEM PKCS#10 certificate signing request") from None
    try:
        signed = csr.is_signature_valid
        key = csr.public_key()
    except Exception:  # an unsupported key or signature algorithm
        raise CsrInvalid("the request's key or signature algorithm is not supported") from None
    if not signed:
        raise CsrInvalid("the request's signature is not valid")
    common = _name_value(csr.subject, NameOID.COMMON_NAME)
    if common != common_name:
        raise CsrInvalid(f"subject CN is {common!r}, expected the charger id {common_name!r}")
    if organization:
        org = _name_value(csr.subject, NameOID.ORGANIZATION_NAME)
        if org != organization:
            raise CsrInvalid(f"subject O is {org!r}, expected {organization!r}")
    _check_key(key)
    return csr


def csr_make(*, common_name: str, organization: str = "") -> tuple[str, str]:
    """A new EC P-256 key and a CSR for it: (CSR PEM, private key PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(attributes)).sign(key, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode("ascii"), key_pem.decode("ascii")


def certificates_read(pem: str) -> list[x509.Certificate]:
    """Every certificate in a PEM text, in order. Raises CertificateInvalid for
    a text that holds none or anything else than certificates."""
    if not isinstance(pem, str) or "-----BEGIN CERTIFICATE-----" not in pem:
        raise CertificateInvalid("not a PEM certificate")
    if "PRIVATE KEY" in pem:
        raise CertificateInvalid("the text holds a private key: send only the certificate")
    try:
        return x509.load_pem_x509_certificates(pem.encode("utf-8"))
    except (ValueError, UnicodeEncodeError):
        raise CertificateInvalid("not a readable PEM X.509 certificate") from None


def certificate_read(pem: str) -> x509.Certificate:
    """The one certificate in a PEM text; raises CertificateInvalid."""
    certificates = certificates_read(pem)
    if len(certificates) != 1:
        raise CertificateInvalid(f"expected one certificate, found {len(certificates)}")
    return certificates[0]


def is_ca(certificate: x509.Certificate) -> bool:
    """Whether the certificate may sign others (basicConstraints CA:TRUE)."""
    try:
        return bool(certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def certificate_pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def serial_hex(certificate: x509.Certificate) -> str:
    """The serial number as OCPP writes it: lower-case hex, no leading zeros."""
    return format(certificate.serial_number, "x")


@dataclass(frozen=True)
class HashData:
    """OCPP's CertificateHashDataType."""

    hash_algorithm: str
    issuer_name_hash: str
    issuer_key_hash: str
    serial_number: str

    def wire(self) -> dict:
        return {
            "hashAlgorithm": self.hash_algorithm,
            "issuerNameHash": self.issuer_name_hash,
            "issuerKeyHash": self.issuer_key_hash,
            "serialNumber": self.serial_number,
        }


def hash_data(
    certificate: x509.Certificate, issuer: x509.Certificate | None = None, algorithm: str = "SHA256"
) -> HashData:
    """The hash data of `certificate`: the hash of its issuer's DER name and of
    its issuer's public key (the key bits, as in OCSP), with `issuer` the
    issuing certificate (None: self-signed, as a root certificate is)."""
    digest = HASH_ALGORITHMS[algorithm]
    issuer = issuer or certificate
    key_bits = issuer.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # The BIT STRING of the SubjectPublicKeyInfo, without its tag, length and
    # unused-bits byte: what OCSP's issuerKeyHash (and OCPP's) hashes.
    raw = _subject_public_key_bits(key_bits)
    return HashData(
        hash_algorithm=algorithm,
        issuer_name_hash=digest(certificate.issuer.public_bytes()).hexdigest(),
        issuer_key_hash=digest(raw).hexdigest(),
        serial_number=serial_hex(certificate),
    )


def _der_length(data: bytes, offset: int) -> tuple[int, int]:
    """(length, offset of the content) of the DER element whose length byte is at `offset`."""
    first = data[offset]
    if first < 0x80:
        return first, offset + 1
    count = first & 0x7F
    return int.from_bytes(data[offset + 1 : offset + 1 + count], "big"), offset + 1 + count


def _subject_public_key_bits(spki: bytes) -> bytes:
    """The key bits of a DER SubjectPublicKeyInfo (SEQUENCE { algorithm, BIT STRING })."""
    _, content = _der_length(spki, 1)  # the outer SEQUENCE
    algorithm_length, algorithm_content = _der_length(spki, content + 1)
    bit_string = algorithm_content + algorithm_length
    length, bits = _der_length(spki, bit_string + 1)
    return spki[bits + 1 : bits + length]  # skip the unused-bits byte
