"""A real server process (uvicorn) and a real `ocpp` library charge point."""

import pytest
from ocpp.v16 import call
from ocpp.v16.enums import RegistrationStatus

from ocpp_app.models import Charger

from .helpers import connected_charge_point

pytestmark = pytest.mark.e2e


async def test_it_boots_a_charger_over_a_real_socket(live_ocpp_server):
    async with connected_charge_point(f"{live_ocpp_server.ws_url}/ocpp16/E2E1", "E2E1") as cp:
        result = await cp.call(call.BootNotification(charge_point_vendor="Acme", charge_point_model="X1"))
    assert result.status == RegistrationStatus.accepted
    charger = await Charger.objects.aget(charger_id="E2E1")
    assert charger.vendor == "Acme"
    assert charger.last_path == "/ocpp16/E2E1"
