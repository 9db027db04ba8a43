"""What a simulated charge point is: plain settings, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit


@dataclass
class SimulatorConfig:
    """Settings of one simulated charge point.

    The charger id is the last non-empty segment of `cp_path` (as the central
    system reads it), unless `charge_point_id` is given.
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
    serial: str = "SIM-0001"
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
    # Voltage per phase and number of phases, for the current and power values.
    voltage: float = 230.0
    phases: int = 3
    # State of charge of the simulated car at plug-in and its battery (kWh).
    soc_start: float = 20.0
    battery_kwh: float = 60.0
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

    @property
    def ws_url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.ws_port}/{self.cp_path.lstrip('/')}"

    @property
    def cp_id(self) -> str:
        if self.charge_point_id:
            return self.charge_point_id
        segments = [s for s in self.cp_path.split("?", 1)[0].split("/") if s]
        return unquote(segments[-1]) if segments else "CP1"

    @classmethod
    def from_url(cls, url: str, **kwargs) -> SimulatorConfig:
        """`ws://host:port/path/ID` -> host, port, scheme and path."""
        parts = urlsplit(url)
        if parts.scheme not in ("ws", "wss"):
            raise ValueError(f"not a WebSocket URL (ws:// or wss://): {url!r}")
        if not parts.hostname:
            raise ValueError(f"no host in {url!r}")
        port = parts.port or (443 if parts.scheme == "wss" else 80)
        path = parts.path.lstrip("/")
        if parts.query:
            path += "?" + parts.query
        if not [s for s in parts.path.split("/") if s] and not parts.query:
            raise ValueError(f"no charger id in {url!r} (expected ws://host:port/.../<charger id>)")
        return cls(host=parts.hostname, ws_port=port, cp_path=path, scheme=parts.scheme, **kwargs)
