"""Prometheus metrics of this process (one node), on prometheus_client's
default registry: served at /ocpp/metrics (web/ops.py) and, when
OCPP_METRICS_PORT is set, by `start_metrics_server` on a port of its own.

Each metric describes one process: with `serve --workers N` every worker is a
node of its own (its OCPP_NODE_ID), with its own numbers, so a scraper reads
each worker on its own port, never through the shared HTTP port (which would
give whichever worker the kernel picked).

Label values are bounded: an action is one of the OCPP 1.6 action names or
"other", an error code one of the 1.6 CALLERROR codes or "other", a command
status one of CommandStatus's; a charger id is never a label. The hot path
pays a dict lookup and an increment per frame: every labelled child it uses
is made once, here, and kept.
"""

from collections.abc import Callable

from django.conf import settings
from ocpp.v16.enums import Action
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest, start_http_server

from ocpp_app.models import CommandStatus

OTHER = "other"
ACTIONS = frozenset(action.value for action in Action)
# OCPP-J 1.6, section 4.2.3: the codes a CALLERROR may carry.
ERROR_CODES = frozenset(
    {
        "NotImplemented",
        "NotSupported",
        "InternalError",
        "ProtocolError",
        "SecurityError",
        "FormationViolation",
        "PropertyConstraintViolation",
        "OccurenceConstraintViolation",
        "TypeConstraintViolation",
        "GenericError",
    }
)
COMMAND_STATUSES = frozenset(CommandStatus.values)
LAYER_OPERATIONS = ("receive", "send", "group_send")
IN, OUT = "in", "out"

CHARGERS_CONNECTED = Gauge("ocpp_chargers_connected", "Charger sockets open on this node")
MESSAGES = Counter(
    "ocpp_messages_total",
    "OCPP CALLs by action: in = sent by chargers, out = sent by this node to chargers",
    ["action", "direction"],
)
CALLERRORS = Counter("ocpp_callerrors_sent_total", "CALLERRORs this node sent to chargers", ["error_code"])
BATCH_SIZE = Histogram(
    "ocpp_group_commit_batch_size",
    "Calls in one group-commit batch (one thread hop, one transaction)",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500),
)
BATCH_SECONDS = Histogram(
    "ocpp_group_commit_batch_seconds",
    "Seconds from a group-commit batch's hop to the writer thread to its commit",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
DATABASE_ERRORS = Counter(
    "ocpp_database_errors_total",
    "Group-commit batches that failed on a database error, or whose hop to the writer thread failed",
)
LAYER_ERRORS = Counter("ocpp_channel_layer_errors_total", "Channel-layer operations that failed", ["operation"])
COMMAND_SECONDS = Histogram(
    "ocpp_command_seconds",
    "Seconds from an operator command's CALL to its outcome",
    ["action"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0),
)
COMMANDS = Counter("ocpp_commands_total", "Operator commands by action and outcome", ["action", "status"])
NODE_INFO = Gauge("ocpp_node_info", "This node's OCPP_NODE_ID (always 1)", ["node_id"])
ALERT_CHANNELS = ("webhook", "email")
ALERT_OUTCOMES = ("delivered", "retry", "failed")
ALERT_DELIVERIES = Counter(
    "ocpp_alert_deliveries_total",
    "Alert delivery attempts this node made, by channel (webhook, email) and outcome: delivered, "
    "retry (failed, tried again later), failed (for good)",
    ["channel", "outcome"],
)
ALERT_QUEUE_DEPTH = Gauge(
    "ocpp_alert_queue_depth", "Alert deliveries waiting to be sent (the whole cluster's queue, as last counted here)"
)
ALERT_EVENTS_DROPPED = Counter(
    "ocpp_alert_events_dropped_total",
    "Charger events an alert wanted that this node could not queue (its memory bound reached while the "
    "database was away, or a batch the database refused)",
)

NODE_INFO.labels(node_id=settings.OCPP_NODE_ID).set(1)

# The children of the hot path, made once (labels() takes a lock and builds a
# key on every call).
_calls_in = {action: MESSAGES.labels(action, IN) for action in ACTIONS}
_calls_out = {action: MESSAGES.labels(action, OUT) for action in ACTIONS}
_other_in = MESSAGES.labels(OTHER, IN)
_other_out = MESSAGES.labels(OTHER, OUT)
_errors = {code: CALLERRORS.labels(code) for code in ERROR_CODES}
_other_error = CALLERRORS.labels(OTHER)
_layer_errors = {operation: LAYER_ERRORS.labels(operation) for operation in LAYER_OPERATIONS}
_command_seconds: dict = {}
_commands: dict = {}
_alert_deliveries = {
    (channel, outcome): ALERT_DELIVERIES.labels(channel, outcome)
    for channel in ALERT_CHANNELS
    for outcome in ALERT_OUTCOMES
}


def track_connected(count: Callable[[], int]) -> None:
    """`count()` gives the chargers connected on this node when scraped."""
    CHARGERS_CONNECTED.set_function(count)


def call_received(action: str) -> None:
    """A charger sent a CALL."""
    _calls_in.get(action, _other_in).inc()


def call_sent(action: str) -> None:
    """This node sent a CALL to a charger."""
    _calls_out.get(action, _other_out).inc()


def callerror_sent(code: str) -> None:
    """This node answered a charger's frame with a CALLERROR."""
    _errors.get(code, _other_error).inc()


def batch_committed(size: int, seconds: float) -> None:
    """A group-commit batch of `size` calls came back from the writer thread."""
    BATCH_SIZE.observe(size)
    BATCH_SECONDS.observe(seconds)


def database_error() -> None:
    DATABASE_ERRORS.inc()


def layer_error(operation: str) -> None:
    """A channel-layer `operation` (receive, send, group_send) failed."""
    _layer_errors[operation].inc()


def command_observed(action: str, status: str, seconds: float) -> None:
    """An operator command ended with `status` (a CommandStatus value)
    `seconds` after it was sent."""
    action = action if action in ACTIONS else OTHER
    status = status if status in COMMAND_STATUSES else OTHER
    histogram = _command_seconds.get(action)
    if histogram is None:
        histogram = _command_seconds.setdefault(action, COMMAND_SECONDS.labels(action))
    counter = _commands.get((action, status))
    if counter is None:
        counter = _commands.setdefault((action, status), COMMANDS.labels(action, status))
    histogram.observe(seconds)
    counter.inc()


def alert_delivery(channel: str, outcome: str) -> None:
    """An alert delivery attempt ended (`outcome`: delivered, retry, failed)."""
    counter = _alert_deliveries.get((channel, outcome))
    if counter is not None:
        counter.inc()


def alert_queue_depth(pending: int) -> None:
    ALERT_QUEUE_DEPTH.set(pending)


def alert_events_dropped(count: int) -> None:
    ALERT_EVENTS_DROPPED.inc(count)


def exposition() -> tuple[bytes, str]:
    """The metrics in Prometheus's text format, and its content type."""
    return generate_latest(), CONTENT_TYPE_LATEST


def start_metrics_server(port: int, host: str):
    """Serve the metrics without authentication on host:port from a daemon
    thread (prometheus_client's own server); returns (server, thread)."""
    return start_http_server(port, addr=host)
