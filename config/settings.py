"""Settings, all from the environment, with defaults that run on a fresh machine.

Embedded defaults: a SQLite file in the project and the in-memory channel
layer (one process). Production: DATABASE_URL (PostgreSQL) and REDIS_URL
(channels_redis, many processes). Every variable is listed in the README.
"""

import importlib.util
import ipaddress
import math
import os
import secrets
import socket
import tempfile
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import validate_email

from ocpp_app.lib import alerts as alerts_rules
from ocpp_app.lib.keyfiles import KeyFileError, key_file

BASE_DIR = Path(__file__).resolve().parent.parent


# A malformed value stops the start-up with the variable's name and what it
# accepts: a typo such as DEBUG=ture or OCPP_CALL_TIMEOUT=30s must never turn
# silently into False or into the default. An unset or empty variable takes
# the default.
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def env_bool(name: str, default: bool) -> bool:
    value = _env(name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r}: use one of {', '.join(_TRUE + _FALSE)}")


def env_int(name: str, default: int) -> int:
    value = _env(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r}: use a whole number, e.g. {default}") from None


def env_float(name: str, default: float) -> float:
    value = _env(name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise ImproperlyConfigured(f"{name}={value!r}: use a number, e.g. {default}")
    return number


def env_list(name: str, default: str) -> list[str]:
    """Comma-separated values; blanks between commas are ignored."""
    value = os.environ.get(name)
    return [item.strip() for item in (default if value is None else value).split(",") if item.strip()]


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    """One of `choices`, compared without case; the lower-case form is returned."""
    value = _env(name)
    if value is None:
        return default
    if value.lower() not in choices:
        raise ImproperlyConfigured(f"{name}={value!r}: use one of {', '.join(choices)}")
    return value.lower()


DEBUG = env_bool("DEBUG", False)
# Where the server keeps what it makes for itself and must not lose: the key
# that encrypts secrets at rest, a generated SECRET_KEY, the charger CA made on
# first use, published firmware. Created with mode 0700; back it up.
DATA_DIR = Path(os.environ.get("OCPP_DATA_DIR") or BASE_DIR / "data")

# Without SECRET_KEY a random key is made on first start and kept in
# DATA_DIR/secret_key (mode 0600; every worker reads the same one), so `make
# run` needs no setup and no deployment ever runs on a key known to the world.
# Losing the file logs every operator out; nothing else depends on it.
SECRET_KEY = _env("SECRET_KEY")
if SECRET_KEY is None:
    try:
        SECRET_KEY = key_file(DATA_DIR / "secret_key", lambda: secrets.token_urlsafe(50).encode()).decode()
    except (OSError, KeyFileError, UnicodeDecodeError) as error:
        raise ImproperlyConfigured(
            f"SECRET_KEY is not set and {DATA_DIR / 'secret_key'} cannot be read or made ({error}): "
            "set SECRET_KEY, or make OCPP_DATA_DIR a writable directory"
        ) from None
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "*")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

# --- Served over HTTPS ---------------------------------------------------------------
# OCPP_HTTPS=1 says the pages and the API are reached over HTTPS (here or at a
# proxy): cookies only over HTTPS, HSTS, and plain-HTTP page requests
# redirected. Each setting also has its own variable. The redirect never
# touches the charger WebSockets (they are not HTTP requests to Django) nor
# the health check a load balancer probes over plain HTTP. Behind a proxy
# that terminates TLS, set OCPP_PROXY_SSL_HEADER to the header it sets
# (e.g. X-Forwarded-Proto, meaning "https"), or every request looks like
# plain HTTP and the redirect never ends; set it only when the proxy
# overwrites that header from clients.
OCPP_HTTPS = env_bool("OCPP_HTTPS", False)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", OCPP_HTTPS)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", OCPP_HTTPS)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", OCPP_HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^ocpp/health/$", r"^ocpp/health/ready$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if OCPP_HTTPS else 0)
if SECURE_HSTS_SECONDS < 0:
    raise ImproperlyConfigured(f"SECURE_HSTS_SECONDS={SECURE_HSTS_SECONDS}: use 0 (off) or more seconds")
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
_PROXY_SSL_HEADER = _env("OCPP_PROXY_SSL_HEADER")
if _PROXY_SSL_HEADER is not None:
    if not all(ch.isalnum() or ch == "-" for ch in _PROXY_SSL_HEADER):
        raise ImproperlyConfigured(
            f"OCPP_PROXY_SSL_HEADER={_PROXY_SSL_HEADER!r}: use a header name, e.g. X-Forwarded-Proto"
        )
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _PROXY_SSL_HEADER.upper().replace("-", "_"), "https")

