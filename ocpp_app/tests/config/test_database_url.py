"""DATABASE_URL: libpq's host lists (a primary and its standbys, the first
that takes writes kept), what Django hands psycopg from them, and a
malformed URL stopping the start-up with an error naming DATABASE_URL and
never quoting its password."""

import json
import subprocess
import sys

import dj_database_url
import pytest
from django.core.exceptions import ImproperlyConfigured

from config.settings import BASE_DIR, database_settings
from conftest import free_port

PASSWORD = "s3cret-pw"


def settings_process(env: dict[str, str], code: str = "import config.settings") -> subprocess.CompletedProcess:
    """`code` in a fresh interpreter with `env` as the environment."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_host_list_becomes_libpqs_host_and_port_lists():
    config = database_settings(f"postgres://ocpp:{PASSWORD}@db1:5432,db2:5433/ocpp?target_session_attrs=read-write")
    assert (config["HOST"], config["PORT"]) == ("db1,db2", "5432,5433")
    assert (config["USER"], config["PASSWORD"], config["NAME"]) == ("ocpp", PASSWORD, "ocpp")
    assert config["OPTIONS"]["target_session_attrs"] == "read-write"
    assert config["ENGINE"] == "django.db.backends.postgresql"


def test_a_host_list_takes_ipv6_socket_directories_and_default_ports():
    config = database_settings("postgresql://ocpp@[::1]:6000,db2,%2Fvar%2Frun%2Fpostgresql/ocpp?sslmode=require")
    assert config["HOST"] == "::1,db2,/var/run/postgresql"
    assert config["PORT"] == "6000,5432,5432"  # one port per host: PostgreSQL's own where none is given
    assert config["OPTIONS"]["sslmode"] == "require"


def test_a_host_list_settles_only_on_a_server_that_takes_writes_and_gives_up_on_a_silent_host():
    config = database_settings("postgres://ocpp@db1,db2/ocpp")
    # Without target_session_attrs libpq would keep a standby that answers first.
    assert config["OPTIONS"]["target_session_attrs"] == "read-write"
    assert config["OPTIONS"]["connect_timeout"] == 5
    chosen = database_settings("postgres://ocpp@db1,db2/ocpp?target_session_attrs=primary&connect_timeout=2")
    assert chosen["OPTIONS"]["target_session_attrs"] == "primary"
    assert chosen["OPTIONS"]["connect_timeout"] == 2


def test_one_host_reads_as_dj_database_url_reads_it():
    for url in (
        f"postgres://ocpp:{PASSWORD}@db1:5432/ocpp?sslmode=require",
        "postgres://ocpp@db1/ocpp",
        "sqlite:////tmp/ocpp.sqlite3",
    ):
        assert database_settings(url) == dj_database_url.parse(url)


def test_django_hands_psycopg_the_host_list_for_requests_and_the_charger_path_alike():
    """The pool lends HTTP requests their connections and the group-commit
    writer its own: both from the same parameters."""
    code = """
import json, django
django.setup()
from django.db import connection
params = connection.get_connection_params()
pool = connection.pool.kwargs
print(json.dumps({key: [str(params.get(key)), str(pool.get(key))] for key in
    ("host", "port", "dbname", "user", "target_session_attrs", "connect_timeout")}))
"""
    url = f"postgres://ocpp:{PASSWORD}@db1:5432,db2:5433/ocpp?target_session_attrs=read-write"
    result = settings_process({"DATABASE_URL": url}, code)
    assert result.returncode == 0, result.stderr
    given = json.loads(result.stdout.strip().splitlines()[-1])
    assert given == {
        "host": ["db1,db2"] * 2,
        "port": ["5432,5433"] * 2,
        "dbname": ["ocpp"] * 2,
        "user": ["ocpp"] * 2,
        "target_session_attrs": ["read-write"] * 2,
        "connect_timeout": ["5"] * 2,
    }


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (f"postgres://ocpp:{PASSWORD}@db1:5432,db2:54x2/ocpp", "DATABASE_URL: host 'db2' has port '54x2'"),
        (f"postgres://ocpp:{PASSWORD}@db1:5432,db2:70000/ocpp", "DATABASE_URL: host 'db2' has port '70000'"),
        (f"postgres://ocpp:{PASSWORD}@db1:abc/ocpp", "DATABASE_URL: host 'db1' has port 'abc'"),
        (f"postgres://ocpp:{PASSWORD}@db1,,db2/ocpp", "DATABASE_URL: the host list has an empty host"),
        (f"postgres://ocpp:{PASSWORD}@[::1:5432,db2/ocpp", "DATABASE_URL: host '[::1:5432' of the host list"),
        (f"postgress://ocpp:{PASSWORD}@db1/ocpp", "DATABASE_URL: unknown scheme 'postgress'"),
        (f"ocpp:{PASSWORD}@db1/ocpp", "DATABASE_URL: no scheme"),
        (
            f"postgres://ocpp:{PASSWORD}@db1,db2/ocpp?target_session_attrs=standby",
            "DATABASE_URL: target_session_attrs='standby'",
        ),
    ],
)
def test_it_refuses_to_start_with_a_malformed_database_url(url, message):
    with pytest.raises(ImproperlyConfigured, match="^" + message.replace("[", r"\[")) as raised:
        database_settings(url)
    assert PASSWORD not in str(raised.value)
    result = settings_process({"DATABASE_URL": url})
    assert result.returncode != 0
    assert f"ImproperlyConfigured: {message}" in result.stderr
    assert PASSWORD not in result.stderr


@pytest.mark.own_services
def test_the_server_connects_past_a_host_that_refuses(private_postgres):
    refusing = free_port()
    url = f"postgres://postgres@127.0.0.1:{refusing},127.0.0.1:{private_postgres.port}/postgres"
    code = """
import django
django.setup()
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("SELECT inet_server_port()")
    print(cursor.fetchone()[0])
"""
    result = settings_process({"DATABASE_URL": url}, code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(private_postgres.port)
