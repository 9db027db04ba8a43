"""The transactions CSV export, shared by the sessions page and the REST API:
one column order, one formula-injection rule."""

import csv
from collections.abc import Iterable, Iterator
from datetime import datetime

from django.db.models import QuerySet
from django.http import StreamingHttpResponse

from ocpp_app import selectors
from ocpp_app.lib.timeparse import format_datetime_utc
from ocpp_app.models import Transaction

# The columns of the export, which are also the fields of the API's
# transaction resource, in its order (docs/api.md).
TRANSACTION_COLUMNS = [
    "transaction_id",
    "charger_id",
    "connector_id",
    "id_tag",
    "meter_start",
    "meter_stop",
    "start_time",
    "stop_time",
    "stop_reason",
    "energy_wh",
]

# A spreadsheet runs a cell starting with one of these as a formula (OWASP
# "CSV injection"); id tags, stop reasons and charger ids come from chargers.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """A cell a spreadsheet shows as text: text starting like a formula gets a
    leading quote, even when it looks like a number ("-1" as an id tag is
    text). Numbers are written as they are: they cannot be a formula."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _iso(value: datetime | None) -> str:
    # The API's JSON form of a time: UTC with a Z, to the microsecond.
    return "" if value is None else format_datetime_utc(value)


def transaction_row(tx: Transaction) -> list[object]:
    """One transaction as CSV cells; energy is what was delivered so far, so a
    running session shows its energy too (needs transactions_with_live_values)."""
    energy = selectors.transaction_energy_so_far(tx)
    return [
        tx.pk,
        tx.charger.charger_id,
        tx.connector_id,
        tx.id_tag,
        tx.meter_start,
        tx.meter_stop,
        _iso(tx.start_time),
        _iso(tx.stop_time),
        tx.stop_reason,
        None if energy is None else round(energy),
    ]


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(header: list[str], rows: Iterable[list[object]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([csv_cell(cell) for cell in row])


def transactions_csv_response(qs: QuerySet[Transaction], *, filename: str) -> StreamingHttpResponse:
    """Stream the transactions of `qs` as a CSV download."""
    qs = selectors.transactions_with_live_values(qs)
    rows = (transaction_row(tx) for tx in qs.iterator(chunk_size=2000))
    response = StreamingHttpResponse(csv_lines(TRANSACTION_COLUMNS, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
