"""The TLS context `manage.py serve` serves wss:// with (Security Profiles 2
and 3).

TLS 1.2 at least. For TLS 1.2 the cipher suites are those the OCPP 1.6
Security Whitepaper names (ECDHE-ECDSA with AES-GCM for an ECDSA server
key, RSA with AES-GCM for an RSA one) plus ECDHE-RSA with AES-GCM, which
gives an RSA server key forward secrecy; TLS 1.3 suites are all AEAD and
stay on. With a CA bundle (SSL_CA_CERTS) the server asks every client for a
certificate but does not require one at the TLS layer (CERT_OPTIONAL): a
profile 1 or 2 charger connects without one, and a profile 3 charger
without one is refused by the handshake with a reason (403). A certificate
that does not chain to the bundle, or has expired, fails the TLS handshake.
"""

import ssl

WHITEPAPER_CIPHERS = (
    "ECDHE-ECDSA-AES128-GCM-SHA256",  # TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
    "ECDHE-ECDSA-AES256-GCM-SHA384",  # TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "AES128-GCM-SHA256",  # TLS_RSA_WITH_AES_128_GCM_SHA256
    "AES256-GCM-SHA384",  # TLS_RSA_WITH_AES_256_GCM_SHA384
)
DEFAULT_CIPHERS = ":".join(WHITEPAPER_CIPHERS)


def server_context(
    *, certfile: str, keyfile: str | None = None, ca_certs: str | None = None, ciphers: str | None = None
) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certfile, keyfile)
    context.set_ciphers(ciphers or DEFAULT_CIPHERS)
    if ca_certs:
        context.load_verify_locations(ca_certs)
        context.verify_mode = ssl.CERT_OPTIONAL
    return context
