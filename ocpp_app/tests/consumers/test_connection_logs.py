"""What a connection writes to the charger's own log and the project log, and
that a password never gets there."""

import logging

import pytest

from ocpp_app.runtime.charger_log import flush_charger_logs
from ocpp_app.tests.helpers import (
    PASSWORD,
    TIMEOUT,
    acreate_charger,
    basic,
    charger_socket,
    communicator,
)

pytestmark = pytest.mark.django_db(transaction=True)


async def test_it_logs_the_selected_subprotocol_to_the_charger_log(tmp_path):
    async with charger_socket():
        pass
    flush_charger_logs()
    assert "Connected (subprotocol=ocpp1.6)" in (tmp_path / "charger.CP1.log").read_text()


async def test_it_logs_no_subprotocol_to_the_charger_log(tmp_path):
    async with charger_socket(subprotocols=[]):
        pass
    flush_charger_logs()
    assert "Connected (subprotocol=none)" in (tmp_path / "charger.CP1.log").read_text()


async def test_it_logs_the_disconnect_with_its_code(tmp_path):
    comm = communicator()
    await comm.connect(timeout=TIMEOUT)
    await comm.disconnect(code=1001)
    flush_charger_logs()
    assert "Disconnected (code=1001)" in (tmp_path / "charger.CP1.log").read_text()


async def test_it_never_writes_the_password_to_the_charger_log(tmp_path, fast_hasher):
    await acreate_charger(password=PASSWORD)
    comm = communicator(headers=basic("CP1", "wrong-password-wrong"))
    await comm.connect(timeout=TIMEOUT)
    await comm.disconnect()
    async with charger_socket(headers=basic("CP1", PASSWORD)):
        pass
    flush_charger_logs()
    text = (tmp_path / "charger.CP1.log").read_text()
    assert "Refused" in text and PASSWORD not in text and "wrong-password-wrong" not in text


async def test_it_logs_connections_to_the_project_log_without_the_password(caplog, fast_hasher):
    await acreate_charger(password=PASSWORD)
    with caplog.at_level(logging.INFO, logger="ocpp_app"):
        async with charger_socket(headers=basic("CP1", PASSWORD)):
            pass
    assert "Connected (subprotocol=ocpp1.6)" in caplog.text
    assert "Disconnected (code=1000)" in caplog.text
    assert PASSWORD not in caplog.text
