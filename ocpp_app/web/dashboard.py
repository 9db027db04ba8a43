"""The browser side of live updates: a WebSocket for viewers (services/roles.py)
that joins the "ocpp.dashboard" group (events.publish) and pushes re-rendered
dashboard rows.

Events are coalesced per charger for OCPP_DASHBOARD_THROTTLE seconds: a busy
charger sending MeterValues every second costs one render per window, and ten
chargers changing at once cost one query batch, not ten.
"""

import asyncio
import contextlib
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.template.loader import render_to_string

from ocpp_app import selectors
from ocpp_app.lib.timeparse import format_datetime_utc
from ocpp_app.models import Charger
from ocpp_app.runtime.events import DASHBOARD_GROUP
from ocpp_app.services import roles

logger = logging.getLogger(__name__)


# Kinds that may bring a charger the page does not show yet (a first
# connection): its row is sent so the page can add it.
NEW_CHARGER_KINDS = ("connected", "boot")
MAX_FOLLOWED = 500


def _utc(value) -> str | None:
    return None if value is None else format_datetime_utc(value, timespec="seconds")


def dashboard_update(
    charger_ids: list[str], kinds: dict[str, list[str]] | None = None, *, point_ids: list[str] = ()
) -> dict:
    """What the browser needs after some chargers changed: each one's rendered
    dashboard row, connector statuses and map marker, plus the new counts;
    for `point_ids` (changed chargers the page does not show) only their map
    markers. A fixed number of queries for any number of chargers."""
    kinds = kinds or {}
    chargers = selectors.chargers_with_details(Charger.objects.filter(charger_id__in=charger_ids))
    points = {p["id"]: p for p in selectors.dashboard_map_points(charger_ids=[*charger_ids, *point_ids])}
    updates = []
    for charger in chargers:
        charger = selectors.decorate_charger(charger)
        updates.append(
            {
                "charger_id": charger.charger_id,
                "state": charger.current_state,
                "vendor": charger.vendor,
                "kinds": kinds.get(charger.charger_id, []),
                "connectors": [
                    {
                        "id": c.connector_id,
                        "status": c.status,
                        "error_code": c.error_code,
                        "vendor_error_code": c.vendor_error_code,
                        "vendor_id": c.vendor_id,
                        "info": c.info,
                    }
                    for c in charger.connectors.all()
                ],
                "last_heartbeat": _utc(charger.last_heartbeat),
                "last_seen": _utc(charger.last_seen_at),
                "html": render_to_string("ocpp/_charger_row.html", {"charger": charger}),
                "point": points.get(charger.charger_id),
            }
        )
    counts = selectors.dashboard_counts()
    found = {u["charger_id"] for u in updates}
    return {
        "type": "update",
        "chargers": updates,
        # Deleted meanwhile (or never existed): the page drops their rows.
        "removed": [cid for cid in charger_ids if cid not in found],
        "points": [points[cid] for cid in point_ids if cid in points],
        "counts": counts.__dict__,
        "counts_html": render_to_string("ocpp/_counts.html", {"counts": counts}),
    }


class DashboardConsumer(AsyncJsonWebsocketConsumer):
    """Until the page says what it shows, it gets rows for every changed
    charger. The dashboard then follows its visible rows plus new chargers
    ({"only": [...], "follow_new": true}): other chargers' changes cost only a
    map marker and the counts, so thousands of busy chargers do not mean
    thousands of re-rendered rows. A charger page follows one charger."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        # The permission lookup reads the database: off the event loop.
        if not await database_sync_to_async(roles.can_view)(user):
            await self.close()  # before accept: the handshake is refused (403)
            return
        self.pending: dict[str, list[str]] = {}
        self.pending_points: set[str] = set()
        self.counts_asked = False  # a refresh was asked for: send the counts even with no rows
        self.only: set[str] | None = None  # None: every charger
        self.follow_new = False
        self.flush_task: asyncio.Task | None = None
        await self.channel_layer.group_add(DASHBOARD_GROUP, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "throttle": settings.OCPP_DASHBOARD_THROTTLE})

    async def disconnect(self, code) -> None:
        task = getattr(self, "flush_task", None)
        if task is not None:
            task.cancel()
        await self.channel_layer.group_discard(DASHBOARD_GROUP, self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        # A browser says which chargers it follows ({"only": [...]}, and
        # "follow_new" for the dashboard) and may ask for fresh rows now
        # ({"refresh": [...]}).
        if not isinstance(content, dict):
            return
        only = content.get("only")
        if isinstance(only, list):
            self.only = {cid for cid in only[:MAX_FOLLOWED] if isinstance(cid, str)}
            self.follow_new = bool(content.get("follow_new"))
        ids = content.get("refresh")
        if isinstance(ids, list):
            for cid in ids[:MAX_FOLLOWED]:
                if isinstance(cid, str):
                    self.pending.setdefault(cid, [])
            # A page that shows no rows still shows counts and markers: it
            # gets an update after its refresh too (once back after an outage).
            self.counts_asked = True
            self._schedule()

    async def charger_events(self, message: dict) -> None:
        """A batch of charger events from ocpp_app.runtime.events (one per process and
        flush interval)."""
        for event in message.get("events") or []:
            if isinstance(event, dict):
                await self.charger_event(event)

    async def charger_event(self, event: dict) -> None:
        charger_id, kind = event.get("charger_id"), event.get("kind")
        if not isinstance(charger_id, str):
            return
        if self.only is not None and charger_id not in self.only:
            if not self.follow_new:
                return
            if kind not in NEW_CHARGER_KINDS or len(self.only) >= MAX_FOLLOWED:
                self.pending_points.add(charger_id)  # marker and counts only
                self._schedule()
                return
            self.only.add(charger_id)
        kinds = self.pending.setdefault(charger_id, [])
        if kind not in kinds:
            kinds.append(kind)
        self._schedule()

    def _schedule(self) -> None:
        # Never await a database read inside the event handler: Channels runs
        # one handler at a time per consumer, so a slow render would queue up
        # every other event. Batch in a task instead.
        if self.flush_task is None or self.flush_task.done():
            self.flush_task = asyncio.create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(settings.OCPP_DASHBOARD_THROTTLE)
        while self.pending or self.pending_points or self.counts_asked:
            self.counts_asked = False
            batch, self.pending = self.pending, {}
            points, self.pending_points = self.pending_points - set(batch), set()
            try:
                update = await database_sync_to_async(dashboard_update)(list(batch), batch, point_ids=sorted(points))
            except Exception:
                logger.exception("dashboard update failed for %s", list(batch))
                return
            with contextlib.suppress(Exception):  # the browser went away meanwhile
                await self.send_json(update)
