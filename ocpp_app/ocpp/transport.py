"""What a charger's handshake shows about its transport: where it comes
from, whether it is encrypted, and the client certificate verified for it.

Served directly, the TLS layer itself tells (the ASGI TLS extension, filled
by runtime/ws_protocol.py). Behind a reverse proxy that terminates TLS, the
proxy tells in headers: X-Forwarded-Proto, X-Forwarded-For, the client
certificate (nginx `$ssl_client_escaped_cert`, OCPP_PROXY_CLIENT_CERT_HEADER)
and its verification result (`$ssl_client_verify`,
OCPP_PROXY_CLIENT_VERIFY_HEADER). Those headers are believed only when the
peer is one of OCPP_TRUSTED_PROXIES; from anyone else they are ignored, or
any client could claim TLS and a certificate.
"""

import functools
import ipaddress
from dataclasses import dataclass
from urllib.parse import unquote

from cryptography import x509
from cryptography.x509.oid import NameOID
from django.conf import settings

from ocpp_app.lib.x509 import serial_hex
from ocpp_app.services.security_profiles import ClientCertificate

NOT_ASKED = "no client certificate was presented (the server asks for one only with SSL_CA_CERTS)"
NOT_PRESENTED = "no client certificate was presented"


@dataclass(frozen=True)
class TransportFacts:
    source: str  # the client's address, as the throttle and the logs know it
    tls: bool
    certificate: ClientCertificate | None
    certificate_problem: str = ""  # why there is none, for the charger's log
    via_proxy: bool = False


@functools.cache
def _networks(proxies: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def is_trusted_proxy(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _networks(tuple(settings.OCPP_TRUSTED_PROXIES)))


def certificate_subject(pem: str) -> ClientCertificate | None:
    """The CN, O and serial of a PEM certificate, or None when it cannot be read."""
    try:
        certificate = x509.load_pem_x509_certificate(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return None
    subject = certificate.subject

    def first(oid) -> str:
        values = subject.get_attributes_for_oid(oid)
        return str(values[0].value) if values else ""

    return ClientCertificate(
        common_name=first(NameOID.COMMON_NAME),
        organization=first(NameOID.ORGANIZATION_NAME),
        serial=serial_hex(certificate),
    )


def _header(headers: list[tuple[bytes, bytes]], name: str) -> str | None:
    wanted = name.lower().encode("latin-1")
    values = [value.decode("latin-1") for key, value in headers if key.lower() == wanted]
    return ", ".join(values) if values else None


def _forwarded_source(forwarded_for: str | None, peer: str) -> str:
    """The client as the nearest proxy saw it: the right-most address of
    X-Forwarded-For that is not itself a trusted proxy."""
    for hop in reversed([item.strip() for item in (forwarded_for or "").split(",") if item.strip()]):
        if not is_trusted_proxy(hop):
            return hop
    return peer


def _direct(scope: dict, peer: str) -> TransportFacts:
    tls_info = (scope.get("extensions") or {}).get("tls")
    tls = tls_info is not None or scope.get("scheme") == "wss"
    chain = (tls_info or {}).get("client_cert_chain") or []
    certificate = certificate_subject(chain[0]) if chain else None
    asked = (tls_info or {}).get("ocpp_client_cert_requested", False)
    missing = NOT_PRESENTED if asked else NOT_ASKED
    problem = "" if certificate else ("the certificate could not be read" if chain else missing)
    return TransportFacts(source=peer, tls=tls, certificate=certificate, certificate_problem=problem)


def _proxied(headers: list[tuple[bytes, bytes]], peer: str) -> TransportFacts:
    proto = (_header(headers, "x-forwarded-proto") or "").split(",")[0].strip().lower()
    tls = proto in ("https", "wss")
    verify = (_header(headers, settings.OCPP_PROXY_CLIENT_VERIFY_HEADER) or "").strip()
    escaped = _header(headers, settings.OCPP_PROXY_CLIENT_CERT_HEADER) or ""
    certificate, problem = None, NOT_PRESENTED
    if verify == "SUCCESS" and escaped.strip():
        certificate = certificate_subject(unquote(escaped))
        problem = "" if certificate else "the certificate the proxy passed could not be read"
    elif verify and verify != "NONE":
        problem = f"the proxy could not verify it ({verify[:200]})"
    return TransportFacts(
        source=_forwarded_source(_header(headers, "x-forwarded-for"), peer),
        tls=tls,
        certificate=certificate if tls else None,
        certificate_problem=problem if tls else "not TLS",
        via_proxy=True,
    )


def transport_facts(scope: dict) -> TransportFacts:
    client = scope.get("client") or ("", 0)
    peer = str(client[0] or "")
    if peer and is_trusted_proxy(peer):
        return _proxied(list(scope.get("headers") or []), peer)
    return _direct(scope, peer)
