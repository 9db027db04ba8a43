"""The message log of one charger, a page at a time, optionally searched."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast

from ocpp_app.lib import jsontext
from ocpp_app.models import MessageLog
from ocpp_app.selectors.common import filter_given
from ocpp_app.services.secrets import redact

# The most messages one search page reads: a substring of the payload has no
# index, so a search walks the charger's log (within the other filters,
# newest first from the cursor) this far at most, then offers to go on.
SEARCH_WINDOW = 5000


@dataclass
class LogPage:
    rows: list[MessageLog]
    newer_cursor: int | None  # ?after=  (None: this is the newest page)
    older_cursor: int | None  # ?before= (None: nothing older)
    # A search that read SEARCH_WINDOW messages before it found a page of
    # matches: it stopped there, and the cursor that points past the window
    # goes on searching (older_cursor, or newer_cursor when walking ?after=).
    window_full: bool = False
    walking_newer: bool = False  # the page was read from ?after=


def message_log_page(
    *,
    charger_id: str,
    action: str = "",
    direction: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    before: int | None = None,
    after: int | None = None,
    text: str = "",
    limit: int = 100,
) -> LogPage:
    """Keyset pagination on (charger_id, -id): each page is an index range scan,
    as fast on page 1000 as on page 1 (no OFFSET, no COUNT). `text` keeps the
    messages whose payload contains it (case-insensitive), reading at most
    SEARCH_WINDOW messages per page. Payloads are shown redacted."""
    qs = filter_given(
        MessageLog.objects.filter(charger_id=charger_id),
        action=action,
        direction=direction,
        timestamp__gte=since,
        timestamp__lt=until,
    )
    if text:
        return _search_page(qs, text, before=before, after=after, limit=limit)
    if after is not None:
        # Walking towards newer rows: ascending, then shown newest first.
        rows = list(qs.filter(id__gt=after).order_by("id")[: limit + 1])
        has_more_newer = len(rows) > limit
        rows = _shown(rows[:limit][::-1])
        newer = rows[0].id if rows and has_more_newer else None
        older = rows[-1].id if rows else after + 1
        return LogPage(rows=rows, newer_cursor=newer, older_cursor=older)
    if before is not None:
        qs = qs.filter(id__lt=before)
    rows = list(qs.order_by("-id")[: limit + 1])
    has_more_older = len(rows) > limit
    rows = _shown(rows[:limit])
    return LogPage(
        rows=rows,
        newer_cursor=(rows[0].id if rows else before - 1) if before is not None else None,
        older_cursor=rows[-1].id if rows and has_more_older else None,
    )


def _search_page(qs: QuerySet[MessageLog], text: str, *, before: int | None, after: int | None, limit: int) -> LogPage:
    """Two index range scans: where the window of SEARCH_WINDOW messages from
    the cursor ends, then the matches inside it."""
    walking_newer = after is not None
    if walking_newer:
        scope = qs.filter(id__gt=after).order_by("id")
    else:
        scope = (qs.filter(id__lt=before) if before is not None else qs).order_by("-id")
    edge = list(scope.values_list("id", flat=True)[SEARCH_WINDOW - 1 : SEARCH_WINDOW])
    window = scope
    if edge:
        window = scope.filter(id__lte=edge[0]) if walking_newer else scope.filter(id__gte=edge[0])
    found = list(window.annotate(payload_text=Cast("payload", TextField())).filter(_contains_q(text))[: limit + 1])
    more_matches = len(found) > limit
    found = found[:limit]
    # Where the next page of this search starts: after the last match when
    # there are more, else past the window when it was full.
    onward = found[-1].id if more_matches else (edge[0] if edge else None)
    window_full = bool(edge) and not more_matches
    if walking_newer:
        found = found[::-1]
        rows = _shown_matches(found, text)
        older = found[-1].id if found else after + 1
        return LogPage(rows=rows, newer_cursor=onward, older_cursor=older, window_full=window_full, walking_newer=True)
    rows = _shown_matches(found, text)
    newer = (found[0].id if found else before - 1) if before is not None else None
    return LogPage(rows=rows, newer_cursor=newer, older_cursor=onward, window_full=window_full)


def _text_forms(text: str) -> set[str]:
    """`text` as it can appear in a payload's stored JSON text: as typed, and
    escaped the ways JSON writers escape it (quotes and backslashes; and
    non-ASCII letters as \\u escapes, as Django writes JSON on SQLite)."""
    return {text, jsontext.dumps(text)[1:-1], json.dumps(text)[1:-1]}


def _contains_q(text: str) -> Q:
    condition = Q()
    for form in _text_forms(text):
        condition |= Q(payload_text__icontains=form)
    return condition


def _shown(rows: list[MessageLog]) -> list[MessageLog]:
    """Rows as pages and the API show them: a secret in a row written before
    the log was redacted on its way in is redacted here."""
    for row in rows:
        row.payload = redact(row.action, row.payload)
    return rows


def _shown_matches(rows: list[MessageLog], text: str) -> list[MessageLog]:
    """The matches as shown (redacted). A match must be in what is shown,
    never only in a redacted secret: a search would otherwise confirm a
    guessed key."""
    kept = []
    for row in rows:
        stored: Any = row.payload
        row.payload = redact(row.action, stored)
        if row.payload is stored or _json_contains(row.payload, text):
            kept.append(row)
    return kept


def _json_contains(value: Any, text: str) -> bool:
    dumps = [jsontext.dumps(value).casefold(), json.dumps(value).casefold()]
    return any(form.casefold() in dump for form in _text_forms(text) for dump in dumps)