INSTALLED_APPS = [
    "daphne",  # runserver speaks ASGI (WebSocket) in development
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "ocpp_app",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "ocpp_app.web.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "config.urls"

# django-leaflet is used for its assets and template tags only. It is not in
# INSTALLED_APPS because admin autodiscovery would import leaflet.admin, which
# imports GeoDjango and so needs the GDAL system library; our admin map widget
# (a plain lat/lng pair) needs neither.
LEAFLET_DIR = Path(importlib.util.find_spec("leaflet").origin).parent

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates", LEAFLET_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "ocpp_app.web.context_processors.roles_context",
            ],
            "libraries": {"leaflet_tags": "leaflet.templatetags.leaflet_tags"},
        },
    },
]

WSGI_APPLICATION = None
ASGI_APPLICATION = "config.asgi.application"

# --- Database -----------------------------------------------------------------
# Under ASGI every HTTP request runs on a thread of its own, so Django's
# persistent connections are not reused there (Django's docs: disable them and
# pool instead). The charger path is different: group commit runs on one
# thread that keeps its own connection open (runtime/group_commit.py), which is
# what keeps the hot path 7x faster than a connection per message. Both are
# Django connections made from DATABASES["default"]: this section is the one
# place that reads DATABASE_URL, and everything that connects follows it.
#
# A standby to fail over to is given the libpq way, as a host list
# (postgres://USER@db1:5432,db2:5432/NAME?target_session_attrs=read-write):
# psycopg tries the hosts in turn and keeps the first that takes writes, so
# after a standby's promotion every new connection lands on it
# (docs/scaling.md, PostgreSQL failover). dj-database-url reads one host only
# (host:port,host:port is no URL to urllib), so the list is taken apart here.
_POSTGRES_SCHEMES = ("postgres", "postgresql", "pgsql", "postgis")
# The sessions libpq may settle on that take writes: this server writes.
_WRITABLE_SESSIONS = ("read-write", "primary", "any")
# With several hosts, a host that is gone without a trace (a dead machine, no
# refusal) must not hold every connection attempt for TCP's own time-out
# (psycopg's default: 130 s) before the next host is tried.
_MULTI_HOST_CONNECT_TIMEOUT = 5


def _host_list(hosts: str) -> tuple[str, str]:
    """`db1:5432,[::1]:5433,db3` as libpq's HOST and PORT lists (a host
    without a port gets 5432, PostgreSQL's own)."""
    from urllib.parse import unquote

    names, ports = [], []
    for item in hosts.split(","):
        if item.startswith("["):
            name, closed, port = item[1:].partition("]")
            if not closed or (port and not port.startswith(":")):
                raise ImproperlyConfigured(f"DATABASE_URL: host {item!r} of the host list is not [IPv6]:PORT")
            port = port[1:]
        else:
            name, _, port = item.partition(":")
        name = unquote(name)
        if not name:
            raise ImproperlyConfigured("DATABASE_URL: the host list has an empty host (db1:5432,db2:5432)")
        if port and not (port.isdigit() and 1 <= int(port) <= 65535):
            raise ImproperlyConfigured(f"DATABASE_URL: host {name!r} has port {port!r}: use a number from 1 to 65535")
        names.append(name)
        ports.append(port or "5432")
    return ",".join(names), ",".join(ports)


def database_settings(url: str, *, conn_max_age: int = 0) -> dict:
    """DATABASES["default"] for a DATABASE_URL, host lists included. A
    malformed URL is an ImproperlyConfigured naming DATABASE_URL, never
    quoting the URL (it may hold a password)."""
    scheme, has_scheme, rest = url.partition("://")
    hosts = ""
    if has_scheme and scheme in _POSTGRES_SCHEMES:
        netloc_end = min((rest.index(mark) for mark in "/?#" if mark in rest), default=len(rest))
        userinfo, at, hosts = rest[:netloc_end].rpartition("@")
        if "," in hosts:
            # The first host stands in for the list while dj-database-url reads the rest.
            url = f"{scheme}://{userinfo}{at}{hosts.split(',')[0]}{rest[netloc_end:]}"
    try:
        config = dj_database_url.parse(url, conn_max_age=conn_max_age)
    except dj_database_url.UnknownSchemeError:
        what = f"unknown scheme {scheme!r}" if has_scheme else "no scheme"
        raise ImproperlyConfigured(
            f"DATABASE_URL: {what}: use postgres://USER:PASSWORD@HOST:PORT/NAME or sqlite:///PATH"
        ) from None
    except (dj_database_url.ParseError, ValueError):
        if hosts:
            _host_list(hosts)  # names a bad port, when that is what is wrong
        raise ImproperlyConfigured(
            "DATABASE_URL is not a valid URL (a character of the user name or password to "
            "percent-encode?): use postgres://USER:PASSWORD@HOST:PORT/NAME"
        ) from None
    if "," in hosts:
        config["HOST"], config["PORT"] = _host_list(hosts)
        options = config.setdefault("OPTIONS", {})
        # Without it libpq keeps the first host that answers, a standby too,
        # and every write fails there.
        options.setdefault("target_session_attrs", "read-write")
        options.setdefault("connect_timeout", _MULTI_HOST_CONNECT_TIMEOUT)
    attrs = config.get("OPTIONS", {}).get("target_session_attrs")
    if attrs is not None and attrs not in _WRITABLE_SESSIONS:
        raise ImproperlyConfigured(
            f"DATABASE_URL: target_session_attrs={attrs!r}: use {', '.join(_WRITABLE_SESSIONS)} "
            "(the server writes: a read-only session fails every write)"
        )
    return config


