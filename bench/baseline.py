"""The floor: a minimal raw `websockets` server that answers each CALL with a
fixed JSON reply (no validation, no database). No Python OCPP server can beat
it on this machine; benchmarks report the real server as a ratio of it.

    python -m bench.baseline --port 9000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

from bench.load import raise_fd_limit

NOW = "2026-01-01T00:00:00.000Z"
REPLIES = {
    "BootNotification": {"status": "Accepted", "currentTime": NOW, "interval": 300},
    "Heartbeat": {"currentTime": NOW},
    "Authorize": {"idTagInfo": {"status": "Accepted"}},
    "StartTransaction": {"transactionId": 1, "idTagInfo": {"status": "Accepted"}},
    "StopTransaction": {"idTagInfo": {"status": "Accepted"}},
}


async def handler(ws) -> None:
    try:
        await answer(ws)
    except ConnectionClosed:  # load clients hang up abruptly
        pass


async def answer(ws) -> None:
    async for raw in ws:
        try:
            frame = json.loads(raw)
        except ValueError:
            continue
        if isinstance(frame, list) and len(frame) == 4 and frame[0] == 2:
            await ws.send(json.dumps([3, frame[1], REPLIES.get(frame[2], {})]))


async def main_async(host: str, port: int) -> None:
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.cancel)
    async with serve(
        handler,
        host,
        port,
        subprotocols=["ocpp1.6"],
        compression=None,
        backlog=4096,
        ping_interval=20,
        max_queue=4,
        open_timeout=60,  # a storm on a busy 2-core machine: measure throughput, not a timeout
    ):
        print(f"baseline OCPP echo on ws://{host}:{port}/", flush=True)
        try:
            await stop
        except asyncio.CancelledError:
            pass


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.baseline", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    args = parser.parse_args()
    raise_fd_limit()
    asyncio.run(main_async(args.host, args.port))


if __name__ == "__main__":
    main()
