"""The configuration keys a simulated charger exposes (OCPP 1.6 §9).

Each key has a value, a read-only flag and a kind that ChangeConfiguration
validates: a value a real charger would refuse is Rejected.
"""

from __future__ import annotations

from dataclasses import dataclass

SUPPORTED_PROFILES = "Core,FirmwareManagement,LocalAuthListManagement,Reservation,SmartCharging,RemoteTrigger"
SAMPLED_MEASURANDS = "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Current.Offered,Voltage,SoC"


@dataclass
class Key:
    value: str
    readonly: bool = False
    kind: str = "str"  # str, int, bool, csl (comma-separated list)


def default_keys(
    *,
    connectors: int,
    heartbeat_interval: int,
    sample_interval: float,
    smart_charging: bool = True,
    rate_units: str = "Current,Power",
) -> dict[str, Key]:
    """The keys of a charger; without the SmartCharging feature profile it
    neither lists it nor has that profile's keys, as a real one would not."""
    profiles = SUPPORTED_PROFILES if smart_charging else SUPPORTED_PROFILES.replace(",SmartCharging", "")
    keys = {
        "AllowOfflineTxForUnknownId": Key("false", kind="bool"),
        "AuthorizationCacheEnabled": Key("true", kind="bool"),
        "AuthorizeRemoteTxRequests": Key("false", kind="bool"),
        "ClockAlignedDataInterval": Key("0", kind="int"),
        "ConnectionTimeOut": Key("60", kind="int"),
        "ConnectorPhaseRotation": Key(",".join(f"{i}.RST" for i in range(connectors + 1)), kind="csl"),
        "GetConfigurationMaxKeys": Key("50", readonly=True, kind="int"),
        "HeartbeatInterval": Key(str(heartbeat_interval), kind="int"),
        "LocalAuthorizeOffline": Key("true", kind="bool"),
        "LocalPreAuthorize": Key("false", kind="bool"),
        "MeterValuesAlignedData": Key("Energy.Active.Import.Register", kind="csl"),
        "MeterValuesSampledData": Key(SAMPLED_MEASURANDS, kind="csl"),
        "MeterValueSampleInterval": Key(str(max(1, round(sample_interval))), kind="int"),
        "NumberOfConnectors": Key(str(connectors), readonly=True, kind="int"),
        "ResetRetries": Key("3", kind="int"),
        "StopTransactionOnEVSideDisconnect": Key("true", kind="bool"),
        "StopTransactionOnInvalidId": Key("true", kind="bool"),
        "StopTxnAlignedData": Key("", kind="csl"),
        "StopTxnSampledData": Key("Energy.Active.Import.Register", kind="csl"),
        "SupportedFeatureProfiles": Key(profiles, readonly=True, kind="csl"),
        "TransactionMessageAttempts": Key("3", kind="int"),
        "TransactionMessageRetryInterval": Key("10", kind="int"),
        "UnlockConnectorOnEVSideDisconnect": Key("true", kind="bool"),
        "WebSocketPingInterval": Key("20", kind="int"),
        "LocalAuthListEnabled": Key("true", kind="bool"),
        "LocalAuthListMaxLength": Key("100", readonly=True, kind="int"),
        "SendLocalListMaxLength": Key("100", readonly=True, kind="int"),
        "ReserveConnectorZeroSupported": Key("false", readonly=True, kind="bool"),
    }
    if smart_charging:
        keys |= {
            "ChargeProfileMaxStackLevel": Key("10", readonly=True, kind="int"),
            "ChargingScheduleAllowedChargingRateUnit": Key(rate_units, readonly=True, kind="csl"),
            "ChargingScheduleMaxPeriods": Key("24", readonly=True, kind="int"),
            "MaxChargingProfilesInstalled": Key("10", readonly=True, kind="int"),
        }
    return keys


def valid_value(kind: str, value: str) -> bool:
    if kind == "int":
        try:
            return int(value.strip()) >= 0
        except ValueError:
            return False
    if kind == "bool":
        return value.strip().lower() in ("true", "false")
    return len(value) <= 500