DATABASES = {
    "default": database_settings(
        _env("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool("DB_POOL", True):
    # psycopg's pool: an HTTP request borrows a connection instead of opening one.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env_int("DB_POOL_MIN", 2),
        "max_size": env_int("DB_POOL_MAX", 20),
        "timeout": 10,
        # A failed connection attempt is retried after 1, 2, 4, 8 ... s, so
        # after a long outage the first try at the database that came back (a
        # promoted standby) could wait about as long again. Giving up after
        # 5 s starts a fresh attempt at the next borrower's demand instead:
        # back within 2 s of a promotion (ocpp_app/tests/faults/test_postgres_failover.py).
        "reconnect_timeout": 5,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django refuses persistent connections with a pool
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the dashboard read while the OCPP writer writes; IMMEDIATE
    # transactions avoid "database is locked" on read-then-write upgrades.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # ChannelsLiveServerTestCase and our end-to-end server process both need a
    # file, never an in-memory test database.
    # One file per test run, so that parallel runs never share one (and a
    # recycled pid never meets a previous run's -wal/-shm files).
    DATABASES["default"]["TEST"] = {
        "NAME": os.environ.get("SQLITE_TEST_NAME")
        or str(Path(tempfile.gettempdir()) / f"ocpp_test_{os.getpid()}_{os.urandom(4).hex()}.sqlite3")
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channels -------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "").strip()
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                # Default capacity 100 silently drops messages to a busy channel.
                "capacity": env_int("CHANNEL_CAPACITY", 5000),
                # Default group_expiry (1 day) silently drops long-lived members.
                "group_expiry": 10 * 365 * 86400,
            },
        }
    }
else:
    # channels' in-memory layer with its O(channels) expiry scan rate-limited.
    CHANNEL_LAYERS = {"default": {"BACKEND": "ocpp_app.runtime.layers.InMemoryChannelLayer"}}

# --- Auth, i18n, static -----------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "ocpp:login"  # the pages' own login: the admin's takes staff only
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# WhiteNoise warns on every request when STATIC_ROOT is missing; files are
# served from the finders until `collectstatic` fills it.
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static", LEAFLET_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from the finder when collectstatic was not run (make run).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- REST API --------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Reading for viewers, everything else for operators (ocpp_app/services/roles.py).
    "DEFAULT_PERMISSION_CLASSES": ["ocpp_app.api.permissions.NetworkRole"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "OCPP 1.6J Central System API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# --- Map (django-leaflet): Monterrey, Mexico when a charger has no position ----
LEAFLET_CONFIG = {
    "DEFAULT_CENTER": (25.6866, -100.3161),
    "DEFAULT_ZOOM": 12,
    "MIN_ZOOM": 2,
    "MAX_ZOOM": 19,
}

# --- OCPP --------------------------------------------------------------------------
# accept: auto-create unknown chargers and accept them; pending: auto-create as
# Pending until an operator accepts; reject: HTTP 404 before the upgrade.
OCPP_UNKNOWN_CHARGERS = env_choice("OCPP_UNKNOWN_CHARGERS", "accept", ("accept", "pending", "reject"))
OCPP_REQUIRE_AUTH = env_bool("OCPP_REQUIRE_AUTH", False)
# Security profile (0-3) of a charger whose own is unset; unset: 1 with
# OCPP_REQUIRE_AUTH, else 0 (services/security_profiles.py, docs/security.md).
OCPP_DEFAULT_SECURITY_PROFILE = env_int("OCPP_DEFAULT_SECURITY_PROFILE", 1 if OCPP_REQUIRE_AUTH else 0)
if OCPP_DEFAULT_SECURITY_PROFILE not in (0, 1, 2, 3):
    raise ImproperlyConfigured(f"OCPP_DEFAULT_SECURITY_PROFILE={OCPP_DEFAULT_SECURITY_PROFILE}: use 0, 1, 2 or 3")
# Profile 3: the client certificate's subject CN must be the charger id, and
# its O this organisation when set.
OCPP_CLIENT_CERT_CN_CHECK = env_bool("OCPP_CLIENT_CERT_CN_CHECK", True)
OCPP_CLIENT_CERT_ORGANIZATION = os.environ.get("OCPP_CLIENT_CERT_ORGANIZATION", "").strip()
# Reverse proxies (addresses or CIDRs) whose X-Forwarded-For/-Proto and
# client-certificate headers are believed; from any other peer they are ignored.
OCPP_TRUSTED_PROXIES = env_list("OCPP_TRUSTED_PROXIES", "")
for _proxy in OCPP_TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"OCPP_TRUSTED_PROXIES: {_proxy!r} is not an IP address or network (e.g. 10.0.0.0/8)"
        ) from None
