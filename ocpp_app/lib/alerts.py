"""The pure rules of alerts (webhooks and e-mail): the event types an
operator may subscribe to, which published charger event is which alert, the
signature of a webhook body, the back-off between attempts and the rule a
webhook URL must satisfy. No Django: the settings, the models and the
services share them."""

import hashlib
import hmac
import ipaddress
import random
from urllib.parse import urlsplit

CHARGER_CONNECTED = "charger.connected"
CHARGER_OFFLINE = "charger.offline"
CONNECTOR_FAULTED = "connector.faulted"
TRANSACTION_STARTED = "transaction.started"
TRANSACTION_STOPPED = "transaction.stopped"
SECURITY_EVENT = "security.event"
EVENT_TYPES: tuple[str, ...] = (
    CHARGER_CONNECTED,
    CHARGER_OFFLINE,
    CONNECTOR_FAULTED,
    TRANSACTION_STARTED,
    TRANSACTION_STOPPED,
    SECURITY_EVENT,
)
# The test event of `POST /ocpp/webhooks/<id>/ping/`: sent whatever the
# webhook subscribed to, never subscribed to.
PING = "webhook.ping"

SIGNATURE_HEADER = "X-OCPP-Signature"
EVENT_HEADER = "X-OCPP-Event"
DELIVERY_HEADER = "X-OCPP-Delivery"

# Each wait is this many times the one before, up to the cap.
BACKOFF_FACTOR = 3.0
# A wait is drawn within this share either side of its nominal value, so
# that deliveries that failed together do not come back together.
BACKOFF_JITTER = 0.2

URL_MAX_LENGTH = 2000


def event_types_problem(values: object) -> str | None:
    """Why `values` is not a list of event types to subscribe to, naming the
    first bad one; None when it is one."""
    if not isinstance(values, list | tuple):
        return f"give a list of event types ({', '.join(EVENT_TYPES)})"
    if not values:
        return f"give at least one event type ({', '.join(EVENT_TYPES)})"
    for value in values:
        if value not in EVENT_TYPES:
            return f"unknown event type {value!r}: use {', '.join(EVENT_TYPES)}"
    return None


def alert_type(event: dict) -> str | None:
    """The alert a published charger event (runtime/events.py) is, if any:
    connected; disconnected (charger.offline); a StatusNotification with
    status Faulted; a transaction that started or stopped; a
    SecurityEventNotification."""
    kind = event.get("kind")
    if kind == "connected":
        return CHARGER_CONNECTED
    if kind == "disconnected":
        return CHARGER_OFFLINE
    if kind == "status":
        return CONNECTOR_FAULTED if event.get("status") == "Faulted" else None
    if kind == "transaction":
        state = event.get("state")
        return TRANSACTION_STARTED if state == "started" else TRANSACTION_STOPPED if state == "stopped" else None
    if kind == "security":
        return SECURITY_EVENT
    return None


def signature(secret: str, body: bytes) -> str:
    """The `X-OCPP-Signature` header of `body`: `sha256=<hex HMAC-SHA256>`."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def signature_matches(secret: str, body: bytes, header: str) -> bool:
    """What a receiver checks (in constant time)."""
    return hmac.compare_digest(signature(secret, body), header or "")


def retry_delay(attempt: int, *, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds to wait after failed attempt number `attempt` (1 for the
    first): base, 3 x base, 9 x base ... capped at `cap`, each within
    +/- BACKOFF_JITTER."""
    nominal = min(cap, base * BACKOFF_FACTOR ** max(0, attempt - 1))
    draw = (rng or random).uniform(1 - BACKOFF_JITTER, 1 + BACKOFF_JITTER)
    return max(0.0, nominal * draw)


def url_problem(url: object, allowed_hosts: list[str] | tuple[str, ...] = ()) -> str | None:
    """Why `url` cannot be a webhook's address; None when it can. http or
    https with a host, no user name or password in it (the secret signs the
    body instead: an address is shown to every operator), and, when
    `allowed_hosts` is not empty, a host it names: a name written the same
    (no DNS is asked) or an IP address within one of its networks."""
    if not isinstance(url, str) or not url:
        return "give an http:// or https:// URL"
    if len(url) > URL_MAX_LENGTH:
        return f"a URL of at most {URL_MAX_LENGTH} characters"
    if any(ch.isspace() or ord(ch) < 0x20 for ch in url):
        return "a URL holds no spaces or control characters"
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError as error:
        return f"not a URL ({error})"
    if parts.scheme not in ("http", "https"):
        return "only http:// and https:// URLs"
    if not host:
        return "the URL names no host"
    if parts.username is not None or parts.password is not None:
        return "no user name or password in the URL: receivers check the X-OCPP-Signature header"
    if allowed_hosts and not host_allowed(host, allowed_hosts):
        return f"the host {host!r} is not among the hosts webhooks may reach (OCPP_WEBHOOK_ALLOWED_HOSTS)"
    return None


def host_allowed(host: str, allowed_hosts: list[str] | tuple[str, ...]) -> bool:
    """Whether `host` (a URL's host, without brackets) is in `allowed_hosts`:
    names compared without case, IP addresses against networks."""
    host = host.lower().rstrip(".")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for entry in allowed_hosts:
        entry = entry.strip().lower().rstrip(".")
        if address is None:
            if host == entry:
                return True
            continue
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def allowed_hosts_problem(entries: list[str]) -> str | None:
    """Why a list of allowed hosts is malformed (a network that is not one,
    a name with a scheme or a path); None when it is fine."""
    for entry in entries:
        if "/" in entry:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                return f"{entry!r} is neither a host name nor an IP network"
        elif ":" in entry:
            try:
                ipaddress.ip_address(entry)
            except ValueError:
                return f"{entry!r} is neither a host name nor an IP address"
    return None
