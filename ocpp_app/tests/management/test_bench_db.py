"""manage.py bench_db: the benchmark's fixtures and checks on the real database."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from ocpp_app.models import Charger, MeterReading, Transaction
from ocpp_app.services.qr import qr_is_current
from ocpp_app.services.secrets import secret_is_fast, secret_verify

pytestmark = pytest.mark.django_db


def bench_db(capsys, *args: str) -> dict:
    call_command("bench_db", *args)
    return json.loads(capsys.readouterr().out)


def test_it_creates_known_chargers_with_current_qr_codes(capsys):
    assert bench_db(capsys, "prepare", "--prefix", "STORM", "--count", "3") == {"chargers": 3}
    chargers = list(Charger.objects.order_by("charger_id"))
    assert [c.charger_id for c in chargers] == ["STORM00000", "STORM00001", "STORM00002"]
    # A restarted server must find nothing to render for them.
    assert all(qr_is_current(c) for c in chargers)


def test_it_keeps_existing_chargers_when_preparing_twice(capsys):
    Charger.objects.create(charger_id="STORM00001", name="kept")
    assert bench_db(capsys, "prepare", "--prefix", "STORM", "--count", "2") == {"chargers": 2}
    assert bench_db(capsys, "prepare", "--prefix", "STORM", "--count", "2") == {"chargers": 2}
    assert Charger.objects.get(charger_id="STORM00001").name == "kept"


def test_it_gives_every_prepared_charger_the_password_as_the_server_stores_it(capsys):
    Charger.objects.create(charger_id="STORM00001", name="kept")
    password = "bench-storm-key-0123"
    assert bench_db(capsys, "prepare", "--prefix", "STORM", "--count", "3", "--password", password) == {"chargers": 3}
    chargers = list(Charger.objects.order_by("charger_id"))
    assert [c.name for c in chargers] == ["", "kept", ""]
    # The fast form the handshake checks inline, each with a salt of its own.
    assert all(secret_is_fast(c.password_hash) for c in chargers)
    assert len({c.password_hash for c in chargers}) == 3
    assert all(secret_verify(password=password, password_hash=c.password_hash) for c in chargers)
    assert not secret_verify(password="another-password-0123", password_hash=chargers[0].password_hash)


def test_it_prepares_chargers_without_a_password_by_default(capsys):
    bench_db(capsys, "prepare", "--prefix", "STORM", "--count", "2")
    assert list(Charger.objects.values_list("password_hash", flat=True)) == ["", ""]


def test_it_refuses_a_password_the_server_would_never_accept():
    with pytest.raises(CommandError, match="--password"):
        call_command("bench_db", "prepare", "--prefix", "X", "--count", "1", "--password", "short")
    assert not Charger.objects.exists()


def test_it_refuses_a_negative_count():
    with pytest.raises(CommandError, match="--count"):
        call_command("bench_db", "prepare", "--prefix", "X", "--count", "-1")


def _transaction(stamps: list[datetime], *, stopped: bool) -> Transaction:
    charger = Charger.objects.create(charger_id="BACKLOG1")
    tx = Transaction.objects.create(
        charger=charger,
        connector_id=1,
        id_tag="T",
        meter_start=0,
        start_time=stamps[0],
        stop_time=stamps[-1] if stopped else None,
    )
    for n, stamp in enumerate(stamps):
        MeterReading.objects.create(charger=charger, connector_id=1, transaction=tx, timestamp=stamp, value=str(n))
    return tx


def test_it_reports_a_backlog_stored_in_order(capsys):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    tx = _transaction([start + timedelta(seconds=n) for n in range(4)], stopped=True)
    assert bench_db(capsys, "backlog", str(tx.pk)) == {"stored": 4, "in_order": True, "stopped": True}


def test_it_reports_a_backlog_stored_out_of_order(capsys):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    tx = _transaction([start, start + timedelta(seconds=2), start + timedelta(seconds=1)], stopped=False)
    assert bench_db(capsys, "backlog", str(tx.pk)) == {"stored": 3, "in_order": False, "stopped": False}


def test_it_names_the_database_and_its_version(capsys):
    answer = bench_db(capsys, "version")
    assert answer["vendor"] == connection.vendor
    assert answer["version"][0].isdigit()