# The headers a trusted proxy passes the client certificate in (nginx:
# $ssl_client_escaped_cert) and its verification result ($ssl_client_verify).
OCPP_PROXY_CLIENT_CERT_HEADER = os.environ.get("OCPP_PROXY_CLIENT_CERT_HEADER", "").strip() or "X-SSL-Client-Cert"
OCPP_PROXY_CLIENT_VERIFY_HEADER = os.environ.get("OCPP_PROXY_CLIENT_VERIFY_HEADER", "").strip() or "X-SSL-Client-Verify"
# Seconds a charger's live socket has to answer a ping before a newcomer
# without credentials may take its place.
OCPP_TAKEOVER_PING_TIMEOUT = env_float("OCPP_TAKEOVER_PING_TIMEOUT", 3.0)
# Seconds a client has, from connecting, to send its whole request head (slowloris).
OCPP_HANDSHAKE_TIMEOUT = env_float("OCPP_HANDSHAKE_TIMEOUT", 10.0)
OCPP_HEARTBEAT_INTERVAL = env_int("OCPP_HEARTBEAT_INTERVAL", 60)
OCPP_BOOT_RETRY_INTERVAL = env_int("OCPP_BOOT_RETRY_INTERVAL", 30)
# A connected charger silent for its heartbeat interval + this many seconds is "stale".
OCPP_STALE_GRACE = env_int("OCPP_STALE_GRACE", 30)
# What one frame may carry, so that no charger's frame stalls the others: a
# MeterValues is a few kB, and an offline queue is replayed one message per
# frame. A larger frame closes the socket (1009); a MeterValues or
# StopTransaction with more sampled values is answered
# OccurenceConstraintViolation and stores nothing.
OCPP_MAX_FRAME_BYTES = env_int("OCPP_MAX_FRAME_BYTES", 256 * 1024)
OCPP_MAX_SAMPLED_VALUES = env_int("OCPP_MAX_SAMPLED_VALUES", 1000)
OCPP_CALL_TIMEOUT = env_float("OCPP_CALL_TIMEOUT", 30.0)
# Dead peers: the kernel's TCP keepalive probes a socket silent for
# OCPP_TCP_KEEPALIVE seconds (then every 10 s, 3 times) and closes it when
# nobody answers; no Python runs for it. WebSocket pings from the server
# (OCPP_WS_PING_INTERVAL, 0 = off) also catch a peer whose TCP stack lives
# on while its application hangs, at a cost: 10 000 idle chargers pinged
# every 30 s keep ~12 % of a core busy. Chargers prove themselves alive
# with Heartbeats, and a charger that falls silent shows "stale".
OCPP_TCP_KEEPALIVE = env_int("OCPP_TCP_KEEPALIVE", 60)
OCPP_WS_PING_INTERVAL = env_float("OCPP_WS_PING_INTERVAL", 0.0)
OCPP_WS_PING_TIMEOUT = env_float("OCPP_WS_PING_TIMEOUT", 30.0)
# Accepted authorization for unknown tags on chargers without require_rfid.
OCPP_UNKNOWN_TAG_EXPIRY_HOURS = env_int("OCPP_UNKNOWN_TAG_EXPIRY_HOURS", 24)
# Vendor ids whose DataTransfer we accept (others answer UnknownVendorId).
OCPP_DATA_TRANSFER_VENDORS = env_list("OCPP_DATA_TRANSFER_VENDORS", "")
# How the message log writer batches rows: flush at most this often (s).
OCPP_LOG_FLUSH_INTERVAL = env_float("OCPP_LOG_FLUSH_INTERVAL", 0.2)
# Handshakes of one process in the database stage at once (reconnect storms).
OCPP_HANDSHAKE_CONCURRENCY = env_int("OCPP_HANDSHAKE_CONCURRENCY", 200)
if OCPP_HANDSHAKE_CONCURRENCY < 1:
    raise ImproperlyConfigured(
        f"OCPP_HANDSHAKE_CONCURRENCY={OCPP_HANDSHAKE_CONCURRENCY}: use a whole number of 1 or more"
    )
