from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class IdTagInfo:
    """The authorization answer for one id tag (OCPP IdTagInfo)."""

    status: str
    expiry_date: datetime | None = None
    parent_id_tag: str | None = None


def clip(value: str | None, length: int) -> str:
    """Fit a charger-reported string into its column (schemas bound most of them,
    vendor extensions may not)."""
    return (value or "")[:length]
