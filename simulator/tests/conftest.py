import asyncio

import pytest

from simulator import ChargePointSimulator, SimulatorConfig
from simulator.tests.fake_csms import FakeCSMS


@pytest.fixture
async def csms():
    server = FakeCSMS()
    await server.start()
    yield server
    await server.stop()


def fast_config(port: int, **overrides) -> SimulatorConfig:
    values = dict(
        host="127.0.0.1",
        ws_port=port,
        cp_path="ocpp/T1",
        interval=0.05,
        kwh_max=1000,
        speed=1,
        reconnect_min=0.05,
        reconnect_max=0.2,
        call_timeout=5,
        drain_timeout=2,
    )
    values.update(overrides)
    return SimulatorConfig(**values)


@pytest.fixture
async def sim(csms):
    simulator = ChargePointSimulator(fast_config(csms.port))
    simulator.step_delay = 0.01
    await asyncio.wait_for(simulator.start(), 10)
    yield simulator
    await simulator.stop(drain_timeout=1)