# Identifies this server process in the connection records; at start-up a
# process marks the chargers its node held as offline. One process per host
# needs nothing; several workers on one host each set their own.
OCPP_NODE_ID = os.environ.get("OCPP_NODE_ID") or socket.gethostname()
# Seconds a node's lease lasts (services/nodes.py): every serving process
# renews it a third of that often; once it ran out, the chargers the node held
# are marked offline by whichever node notices first, and commands for them
# answer "not connected".
OCPP_NODE_LEASE = env_float("OCPP_NODE_LEASE", 30.0)
if OCPP_NODE_LEASE < 3:
    raise ImproperlyConfigured(f"OCPP_NODE_LEASE={OCPP_NODE_LEASE}: use 3 seconds or more")

# --- Retention (services/retention.py, manage.py prune) ------------------------------
# Message-log rows and command records older than this many days are deleted
# (0 keeps them forever); meter readings likewise (default 0: kept). A
# `serve` node prunes every OCPP_PRUNE_INTERVAL seconds (0: never; then run
# `manage.py prune` from cron), one node of a cluster at a time, in batches of
# OCPP_PRUNE_BATCH rows, each its own short transaction.
OCPP_MESSAGE_LOG_RETENTION_DAYS = env_int("OCPP_MESSAGE_LOG_RETENTION_DAYS", 30)
OCPP_METER_READING_RETENTION_DAYS = env_int("OCPP_METER_READING_RETENTION_DAYS", 0)
OCPP_PRUNE_INTERVAL = env_float("OCPP_PRUNE_INTERVAL", 3600.0)

# --- Site load management (services/load.py, management/load_manager.py) -------------
# How often the load manager looks at every circuit tree (seconds; 0: off).
OCPP_LOAD_INTERVAL = env_float("OCPP_LOAD_INTERVAL", 1.0)
# A TxProfile lapses this long after it was sent unless renewed (then the
# charger's fail-safe applies): the bound on how long an offline charger's
# last limit keeps counting.
OCPP_LOAD_PROFILE_DURATION = env_int("OCPP_LOAD_PROFILE_DURATION", 900)
# The chargingProfileId of the fail-safe; a connector's TxProfile is this + its connector id.
OCPP_LOAD_PROFILE_ID = env_int("OCPP_LOAD_PROFILE_ID", 31000)
# The stack level of the load manager's profiles: keep operators' own profiles on other levels.
OCPP_LOAD_STACK_LEVEL = env_int("OCPP_LOAD_STACK_LEVEL", 2)
# An EV drawing this many amperes below its limit passes the rest on (and gets it back near its limit).
OCPP_LOAD_MARGIN = env_float("OCPP_LOAD_MARGIN", 2.0)
# A session's limit is raised at most once per this many seconds (lowered at once).
OCPP_LOAD_MIN_INTERVAL = env_float("OCPP_LOAD_MIN_INTERVAL", 5.0)
# A charger that refused a profile is counted at its maximum, and tried again after this many seconds.
OCPP_LOAD_RETRY = env_float("OCPP_LOAD_RETRY", 600.0)
# A circuit's load is sampled for its chart every this many seconds.
OCPP_LOAD_SAMPLE_INTERVAL = env_float("OCPP_LOAD_SAMPLE_INTERVAL", 10.0)
OCPP_PRUNE_BATCH = env_int("OCPP_PRUNE_BATCH", 5000)
for _name in ("OCPP_MESSAGE_LOG_RETENTION_DAYS", "OCPP_METER_READING_RETENTION_DAYS"):
    if globals()[_name] < 0:
        raise ImproperlyConfigured(f"{_name}={globals()[_name]}: use a number of days, or 0 to keep everything")
if not 100 <= OCPP_PRUNE_BATCH <= 100_000:
    raise ImproperlyConfigured(f"OCPP_PRUNE_BATCH={OCPP_PRUNE_BATCH}: use a number of rows from 100 to 100000")

