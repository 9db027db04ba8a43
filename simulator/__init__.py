"""An OCPP 1.6J charge point simulator (and a load generator in bench.load).

    import asyncio
    from simulator import SimulatorConfig, ChargePointSimulator
    config = SimulatorConfig(host="127.0.0.1", ws_port=8000, cp_path="SIM1/")
    asyncio.run(ChargePointSimulator(config).run_session())

Never imports Django: the admin launches it as a separate process.
"""

from simulator.config import SimulatorConfig
from simulator.core import ChargePointSimulator

__all__ = ["SimulatorConfig", "ChargePointSimulator"]
