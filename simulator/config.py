"""What a simulated charge point is: plain settings, no I/O."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from ocpp_app.lib.ids import QUERY_KEYS, charger_id_problem

# The central system's own id rule and the query keys it reads an id from
# (ocpp_app/lib/ids.py: pure Python, no Django).
ID_QUERY_KEYS = QUERY_KEYS

# chargePointSerialNumber in BootNotification is a CiString25Type.
SERIAL_MAX_LENGTH = 25

# The values ChargingScheduleAllowedChargingRateUnit may take.
RATE_UNIT_NAMES = ("Current", "Power")

# Characters a URL path segment may hold as they are (RFC 3986 pchar besides
# the unreserved ones, which quote() never escapes).
_PCHAR_SAFE = "!$&'()*+,;=:@"


def default_serial(charger_id: str) -> str:
    """`SIM-<charger id>`, so that every simulated charger reports its own
    serial number. Past 25 characters the id is cut and a hash of the whole
    id appended: ids that differ only in their tail keep different serials."""
    serial = f"SIM-{charger_id}"
    if len(serial) <= SERIAL_MAX_LENGTH:
        return serial
    digest = hashlib.sha256(charger_id.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{serial[: SERIAL_MAX_LENGTH - len(digest) - 1]}-{digest}"


@dataclass
class SimulatorConfig:
    """Settings of one simulated charge point.

    The charger id is the last non-empty segment of `cp_path` (as the central
    system reads it), unless `charge_point_id` is given: then the simulator
    connects as that id, which replaces the last segment of `cp_path` (or is
    appended to a `cp_path` ending in '/'), percent-encoded where needed.
    Without `serial`, the serial number is derived from the charger id.
    """

    host: str = "127.0.0.1"
    ws_port: int = 8000
    cp_path: str = "CP1/"
    scheme: str = "ws"
    # Basic-auth key (Security Profile 1/2); the user name is the charger id.
    password: str | None = None
    charge_point_id: str | None = None
    vendor: str = "Simulator"
    model: str = "SimCP"
    # chargePointSerialNumber; None: default_serial(cp_id).
    serial: str | None = None
    firmware_version: str = "1.0.0"
    connectors: int = 1
    # Tag presented for sessions; with a tag the charger sends Authorize first.
    rfid: str | None = None
    # Seconds between MeterValues.
    interval: float = 5.0
    # Energy one session delivers (kWh).
    kwh_max: float = 10.0
    # Maximum charging power (kW); a charging profile can lower it.
    power_kw: float = 11.0
    # How much faster than real time energy flows: at 60, one real second of
    # a session delivers one minute of charging, so the default 10 kWh at
    # 11 kW take about a minute instead of 55.
    speed: float = 60.0
    repeat: bool = False
    # Seconds between sessions in repeat mode.
    pause: float = 10.0
    # Voltage per phase and number of phases (1 or 3), for the current and
    # power values; power_kw over them is the charger's rated current.
    voltage: float = 230.0
    phases: int = 3
    # State of charge of the simulated car at plug-in and its battery (kWh).
    soc_start: float = 20.0
    battery_kwh: float = 60.0
    # The car's own maximum current per phase, and the seconds after plug-in
    # when it pauses by itself (SuspendedEV; None: never).
    ev_max_current: float = 32.0
    ev_pause_after: float | None = None
    # Whether the charger has the SmartCharging feature profile, and the
    # units its schedules may use (ChargingScheduleAllowedChargingRateUnit).
    smart_charging: bool = True
    rate_units: str = "Current,Power"
    # Reconnect back-off: first wait, doubling up to the maximum (s).
    reconnect_min: float = 1.0
    reconnect_max: float = 60.0
    # How long to wait for an answer to a CALL before treating it as lost (s).
    call_timeout: float = 30.0
    # On shutdown, how long to try delivering queued transaction messages (s).
    drain_timeout: float = 10.0
    # wss://: the PEM CA bundle to trust (default: the system's), and the
    # client certificate and key to present (security profile 3).
    ca_bundle: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    # Where a certificate obtained through SignCertificate is written (and
    # presented from on the next connection); the organisation (O) of its CSR.
    cert_dir: str | None = None
    organization: str = ""

    def __post_init__(self) -> None:
        if self.charge_point_id is not None:
            if (problem := charger_id_problem(self.charge_point_id)) is not None:
                raise ValueError(f"invalid charger id {self.charge_point_id!r}: {problem}")
            query = self.cp_path.partition("?")[2]
            for name, value in parse_qsl(query, keep_blank_values=True):
                if name.strip().lower() in ID_QUERY_KEYS and value.strip():
                    raise ValueError(
                        f"the URL names its charger in the query ({name}={value}), which a central system "
                        f"reads before the path: the charger id {self.charge_point_id!r} would be ignored"
                    )
        if self.serial is not None and len(self.serial) > SERIAL_MAX_LENGTH:
            raise ValueError(f"serial number longer than {SERIAL_MAX_LENGTH} characters: {self.serial!r}")
        if self.phases not in (1, 3):
            raise ValueError(f"phases must be 1 or 3, not {self.phases}")
        if not self.ev_max_current > 0:
            raise ValueError(f"the car's maximum current must be above 0 A, not {self.ev_max_current}")
        if self.ev_pause_after is not None and not self.ev_pause_after >= 0:
            raise ValueError(f"the car's pause must come 0 s or more after plug-in, not {self.ev_pause_after}")
        units = [u.strip() for u in self.rate_units.split(",")]
        if not units or any(u not in RATE_UNIT_NAMES for u in units) or len(set(units)) != len(units):
            raise ValueError(f"rate units must be Current, Power or Current,Power, not {self.rate_units!r}")
        self.rate_units = ",".join(units)

    @property
    def resource(self) -> str:
        """The path (and query) connected to, without its leading '/'."""
        path = self.cp_path.lstrip("/")
        if self.charge_point_id is None:
            return path
        path, mark, query = path.partition("?")
        head = path[: path.rfind("/") + 1]  # up to the last '/': the last segment goes
        return f"{head}{quote(self.charge_point_id, safe=_PCHAR_SAFE)}{mark}{query}"

    @property
    def ws_url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.ws_port}/{self.resource}"

    @property
    def serial_number(self) -> str:
        """The chargePointSerialNumber it reports."""
        return self.serial if self.serial is not None else default_serial(self.cp_id)

    @property
    def cp_id(self) -> str:
        if self.charge_point_id is not None:
            return self.charge_point_id
        segments = [s for s in self.cp_path.split("?", 1)[0].split("/") if s]
        return unquote(segments[-1]) if segments else "CP1"

    @classmethod
    def from_url(cls, url: str, **kwargs) -> SimulatorConfig:
        """`ws://host:port/path/ID` -> host, port, scheme and path. With
        `charge_point_id`, the URL's last segment is replaced by that id (a URL
        ending in '/' gets it appended)."""
        parts = urlsplit(url)
        if parts.scheme not in ("ws", "wss"):
            raise ValueError(f"not a WebSocket URL (ws:// or wss://): {url!r}")
        if not parts.hostname:
            raise ValueError(f"no host in {url!r}")
        port = parts.port or (443 if parts.scheme == "wss" else 80)
        path = parts.path.lstrip("/")
        if parts.query:
            path += "?" + parts.query
        named = kwargs.get("charge_point_id") is not None
        if not named and not [s for s in parts.path.split("/") if s] and not parts.query:
            raise ValueError(f"no charger id in {url!r} (expected ws://host:port/.../<charger id>)")
        return cls(host=parts.hostname, ws_port=port, cp_path=path, scheme=parts.scheme, **kwargs)