# --- Metrics (runtime/metrics.py) ---------------------------------------------------
# Prometheus text at /ocpp/metrics: for staff sessions, or with
# "Authorization: Bearer <OCPP_METRICS_TOKEN>" when a token is set. With
# OCPP_METRICS_PORT set, each node also serves them without authentication on
# OCPP_METRICS_HOST:OCPP_METRICS_PORT (worker i of `serve --workers` on port + i - 1),
# an address meant for the scraper's network only.
OCPP_METRICS_TOKEN = _env("OCPP_METRICS_TOKEN") or ""
OCPP_METRICS_HOST = _env("OCPP_METRICS_HOST") or "127.0.0.1"
OCPP_METRICS_PORT = env_int("OCPP_METRICS_PORT", 0)

# --- Charger certificate authority (services/certificates.py) ----------------------
# The CA that signs the chargers' SignCertificate requests: PEM files given
# here (both or neither), else one the server makes on first use in
# DATA_DIR/ca/. OCPP_CPO_NAME, when set, is the organisation (O) a charger's
# CSR must name; signed certificates are valid OCPP_CHARGER_CERT_DAYS days.
OCPP_CA_CERTFILE = _env("OCPP_CA_CERTFILE") or ""
OCPP_CA_KEYFILE = _env("OCPP_CA_KEYFILE") or ""
if bool(OCPP_CA_CERTFILE) != bool(OCPP_CA_KEYFILE):
    raise ImproperlyConfigured("OCPP_CA_CERTFILE and OCPP_CA_KEYFILE: set both (your own CA) or neither")
OCPP_CPO_NAME = _env("OCPP_CPO_NAME") or ""
OCPP_CHARGER_CERT_DAYS = env_int("OCPP_CHARGER_CERT_DAYS", 365)
if not 1 <= OCPP_CHARGER_CERT_DAYS <= 3650:
    raise ImproperlyConfigured(f"OCPP_CHARGER_CERT_DAYS={OCPP_CHARGER_CERT_DAYS}: use a number of days from 1 to 3650")

# --- Abuse limits (runtime/throttle.py, runtime/rate_limit.py, the message log) ---
# Failed Basic-auth attempts back off exponentially per client address and per
# charger id: after OCPP_AUTH_THROTTLE_FREE failures the next try waits
# BASE, 2*BASE, 4*BASE ... up to MAX seconds (HTTP 429 with Retry-After). A
# failure is forgotten WINDOW seconds after the last one. An address that
# authenticated as a charger within TRUST seconds is exempt from that
# charger's and its own address's back-off, so guessing cannot lock the real
# charger (or its neighbours behind one NAT) out. Shared by all processes
# through Redis when REDIS_URL is set.
OCPP_AUTH_THROTTLE = env_bool("OCPP_AUTH_THROTTLE", True)
OCPP_AUTH_THROTTLE_FREE = env_int("OCPP_AUTH_THROTTLE_FREE", 3)
OCPP_AUTH_THROTTLE_BASE = env_float("OCPP_AUTH_THROTTLE_BASE", 1.0)
OCPP_AUTH_THROTTLE_MAX = env_float("OCPP_AUTH_THROTTLE_MAX", 300.0)
OCPP_AUTH_THROTTLE_WINDOW = env_float("OCPP_AUTH_THROTTLE_WINDOW", 900.0)
OCPP_AUTH_THROTTLE_TRUST = env_float("OCPP_AUTH_THROTTLE_TRUST", 7 * 86400.0)
for _name in ("OCPP_AUTH_THROTTLE_BASE", "OCPP_AUTH_THROTTLE_MAX", "OCPP_AUTH_THROTTLE_WINDOW"):
    if globals()[_name] <= 0:
        raise ImproperlyConfigured(f"{_name}={globals()[_name]}: use a number above 0")
