"""Live updates for browsers: every change a charger reports is announced on
one channel-layer group, so a dashboard served by any worker process (Redis
layer) sees it without reloading."""

import logging

from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)
DASHBOARD_GROUP = "ocpp.dashboard"


async def publish(charger_id: str, kind: str, **data) -> None:
    """Announce that `charger_id` changed (`kind`: connected, disconnected,
    boot, status, transaction, meter, heartbeat, ...). Never fails the caller."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        await layer.group_send(
            DASHBOARD_GROUP, {"type": "charger.event", "charger_id": charger_id, "kind": kind, **data}
        )
    except Exception:  # a broken layer must not break the charger's session
        logger.exception("could not publish %s for %s", kind, charger_id)
