"""Reads shared by the pages, the dashboard socket, the API and the admin, one
module per subject; every name is importable from `ocpp_app.selectors`.

Every function here runs a fixed number of queries whatever the number of
chargers, connectors or readings (tests assert it): annotations and
prefetches instead of per-row lookups.
"""

from ocpp_app.selectors.certificates import (
    CERTIFICATE_ACTIONS,
    charger_certificates,
    issued_certificates_filtered,
)
from ocpp_app.selectors.chargers import (
    CHARGING_STATUSES,
    FAULT_STATUSES,
    LIST_DEFER,
    LIVENESS,
    STATES,
    DashboardCounts,
    chargers_with_details,
    configuration_rows,
    connector_has_fault,
    dashboard_chargers,
    dashboard_counts,
    dashboard_map_points,
    dashboard_vendors,
    decorate_charger,
    heard_recently_q,
    last_seen_at,
    marker_colour,
    state_of,
)
from ocpp_app.selectors.common import filter_given
from ocpp_app.selectors.message_log import LogPage, message_log_page
from ocpp_app.selectors.transactions import (
    charger_transactions,
    decorate_transaction,
    mask_id_tag,
    meter_readings_filtered,
    to_w,
    to_wh,
    transaction_chart_series,
    transaction_energy_so_far,
    transaction_power_w,
    transactions_filtered,
    transactions_with_live_values,
)

__all__ = [
    "CERTIFICATE_ACTIONS",
    "CHARGING_STATUSES",
    "FAULT_STATUSES",
    "LIST_DEFER",
    "LIVENESS",
    "STATES",
    "DashboardCounts",
    "charger_certificates",
    "issued_certificates_filtered",
    "LogPage",
    "charger_transactions",
    "chargers_with_details",
    "configuration_rows",
    "connector_has_fault",
    "dashboard_chargers",
    "dashboard_counts",
    "dashboard_map_points",
    "dashboard_vendors",
    "decorate_charger",
    "decorate_transaction",
    "filter_given",
    "heard_recently_q",
    "last_seen_at",
    "marker_colour",
    "mask_id_tag",
    "message_log_page",
    "meter_readings_filtered",
    "state_of",
    "to_w",
    "to_wh",
    "transaction_chart_series",
    "transaction_energy_so_far",
    "transaction_power_w",
    "transactions_filtered",
    "transactions_with_live_values",
]