# CALLs one charger connection may send per second, with a burst allowance;
# the excess is answered CALLERROR GenericError, and a charger that goes on
# far beyond it is closed (1008). 0 turns the limit off.
OCPP_RATE_LIMIT = env_float("OCPP_RATE_LIMIT", 20.0)
OCPP_RATE_BURST = env_int("OCPP_RATE_BURST", 100)
# Refused CALLs in a row (no CALL let through between them) that close the socket.
OCPP_RATE_CLOSE_AFTER = env_int("OCPP_RATE_CLOSE_AFTER", 1000)
# Signed firmware (services/firmware.py): the operator's firmware signing
# certificate and private key (PEM, RSA or EC; both or neither). Uploaded
# firmware is kept in DATA_DIR/firmware under a random name, at most
# OCPP_FIRMWARE_MAX_BYTES, and published at /ocpp/firmware/<name> on the host
# the upload came to (OCPP_PUBLIC_URL for the `signed_firmware` short form).
OCPP_FIRMWARE_SIGNING_CERTFILE = _env("OCPP_FIRMWARE_SIGNING_CERTFILE") or ""
OCPP_FIRMWARE_SIGNING_KEYFILE = _env("OCPP_FIRMWARE_SIGNING_KEYFILE") or ""
if bool(OCPP_FIRMWARE_SIGNING_CERTFILE) != bool(OCPP_FIRMWARE_SIGNING_KEYFILE):
    raise ImproperlyConfigured(
        "OCPP_FIRMWARE_SIGNING_CERTFILE and OCPP_FIRMWARE_SIGNING_KEYFILE: set both (to sign firmware) or neither"
    )
OCPP_FIRMWARE_MAX_BYTES = env_int("OCPP_FIRMWARE_MAX_BYTES", 256 * 1024 * 1024)
# The key that encrypts secrets kept at rest (services/secrets.py): a Fernet
# key; unset, one is made on first use in DATA_DIR/secret.key.
OCPP_SECRETS_KEY = _env("OCPP_SECRETS_KEY") or ""
# The largest payload one message-log row keeps (bytes of JSON); a larger one
# is stored as {"_truncated": true, "bytes": N, "head": "<its first bytes>"}.
OCPP_LOG_PAYLOAD_MAX_BYTES = env_int("OCPP_LOG_PAYLOAD_MAX_BYTES", 64 * 1024)

LOG_DIR = Path(os.environ.get("LOG_DIR") or BASE_DIR / "logs")
LOG_DIR.mkdir(parents=True, exist_ok=True)
LOG_LEVEL = env_choice("LOG_LEVEL", "info", ("debug", "info", "warning", "error", "critical")).upper()

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "project_file": {
            # The file is written by a background thread, never the event loop.
            "class": "ocpp_app.runtime.log_handlers.BackgroundRotatingFileHandler",
            "filename": str(LOG_DIR / "ocpp.log"),
            "maxBytes": 20 * 1024 * 1024,
            "backupCount": 5,
            "formatter": "plain",
            "delay": True,
        },
    },
    "loggers": {
        "ocpp_app": {"handlers": ["console", "project_file"], "level": LOG_LEVEL, "propagate": False},
        # The library logs every frame at INFO and tracebacks for charger mistakes.
        "ocpp": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
}

# --- Sections appended by the web, API and simulator layers go below. ---------

# --- Web pages (dashboard, landing pages, QR codes) -------------------------------
# Public base URL of this server: the QR code on a charger's sticker points at
# OCPP_PUBLIC_URL + /ocpp/c/<charger id>/ (no request is at hand when a charger
# is saved by the OCPP core).
OCPP_PUBLIC_URL = os.environ.get("OCPP_PUBLIC_URL", "").strip() or "http://localhost:8000"
# Seconds the dashboard socket gathers charger events before it sends one update
# per changed charger (MeterValues can be frequent).
OCPP_DASHBOARD_THROTTLE = env_float("OCPP_DASHBOARD_THROTTLE", 0.5)

# --- REST API: Swagger UI assets served from static files, never from a CDN -------
INSTALLED_APPS += ["drf_spectacular_sidecar"]  # noqa: F405
SPECTACULAR_SETTINGS.update(
    {
        "DESCRIPTION": "Operate OCPP 1.6J chargers: live state, commands with the charger's answer, "
        "RFID cards, transactions and meter readings. See docs/api.md.",
        "SWAGGER_UI_DIST": "SIDECAR",
        "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
        "REDOC_DIST": "SIDECAR",
        "COMPONENT_SPLIT_REQUEST": True,
    }
)
# Document the error answers DRF gives outside the views (ocpp_app/api/schema.py).
SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"] = [
    "drf_spectacular.hooks.postprocess_schema_enums",
    "ocpp_app.api.schema.add_error_responses",
]

