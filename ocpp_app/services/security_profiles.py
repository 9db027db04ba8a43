"""OCPP 1.6 Security Whitepaper profiles: which one a charger must connect at,
and what a connection must show for it.

    0  no security: ws:// or wss://, no credentials (but a charger that has a
       password must still send it: a credential once set is never ignored)
    1  Basic auth (the AuthorizationKey), ws:// or wss://
    2  TLS + Basic auth: a ws:// connection is refused
    3  TLS + a client certificate the server verified, whose subject CN is the
       charger id (OCPP_CLIENT_CERT_CN_CHECK) and whose O is
       OCPP_CLIENT_CERT_ORGANIZATION when that is set; no password is asked

A client certificate the central system's CA issued and an operator revoked
is refused at any profile (`certificate_revoked`), as a TLS layer checking
revocation would refuse it.

A charger's own `security_profile` wins; None means the site default,
OCPP_DEFAULT_SECURITY_PROFILE (unset: 1 when OCPP_REQUIRE_AUTH is on, else
0, which is exactly the rule from before profiles existed). The stored
profile is raised when the charger accepts a ChangeConfiguration of
SecurityProfile, and an operator's command can never lower it: a connection
below it is refused, so a downgrade cannot be forced from the network.
"""

from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from ocpp_app.models import (
    Charger,
    ChargerEvent,
    ChargerEventKind,
    RevokedCertificateSerial,
    SecurityProfile,
)
from ocpp_app.services.common import clip

SECURITY_PROFILE_KEY = "SecurityProfile"
PROFILES = tuple(int(value) for value in SecurityProfile.values)


@dataclass(frozen=True)
class ClientCertificate:
    """The subject of a client certificate the TLS layer (or the trusted
    proxy in front of it) verified against SSL_CA_CERTS."""

    common_name: str
    organization: str = ""
    serial: str = ""  # lower-case hex, no leading zeros (lib/x509.serial_hex)


@dataclass(frozen=True)
class Refusal:
    """Why a connection does not meet its charger's profile: the HTTP status
    to answer and the reason for the charger's log (never a secret)."""

    status: int
    reason: str


def is_security_profile_key(key: object) -> bool:
    """Configuration key names are case-insensitive (CiString)."""
    return isinstance(key, str) and key.casefold() == SECURITY_PROFILE_KEY.casefold()


def profile_value(value: object) -> int | None:
    """A SecurityProfile configuration value ("0".."3", as ChangeConfiguration
    carries it) as an int, or None when it is not one."""
    text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    return int(text) if text in {str(profile) for profile in PROFILES} else None


def effective_profile(stored: int | None) -> int:
    """The profile a charger must connect at: its own, else the site default."""
    return settings.OCPP_DEFAULT_SECURITY_PROFILE if stored is None else int(stored)


def password_required(*, profile: int, require_auth: bool, has_password: bool) -> bool:
    """Profiles 1 and 2 authenticate with the Basic-auth password; profile 3
    with the certificate alone; profile 0 only when OCPP_REQUIRE_AUTH is on
    or the charger has a password (the rule from before profiles)."""
    if profile == SecurityProfile.TLS_CLIENT_CERT:
        return False
    return profile >= SecurityProfile.BASIC or require_auth or has_password


def transport_refusal(
    *, charger_id: str, profile: int, tls: bool, certificate: ClientCertificate | None, certificate_problem: str = ""
) -> Refusal | None:
    """What the transport lacks for `profile` (None: nothing). Checked before
    any password, so a charger told to use TLS learns that, not 401."""
    if profile >= SecurityProfile.TLS_BASIC and not tls:
        return Refusal(403, f"security profile {profile} needs TLS (wss://); this connection is not encrypted")
    if profile < SecurityProfile.TLS_CLIENT_CERT:
        return None
    if certificate is None:
        why = certificate_problem or "no client certificate was presented"
        return Refusal(403, f"security profile 3 needs a verified client certificate: {why}")
    if settings.OCPP_CLIENT_CERT_CN_CHECK and certificate.common_name != charger_id:
        return Refusal(403, f"client certificate CN {certificate.common_name!r} is not the charger id")
    organization = settings.OCPP_CLIENT_CERT_ORGANIZATION
    if organization and certificate.organization != organization:
        return Refusal(403, f"client certificate O {certificate.organization!r} is not {organization!r}")
    return None


def certificate_revoked(*, serial: str) -> bool:
    """Whether a certificate this CA issued (by its serial, hex) is revoked:
    for whatever checks client certificates."""
    return RevokedCertificateSerial.objects.filter(serial=serial.lower().lstrip("0") or "0").exists()


def revocation_refusal(certificate: ClientCertificate | None) -> Refusal | None:
    """A presented client certificate that was revoked (None: it was not, or
    none was presented). Queries the database only when there is one."""
    if certificate is None or not certificate.serial or not certificate_revoked(serial=certificate.serial):
        return None
    return Refusal(403, f"certificate revoked (serial {certificate.serial})")


def security_event_record(*, charger_id: str, status: str, reason: str) -> None:
    """A security event of the central system's own about a known charger (a
    takeover refused), kept with the charger's SecurityEventNotifications."""
    charger = Charger.objects.filter(charger_id=charger_id).only("pk").first()
    if charger is None:
        return
    ChargerEvent.objects.create(
        charger=charger,
        kind=ChargerEventKind.SECURITY,
        status=clip(status, 60),
        payload={"reason": reason, "source": "central system"},
        timestamp=timezone.now(),
    )
