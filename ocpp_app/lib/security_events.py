"""The security events of the OCPP 1.6 Security Whitepaper (section 8) that
are critical: a charger pushes those to the central system at once with
SecurityEventNotification, and an operator must see them. The one list for
the pages, the API and the dashboard; the flag is derived from the event
type when it is read, so the list can change without touching stored rows.

The standard names the list; any other type (a vendor's own) is kept and
shown, never flagged. Unlike OCPP 2.x, InvalidFirmwareSignature and the
certificate and TLS events are not critical in 1.6.
"""

CRITICAL_SECURITY_EVENTS: frozenset[str] = frozenset(
    {
        "FirmwareUpdated",
        "SettingSystemTime",
        "StartupOfTheDevice",
        "ResetOrReboot",
        "SecurityLogWasCleared",
        "MemoryExhaustion",
        "TamperDetectionActivated",
    }
)


def is_critical_security_event(event_type: object) -> bool:
    return isinstance(event_type, str) and event_type in CRITICAL_SECURITY_EVENTS
