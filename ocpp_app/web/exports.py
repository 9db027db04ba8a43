"""The transactions CSV export, shared by the sessions page and the REST API:
one column order, one formula-injection rule."""

import csv
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from django.db.models import QuerySet
from django.http import StreamingHttpResponse

from ocpp_app import selectors
from ocpp_app.lib.timeparse import format_datetime_utc
from ocpp_app.models import Transaction

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


def _energy(tx: Transaction) -> int | None:
    # What was delivered so far: a running session shows its energy too.
    energy = selectors.transaction_energy_so_far(tx)
    return None if energy is None else round(energy)


# The one definition of the transaction columns: their order and each cell.
# The sessions page's export, the REST API's export and the API's transaction
# resource (api/serializers.py: its fields are TRANSACTION_COLUMNS) all take
# it from here, so they cannot order their columns differently.
TRANSACTION_CELLS: dict[str, Callable[[Transaction], object]] = {
    "transaction_id": lambda tx: tx.pk,
    "charger_id": lambda tx: tx.charger.charger_id,
    "connector_id": lambda tx: tx.connector_id,
    "id_tag": lambda tx: tx.id_tag,
    "meter_start": lambda tx: tx.meter_start,
    "meter_stop": lambda tx: tx.meter_stop,
    "start_time": lambda tx: _iso(tx.start_time),
    "stop_time": lambda tx: _iso(tx.stop_time),
    "stop_reason": lambda tx: tx.stop_reason,
    "energy_wh": _energy,
}
TRANSACTION_COLUMNS = list(TRANSACTION_CELLS)


def transaction_row(tx: Transaction) -> list[object]:
    """One transaction as CSV cells, in TRANSACTION_COLUMNS order (needs
    transactions_with_live_values for the energy so far)."""
    return [cell(tx) for cell in TRANSACTION_CELLS.values()]


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
