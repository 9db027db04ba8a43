"""Load generator: thousands of lightweight chargers from one process.

Each charger is one raw `websockets` connection and a few coroutines (no
thread, no `ocpp` library object), so one process holds 10 000 of them. It
speaks just enough OCPP 1.6J for the scenarios:

  idle          connect and boot N chargers, hold them, sample the server
  storm         N chargers connect and boot at once; time until all answered
  heartbeat     closed loop: each charger sends Heartbeat, awaits, repeats
  metervalues   closed loop of MeterValues (4 sampled values) in a transaction
  mixed         fixed total rate (msg/s) of Heartbeat/MeterValues/StatusNotification
                spread over N chargers; latency counted from the scheduled send time
  backlog       one charger replays K queued transaction messages in order
  transactions  full sessions: Authorize, Start, MeterValues, Stop

    python -m bench.load --url ws://127.0.0.1:8000/ocpp/ --scenario heartbeat \
        --chargers 1000 --duration 10 --server-pid 1234
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import json
import random
import resource
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.uri import parse_uri

SCENARIOS = ("idle", "storm", "heartbeat", "metervalues", "mixed", "backlog", "transactions")


def raise_fd_limit() -> int:
    """Each charger is a socket: lift the soft descriptor limit to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def iso(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class CallFailed(Exception):
    pass


class ConnectionLost(ConnectionError):
    pass


class LeanConnection(asyncio.Protocol):
    """A WebSocket client connection on the `websockets` Sans-I/O protocol and a
    plain asyncio transport: no per-message task, lock or queue, so one
    process can keep the server busy (the asyncio client costs ~4x more CPU
    per message and becomes the bottleneck on two cores)."""

    def __init__(self, url: str) -> None:
        self.proto = ClientProtocol(parse_uri(url), subprotocols=["ocpp1.6"], max_size=2**20)
        self.transport = None
        self.opened: asyncio.Future = asyncio.get_running_loop().create_future()
        self.waiter: tuple[str, asyncio.Future] | None = None
        self.closed = False

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.proto.send_request(self.proto.connect())
        self._flush()

    def _flush(self) -> None:
        data = self.proto.data_to_send()
        if data and not self.closed:
            self.transport.write(b"".join(data))

    def data_received(self, data: bytes) -> None:
        self.proto.receive_data(data)
        for event in self.proto.events_received():
            if isinstance(event, Frame):
                if event.opcode is Opcode.TEXT:
                    self._frame(event.data)
            elif not self.opened.done():  # the handshake response
                if self.proto.handshake_exc is not None:
                    self.opened.set_exception(self.proto.handshake_exc)
                else:
                    self.opened.set_result(None)
        self._flush()  # pongs, close frames

    def _frame(self, data: bytes) -> None:
        frame = json.loads(data)
        if frame[0] == 2:  # the server asks something: we implement nothing
            self.send(json.dumps([4, frame[1], "NotImplemented", "", {}]))
            return
        waiter = self.waiter
        if waiter is not None and frame[1] == waiter[0] and not waiter[1].done():
            self.waiter = None
            waiter[1].set_result(frame)

    def send(self, text: str) -> None:
        if self.closed:
            raise ConnectionLost("connection closed")
        self.proto.send_text(text.encode())
        self._flush()

    def connection_lost(self, exc) -> None:
        self.closed = True
        error = ConnectionLost(f"connection lost: {exc or 'closed by server'}")
        if not self.opened.done():
            self.opened.set_exception(error)
        if self.waiter is not None and not self.waiter[1].done():
            self.waiter[1].set_exception(error)

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.closed = True
            self.transport.abort()


class Charger:
    """One connection, one CALL in flight at a time (as OCPP requires)."""

    __slots__ = ("cp_id", "conn", "ids", "tx_id", "clock")

    def __init__(self, cp_id: str, conn: LeanConnection) -> None:
        self.cp_id = cp_id
        self.conn = conn
        self.ids = itertools.count(1)
        self.tx_id: int | None = None
        self.clock = datetime.now(UTC) - timedelta(days=1)

    async def call(self, action: str, payload: dict) -> dict:
        msg_id = str(next(self.ids))
        future = asyncio.get_running_loop().create_future()
        self.conn.waiter = (msg_id, future)
        self.conn.send(f'[2,"{msg_id}","{action}",{json.dumps(payload, separators=(",", ":"))}]')
        frame = await future
        if frame[0] == 4:
            raise CallFailed(f"{action}: {frame[2]} {frame[3]}")
        return frame[2]

    def tick(self) -> str:
        """A fresh, strictly increasing timestamp (readings are unique per time)."""
        self.clock += timedelta(milliseconds=1)
        return iso(self.clock)

    def boot(self) -> dict:
        return {"chargePointVendor": "LoadGen", "chargePointModel": "L1", "chargePointSerialNumber": self.cp_id[-25:]}

    def meter_values(self, wh: int) -> dict:
        payload = {
            "connectorId": 1,
            "meterValue": [
                {
                    "timestamp": self.tick(),
                    "sampledValue": [
                        {"value": str(wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
                        {"value": "11000", "measurand": "Power.Active.Import", "unit": "W"},
                        {"value": "16.0", "measurand": "Current.Import", "unit": "A"},
                        {"value": "230.0", "measurand": "Voltage", "unit": "V"},
                    ],
                }
            ],
        }
        if self.tx_id is not None:
            payload["transactionId"] = self.tx_id
        return payload

    def status(self, status: str = "Available") -> dict:
        return {"connectorId": 1, "errorCode": "NoError", "status": status, "timestamp": iso(datetime.now(UTC))}

    def start_tx(self, meter: int = 0) -> dict:
        return {"connectorId": 1, "idTag": f"L{self.cp_id[-18:]}", "meterStart": meter, "timestamp": self.tick()}

    def stop_tx(self, meter: int) -> dict:
        return {"transactionId": self.tx_id, "meterStop": meter, "timestamp": self.tick(), "reason": "Local"}


@dataclass
class Recorder:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    finished: float | None = None

    def ok(self, seconds: float) -> None:
        self.latencies.append(seconds)

    def fail(self, error: BaseException) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(f"{type(error).__name__}: {error}"[:200])

    def summary(self) -> dict:
        end = self.finished or time.perf_counter()
        lat = sorted(self.latencies)
        elapsed = max(1e-9, end - self.started)

        def pct(p: float) -> float:
            return round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 2) if lat else 0.0

        return {
            "messages": len(lat),
            "errors": self.errors,
            "seconds": round(elapsed, 2),
            "msg_per_s": round(len(lat) / elapsed, 1),
            "p50_ms": pct(0.50),
            "p90_ms": pct(0.90),
            "p99_ms": pct(0.99),
            "max_ms": round(lat[-1] * 1000, 2) if lat else 0.0,
            "error_samples": self.error_samples,
        }


class ServerProbe:
    """RSS and CPU of the server process (psutil), when its pid is known."""

    def __init__(self, pid: int | None) -> None:
        self.proc = None
        if pid:
            import psutil

            self.proc = psutil.Process(pid)
        self._mark = self._cpu()

    def _cpu(self) -> tuple[float, float]:
        if self.proc is None:
            return (0.0, time.monotonic())
        try:
            times = self.proc.cpu_times()
        except Exception:  # the server died: report zeros, not a traceback
            return (0.0, time.monotonic())
        return (times.user + times.system, time.monotonic())

    def rss(self) -> int:
        if self.proc is None:
            return 0
        try:
            return self.proc.memory_info().rss
        except Exception:
            return 0

    def mark(self) -> None:
        self._mark = self._cpu()

    def cpu_percent(self) -> float:
        """Percent of one core used since mark()."""
        cpu, wall = self._cpu()
        return round(100 * (cpu - self._mark[0]) / max(1e-9, wall - self._mark[1]), 1)


async def connect(url: str, cp_id: str, *, boot: bool = True, timeout: float = 60) -> Charger:
    full = url.rstrip("/") + "/" + cp_id
    uri = parse_uri(full)
    loop = asyncio.get_running_loop()
    _, conn = await asyncio.wait_for(loop.create_connection(lambda: LeanConnection(full), uri.host, uri.port), timeout)
    try:
        await asyncio.wait_for(conn.opened, timeout)
    except BaseException:
        conn.close()
        raise
    charger = Charger(cp_id, conn)
    if boot:
        try:
            await charger.call("BootNotification", charger.boot())
        except BaseException:
            conn.close()
            raise
    return charger


async def bounded(coros, timeout: float, rec: Recorder | None, what: str) -> int:
    """Run coroutines, cancelling those still running after `timeout`
    seconds (counted as errors): every scenario stops by itself."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    if not tasks:
        return 0
    _, pending = await asyncio.wait(tasks, timeout=timeout)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)
        if rec is not None:
            rec.errors += len(pending)
            rec.error_samples.append(f"{len(pending)} {what} cancelled after {timeout:.0f} s")
    return len(pending)


async def connect_many(
    url: str,
    prefix: str,
    n: int,
    *,
    concurrency: int,
    rec: Recorder | None = None,
    boot: bool = True,
    deadline: float = 120,
    ids: list[str] | None = None,
) -> list[Charger]:
    gate = asyncio.Semaphore(concurrency)
    chargers: list[Charger] = []

    names = ids if ids is not None else [f"{prefix}{i:05d}" for i in range(n)]

    async def one(name: str) -> None:
        async with gate:
            t0 = time.perf_counter()
            try:
                chargers.append(await connect(url, name, boot=boot))
            except Exception as error:
                if rec is not None:
                    rec.fail(error)
                return
            if rec is not None:
                rec.ok(time.perf_counter() - t0)

    await bounded((one(name) for name in names), deadline, rec, "connections")
    return chargers


def freeze_heap() -> None:
    """Move the connections set up so far out of the garbage collector's
    sight: a full collection over 10 000 connections pauses the client for
    hundreds of milliseconds, which would be reported as server latency."""
    gc.collect()
    gc.freeze()


async def close_all(chargers: list[Charger]) -> None:
    for c in chargers:
        c.conn.close()
    await asyncio.sleep(0.5)


async def closed_loop(chargers: list[Charger], make, duration: float, grace: float = 30) -> dict:
    rec = Recorder()
    deadline = time.perf_counter() + duration

    async def loop(c: Charger) -> None:
        n = 0
        while time.perf_counter() < deadline:
            action, payload = make(c, n)
            n += 1
            t0 = time.perf_counter()
            try:
                await c.call(action, payload)
            except Exception as error:
                rec.fail(error)
                if isinstance(error, ConnectionLost):
                    return
                continue
            rec.ok(time.perf_counter() - t0)

    await bounded((loop(c) for c in chargers), duration + grace, rec, "chargers")
    rec.finished = time.perf_counter()
    return rec.summary()


async def start_transactions(chargers: list[Charger], timeout: float = 60) -> None:
    async def start(c: Charger) -> None:
        with contextlib.suppress(CallFailed, ConnectionLost):
            answer = await c.call("StartTransaction", c.start_tx())
            c.tx_id = answer.get("transactionId")

    await bounded((start(c) for c in chargers), timeout, None, "starts")


async def fixed_rate(
    chargers: list[Charger], rate: float, duration: float, mix: dict[str, float], grace: float = 15
) -> dict:
    """`rate` messages per second in total, each charger on its own evenly
    spaced schedule; latency counts from the scheduled time, so a server that
    falls behind shows it (no coordinated omission)."""
    rec = Recorder()
    period = len(chargers) / rate
    start = time.perf_counter() + 0.5
    end = start + duration
    actions = list(mix)
    weights = [mix[a] for a in actions]

    async def loop(i: int, c: Charger) -> None:
        due = start + period * i / len(chargers)
        n = 0
        while due < end:
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            action = random.choices(actions, weights)[0]
            if action == "MeterValues":
                payload = c.meter_values(1000 + n)
            elif action == "StatusNotification":
                payload = c.status("Charging" if n % 2 else "Available")
            else:
                payload = {}
            n += 1
            try:
                await c.call(action, payload)
            except Exception as error:
                rec.fail(error)
                if isinstance(error, ConnectionLost):
                    return
            else:
                rec.ok(time.perf_counter() - due)
            due += period

    rec.started = start
    await bounded((loop(i, c) for i, c in enumerate(chargers)), duration + 0.5 + grace, rec, "chargers")
    rec.finished = time.perf_counter()
    return rec.summary()


async def backlog(url: str, cp_id: str, k: int) -> dict:
    """One charger that was offline replays StartTransaction, K-2 MeterValues
    and StopTransaction back to back (each awaited: one CALL at a time)."""
    c = await connect(url, cp_id)
    rec = Recorder()
    try:
        c.clock = datetime.now(UTC) - timedelta(hours=2)
        t0 = time.perf_counter()
        answer = await c.call("StartTransaction", c.start_tx())
        rec.ok(time.perf_counter() - t0)
        c.tx_id = answer.get("transactionId")
        for n in range(k - 2):
            t0 = time.perf_counter()
            try:
                await c.call("MeterValues", c.meter_values(10 * n))
                rec.ok(time.perf_counter() - t0)
            except CallFailed as error:
                rec.fail(error)
        t0 = time.perf_counter()
        await c.call("StopTransaction", c.stop_tx(10 * k))
        rec.ok(time.perf_counter() - t0)
        rec.finished = time.perf_counter()
    finally:
        await close_all([c])
    return {**rec.summary(), "transaction_id": c.tx_id}


async def transactions(chargers: list[Charger], sessions: int, meter_values: int, timeout: float = 120) -> dict:
    rec = Recorder()

    async def run(c: Charger) -> None:
        wh = 0

        def payload(action: str) -> dict:
            if action == "Authorize":
                return {"idTag": f"L{c.cp_id[-18:]}"}
            if action == "StartTransaction":
                return c.start_tx(wh)
            if action == "MeterValues":
                return c.meter_values(wh)
            if action == "StopTransaction":
                return c.stop_tx(wh)
            return c.status("Charging" if c.tx_id else "Available")

        steps = ["Authorize", "StartTransaction", "StatusNotification"]
        steps += ["MeterValues"] * meter_values + ["StopTransaction", "StatusNotification"]
        for _ in range(sessions):
            for action in steps:
                t0 = time.perf_counter()
                try:
                    answer = await c.call(action, payload(action))
                except Exception as error:
                    rec.fail(error)
                    if isinstance(error, ConnectionLost):
                        return
                    continue
                rec.ok(time.perf_counter() - t0)
                if action == "StartTransaction":
                    c.tx_id = answer.get("transactionId")
                elif action == "StopTransaction":
                    c.tx_id = None
                wh += 100

    await bounded((run(c) for c in chargers), timeout, rec, "chargers")
    rec.finished = time.perf_counter()
    out = rec.summary()
    out["sessions_per_s"] = round(len(chargers) * sessions / out["seconds"], 1)
    return out


def heartbeat(c: Charger, n: int) -> tuple[str, dict]:
    return "Heartbeat", {}


def meter_value(c: Charger, n: int) -> tuple[str, dict]:
    return "MeterValues", c.meter_values(n)


async def run_scenario(args: argparse.Namespace) -> dict:
    probe = ServerProbe(args.server_pid)
    prefix = args.prefix  # the same ids on every run: known chargers reconnect
    result: dict = {"scenario": args.scenario, "chargers": args.chargers}
    if args.scenario == "backlog":
        result.update(await backlog(args.url, f"{prefix}BACKLOG", args.messages), chargers=1)
        result["rss_mib"] = round(probe.rss() / 2**20, 1)
        return result
    rss_before = probe.rss()
    storm = args.scenario in ("storm", "idle")
    rec = Recorder()
    probe.mark()
    chargers = await connect_many(
        args.url, prefix, args.chargers, concurrency=args.chargers if storm else args.concurrency, rec=rec
    )
    rec.finished = time.perf_counter()
    freeze_heap()
    try:
        if storm:
            s = rec.summary()
            result.update(
                connected=len(chargers),
                failures=s["errors"],
                seconds=s["seconds"],
                p50_ms=s["p50_ms"],
                p99_ms=s["p99_ms"],
                max_ms=s["max_ms"],
                error_samples=s["error_samples"],
                cpu_percent=probe.cpu_percent(),
            )
        if args.scenario == "idle":
            await asyncio.sleep(2)  # let the connect-time work settle
            probe.mark()
            await asyncio.sleep(args.duration)
            rss = probe.rss()
            result.update(
                idle_cpu_percent=probe.cpu_percent(),
                rss_mib=round(rss / 2**20, 1),
                rss_kib_per_charger=round((rss - rss_before) / 1024 / max(1, len(chargers)), 1),
            )
        elif args.scenario in ("heartbeat", "metervalues"):
            if args.scenario == "metervalues":
                await start_transactions(chargers)
            probe.mark()
            make = heartbeat if args.scenario == "heartbeat" else meter_value
            if args.rate:
                mix = {"Heartbeat" if args.scenario == "heartbeat" else "MeterValues": 1.0}
                result.update(await fixed_rate(chargers, args.rate, args.duration, mix))
            else:
                result.update(await closed_loop(chargers, make, args.duration))
            result["cpu_percent"] = probe.cpu_percent()
            result["rss_mib"] = round(probe.rss() / 2**20, 1)
        elif args.scenario == "mixed":
            await start_transactions(chargers)
            probe.mark()
            mix = {"Heartbeat": 0.4, "MeterValues": 0.4, "StatusNotification": 0.2}
            result.update(await fixed_rate(chargers, args.rate or 1000, args.duration, mix))
            result["cpu_percent"] = probe.cpu_percent()
            result["rss_mib"] = round(probe.rss() / 2**20, 1)
        elif args.scenario == "transactions":
            probe.mark()
            result.update(await transactions(chargers, args.sessions, args.meter_values))
            result["cpu_percent"] = probe.cpu_percent()
    finally:
        await close_all(chargers)
    return result


def format_result(r: dict) -> str:
    keys = [
        "msg_per_s",
        "p50_ms",
        "p90_ms",
        "p99_ms",
        "max_ms",
        "errors",
        "connected",
        "failures",
        "seconds",
        "cpu_percent",
        "idle_cpu_percent",
        "rss_mib",
        "rss_kib_per_charger",
        "sessions_per_s",
    ]
    parts = [f"{r['scenario']} x{r['chargers']}"] + [f"{k}={r[k]}" for k in keys if k in r]
    if r.get("error_samples"):
        parts.append(f"first errors: {r['error_samples'][:2]}")
    return "  ".join(parts)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench.load",
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--url", default="ws://127.0.0.1:8000/ocpp/", help="base URL; the charger id is appended")
    p.add_argument("--scenario", choices=SCENARIOS, default="heartbeat")
    p.add_argument("--chargers", type=int, default=100, help="number of chargers (connections)")
    p.add_argument("--duration", type=float, default=10, help="seconds to run (closed loop, fixed rate, idle hold)")
    p.add_argument("--rate", type=float, default=0, help="fixed total rate in msg/s (0 = closed loop)")
    p.add_argument("--concurrency", type=int, default=500, help="connections opened at once (not for storm/idle)")
    p.add_argument("--messages", type=int, default=1000, help="backlog: queued messages to replay")
    p.add_argument("--sessions", type=int, default=1, help="transactions: sessions per charger")
    p.add_argument("--meter-values", type=int, default=10, help="transactions: MeterValues per session")
    p.add_argument("--server-pid", type=int, help="pid of the server, to report its RSS and CPU")
    p.add_argument("--prefix", default="LOAD", help="charger id prefix")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    limit = raise_fd_limit()
    if args.chargers + 100 > limit:
        print(f"warning: {args.chargers} chargers but only {limit} file descriptors (ulimit -n)", file=sys.stderr)
    try:
        result = asyncio.run(run_scenario(args))
    except KeyboardInterrupt:
        return 130
    print(json.dumps(result) if args.json else format_result(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
