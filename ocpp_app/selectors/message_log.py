"""The message log of one charger, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ocpp_app.models import MessageLog
from ocpp_app.selectors.common import filter_given


@dataclass
class LogPage:
    rows: list[MessageLog]
    newer_cursor: int | None  # ?after=  (None: this is the newest page)
    older_cursor: int | None  # ?before= (None: nothing older)


def message_log_page(
    *,
    charger_id: str,
    action: str = "",
    direction: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    before: int | None = None,
    after: int | None = None,
    limit: int = 100,
) -> LogPage:
    """Keyset pagination on (charger_id, -id): each page is an index range scan,
    as fast on page 1000 as on page 1 (no OFFSET, no COUNT)."""
    qs = filter_given(
        MessageLog.objects.filter(charger_id=charger_id),
        action=action,
        direction=direction,
        timestamp__gte=since,
        timestamp__lt=until,
    )
    if after is not None:
        # Walking towards newer rows: ascending, then shown newest first.
        rows = list(qs.filter(id__gt=after).order_by("id")[: limit + 1])
        has_more_newer = len(rows) > limit
        rows = rows[:limit][::-1]
        newer = rows[0].id if rows and has_more_newer else None
        older = rows[-1].id if rows else after + 1
        return LogPage(rows=rows, newer_cursor=newer, older_cursor=older)
    if before is not None:
        qs = qs.filter(id__lt=before)
    rows = list(qs.order_by("-id")[: limit + 1])
    has_more_older = len(rows) > limit
    rows = rows[:limit]
    return LogPage(
        rows=rows,
        newer_cursor=(rows[0].id if rows else before - 1) if before is not None else None,
        older_cursor=rows[-1].id if rows and has_more_older else None,
    )