# --- Alerts: webhooks and e-mail (docs/alerts.md) -----------------------------------
# Charger events (lib/alerts.py: EVENT_TYPES) are queued as delivery rows and
# sent by every `serve` node: a webhook POST signed with its secret, or an
# e-mail. An attempt that fails (a network error, OCPP_WEBHOOK_TIMEOUT seconds
# without an answer, an answer other than 2xx) is tried again after
# OCPP_WEBHOOK_BACKOFF_BASE seconds, then 3 times longer each time up to
# OCPP_WEBHOOK_BACKOFF_MAX, each +/- 20 %, until OCPP_WEBHOOK_MAX_ATTEMPTS
# attempts were made; then the delivery is failed. At most
# OCPP_WEBHOOK_CONCURRENCY attempts to one webhook (or to the mail server) are
# in flight per node, so a slow receiver never holds up the others. Due
# deliveries are looked for every OCPP_WEBHOOK_POLL_INTERVAL seconds (at once
# for events of the node itself).
OCPP_WEBHOOK_TIMEOUT = env_float("OCPP_WEBHOOK_TIMEOUT", 10.0)
OCPP_WEBHOOK_MAX_ATTEMPTS = env_int("OCPP_WEBHOOK_MAX_ATTEMPTS", 10)
OCPP_WEBHOOK_BACKOFF_BASE = env_float("OCPP_WEBHOOK_BACKOFF_BASE", 10.0)
OCPP_WEBHOOK_BACKOFF_MAX = env_float("OCPP_WEBHOOK_BACKOFF_MAX", 3600.0)
OCPP_WEBHOOK_CONCURRENCY = env_int("OCPP_WEBHOOK_CONCURRENCY", 4)
OCPP_WEBHOOK_POLL_INTERVAL = env_float("OCPP_WEBHOOK_POLL_INTERVAL", 1.0)
for _name, _low in (
    ("OCPP_WEBHOOK_TIMEOUT", 0.1),
    ("OCPP_WEBHOOK_BACKOFF_BASE", 0.1),
    ("OCPP_WEBHOOK_BACKOFF_MAX", 0.1),
    ("OCPP_WEBHOOK_POLL_INTERVAL", 0.05),
):
    if globals()[_name] < _low:
        raise ImproperlyConfigured(f"{_name}={globals()[_name]}: use {_low} seconds or more")
if not 1 <= OCPP_WEBHOOK_MAX_ATTEMPTS <= 100:
    raise ImproperlyConfigured(f"OCPP_WEBHOOK_MAX_ATTEMPTS={OCPP_WEBHOOK_MAX_ATTEMPTS}: use a number from 1 to 100")
if not 1 <= OCPP_WEBHOOK_CONCURRENCY <= 100:
    raise ImproperlyConfigured(f"OCPP_WEBHOOK_CONCURRENCY={OCPP_WEBHOOK_CONCURRENCY}: use a number from 1 to 100")
# Hosts a webhook URL may name (names as written, IP addresses or networks,
# comma-separated); empty: any host.
OCPP_WEBHOOK_ALLOWED_HOSTS = env_list("OCPP_WEBHOOK_ALLOWED_HOSTS", "")
if (_problem := alerts_rules.allowed_hosts_problem(OCPP_WEBHOOK_ALLOWED_HOSTS)) is not None:
    raise ImproperlyConfigured(f"OCPP_WEBHOOK_ALLOWED_HOSTS: {_problem}")
# E-mail alerts: each event of OCPP_ALERT_EMAIL_EVENTS to every address of
# OCPP_ALERT_EMAILS (none: no e-mail), through Django's mail settings.
OCPP_ALERT_EMAILS = env_list("OCPP_ALERT_EMAILS", "")
for _address in OCPP_ALERT_EMAILS:
    try:
        validate_email(_address)
    except ValidationError:
        raise ImproperlyConfigured(f"OCPP_ALERT_EMAILS: {_address!r} is not an e-mail address") from None
OCPP_ALERT_EMAIL_EVENTS = env_list(
    "OCPP_ALERT_EMAIL_EVENTS",
    ",".join((alerts_rules.CHARGER_OFFLINE, alerts_rules.CONNECTOR_FAULTED, alerts_rules.SECURITY_EVENT)),
)
for _event in OCPP_ALERT_EMAIL_EVENTS:
    if _event not in alerts_rules.EVENT_TYPES:
        raise ImproperlyConfigured(
            f"OCPP_ALERT_EMAIL_EVENTS: unknown event type {_event!r}: use {', '.join(alerts_rules.EVENT_TYPES)}"
        )
EMAIL_HOST = _env("EMAIL_HOST") or "localhost"
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = _env("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL: set one (STARTTLS or TLS from the start), not both")
# A mail server that does not answer must not hold the sender longer than a webhook would.
EMAIL_TIMEOUT = env_float("EMAIL_TIMEOUT", OCPP_WEBHOOK_TIMEOUT)
DEFAULT_FROM_EMAIL = _env("DEFAULT_FROM_EMAIL") or "ocpp@localhost"
