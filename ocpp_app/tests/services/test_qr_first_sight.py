"""A charger first seen on a connection gets its QR code from a background
thread, never on the database-writer thread its messages wait for."""

import threading
import time

import pytest

from ocpp_app.models import Charger
from ocpp_app.services import qr
from ocpp_app.services.chargers import charger_admit

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_makes_the_code_of_a_charger_first_seen_on_a_connection_in_the_background(monkeypatch):
    rendered_on = []
    real_render = qr.qr_render

    def spy(url):
        rendered_on.append(threading.current_thread().name)
        return real_render(url)

    monkeypatch.setattr(qr, "qr_render", spy)
    charger_admit(
        charger_id="FIRST1",
        path="/ocpp/FIRST1",
        connection_id="c",
        channel_name="ch",
        subprotocol="",
        unknown_policy="accept",
        require_auth=False,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not Charger.objects.get(charger_id="FIRST1").qr_png:
        time.sleep(0.02)
    charger = Charger.objects.get(charger_id="FIRST1")
    assert charger.qr_png and charger.qr_svg.startswith("<?xml")
    assert charger.qr_url.endswith("/ocpp/c/FIRST1/")
    assert rendered_on and all(name.startswith("qr-codes") for name in rendered_on)
