"""Make the screenshots of docs/web.md against a real server with data.

    .venv/bin/python docs/screenshots/make_screenshots.py

Starts `manage.py serve` on a fresh SQLite database in a temporary directory,
creates chargers and past sessions through the ORM, connects live charge points
with the `ocpp` library (boot, statuses, a running session with meter values),
and photographs the pages in headless Chromium (/usr/bin/chromium, or
$CHROMIUM). Map tiles come from the internet and are blocked here, so the maps
show their markers on a plain background.
"""

import asyncio
import math
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent
TMP = Path(tempfile.mkdtemp(prefix="ocpp-shots-"))
os.environ.update(
    {
        "DATABASE_URL": f"sqlite:///{TMP / 'db.sqlite3'}",
        "LOG_DIR": str(TMP / "logs"),
        "OCPP_NODE_ID": "screenshots",
        "OCPP_PUBLIC_URL": "https://csms.example.com",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
)
sys.path.insert(0, str(BASE_DIR))

import django  # noqa: E402

django.setup()

import websockets  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from ocpp.routing import on  # noqa: E402
from ocpp.v16 import ChargePoint, call, call_result  # noqa: E402
from playwright.async_api import async_playwright  # noqa: E402

from ocpp_app.lib.timeparse import format_datetime_utc as iso  # noqa: E402
from ocpp_app.models import Charger, Connector, MeterReading, Transaction  # noqa: E402
from ocpp_app.models.transactions import ACTIVE_POWER, ENERGY_REGISTER  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
MONTERREY = (25.6866, -100.3161)
random.seed(4)


def create_sample_data() -> str:
    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_superuser("operator", password="screenshots-only-123")
    now = datetime.now(UTC)
    sites = [
        ("MTY-CENTRO-01", "Macroplaza", "Acme", "Wallbox Pro", ("Available", "Available"), 0.000, 0.000),
        ("MTY-SANPEDRO-02", "San Pedro Garza García", "Acme", "Wallbox Pro", ("Faulted", "Available"), -0.030, -0.045),
        ("MTY-FUNDIDORA-03", "Parque Fundidora", "Voltix", "DC 50", ("Available",), -0.010, 0.030),
        ("MTY-TEC-04", "Tec de Monterrey", "Voltix", "AC 22", ("Unavailable", "Unavailable"), -0.035, 0.005),
        ("MTY-AEROPUERTO-05", "Aeropuerto", "Acme", "Wallbox Pro", ("Available",), 0.090, 0.120),
    ]
    for cid, name, vendor, model, statuses, dlat, dlng in sites:
        charger = Charger.objects.create(
            charger_id=cid,
            name=name,
            vendor=vendor,
            model=model,
            firmware_version="2.4.1",
            serial_number=f"SN-{random.randint(10000, 99999)}",
            latitude=round(MONTERREY[0] + dlat, 6),
            longitude=round(MONTERREY[1] + dlng, 6),
            last_heartbeat=now - timedelta(hours=random.randint(2, 30)),
        )
        for number, status in enumerate(statuses, start=1):
            Connector.objects.create(charger=charger, connector_id=number, status=status, error_code="NoError")
        past_sessions(charger, now)
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def past_sessions(charger: Charger, now: datetime, count: int = 4) -> None:
    meter = random.randint(100_000, 900_000)
    for i in range(count):
        start = now - timedelta(days=count - i, hours=random.randint(0, 8))
        minutes = random.randint(35, 90)
        energy = 0.0
        tx = Transaction.objects.create(
            charger=charger,
            connector_id=1,
            id_tag=f"04A2{random.randint(100000, 999999)}",
            meter_start=meter,
            start_time=start,
        )
        readings = []
        for minute in range(0, minutes + 1, 5):
            power = 7200 * min(1.0, 0.3 + minute / 10) * (1.0 if minute < minutes * 0.7 else 0.5)
            energy += power * 5 / 60
            ts = start + timedelta(minutes=minute)
            for measurand, unit, value in (
                (ENERGY_REGISTER, "Wh", meter + energy),
                (ACTIVE_POWER, "W", power),
            ):
                readings.append(
                    MeterReading(
                        charger=charger,
                        connector_id=1,
                        transaction=tx,
                        timestamp=ts,
                        measurand=measurand,
                        unit=unit,
                        value=f"{value:.0f}",
                        value_numeric=round(value),
                    )
                )
        MeterReading.objects.bulk_create(readings)
        tx.meter_stop = meter + round(energy)
        tx.energy_wh = round(energy)
        tx.stop_time = start + timedelta(minutes=minutes)
        tx.stop_reason = "EVDisconnected"
        tx.save()
        meter += round(energy)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=BASE_DIR,
        stdout=(TMP / "server.out").open("wb"),
        stderr=subprocess.STDOUT,
    )
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ocpp/health/", timeout=1):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError((TMP / "server.out").read_text())


class ShotChargePoint(ChargePoint):
    """Answers the command the screenshot of the command forms sends."""

    @on("GetCompositeSchedule")
    def on_get_composite_schedule(self, connector_id, duration, charging_rate_unit=None, **_):
        return call_result.GetCompositeSchedule(
            status="Accepted",
            connector_id=connector_id,
            schedule_start=iso(datetime.now(UTC).replace(second=0, microsecond=0)),
            charging_schedule={
                "duration": duration,
                "chargingRateUnit": charging_rate_unit or "A",
                "chargingSchedulePeriod": [
                    {"startPeriod": 0, "limit": 16.0, "numberPhases": 3},
                    {"startPeriod": 1800, "limit": 10.0, "numberPhases": 3},
                    {"startPeriod": 3600, "limit": 32.0, "numberPhases": 3},
                ],
            },
        )


async def live_charger(port: int, cid: str, *, charging: bool, stop: asyncio.Event, ready: asyncio.Event) -> None:
    async with websockets.connect(f"ws://127.0.0.1:{port}/ocpp16/{cid}", subprotocols=["ocpp1.6"]) as ws:
        cp = ShotChargePoint(cid, ws)
        task = asyncio.create_task(cp.start())
        await cp.call(
            call.BootNotification(
                charge_point_vendor="Acme", charge_point_model="Wallbox Pro", firmware_version="2.5.0"
            )
        )
        await cp.call(call.Heartbeat())
        now = datetime.now(UTC)
        await cp.call(call.StatusNotification(connector_id=1, error_code="NoError", status="Available"))
        await cp.call(call.StatusNotification(connector_id=2, error_code="NoError", status="Available"))
        if charging:
            start = now - timedelta(minutes=42)
            meter = 1_250_000
            result = await cp.call(
                call.StartTransaction(connector_id=1, id_tag="04A2B3C4D5", meter_start=meter, timestamp=iso(start))
            )
            await cp.call(call.StatusNotification(connector_id=1, error_code="NoError", status="Charging"))
            energy = 0.0
            for minute in range(0, 43):
                power = 11000 * min(1.0, 0.25 + minute / 8) - 600 * math.sin(minute / 4) ** 2
                energy += power / 60
                await cp.call(
                    call.MeterValues(
                        connector_id=1,
                        transaction_id=result.transaction_id,
                        meter_value=[
                            {
                                "timestamp": iso(start + timedelta(minutes=minute)),
                                "sampledValue": [
                                    {
                                        "value": f"{meter + energy:.0f}",
                                        "measurand": ENERGY_REGISTER,
                                        "unit": "Wh",
                                    },
                                    {"value": f"{power:.0f}", "measurand": ACTIVE_POWER, "unit": "W"},
                                ],
                            }
                        ],
                    )
                )
        ready.set()
        await stop.wait()
        task.cancel()


async def shoot(port: int, session: str) -> None:
    base = f"http://127.0.0.1:{port}"
    stop = asyncio.Event()
    readies = [asyncio.Event(), asyncio.Event()]
    chargers = [
        asyncio.create_task(live_charger(port, "MTY-CENTRO-01", charging=True, stop=stop, ready=readies[0])),
        asyncio.create_task(live_charger(port, "MTY-FUNDIDORA-03", charging=False, stop=stop, ready=readies[1])),
    ]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 60)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = await browser.new_context(viewport={"width": 1440, "height": 1000}, device_scale_factor=1)
        await context.add_cookies([{"name": "sessionid", "value": session, "domain": "127.0.0.1", "path": "/"}])

        async def only_local(route):
            if route.request.url.startswith(base):
                await route.continue_()
            else:
                await route.abort()

        await context.route("**/*", only_local)
        page = await context.new_page()
        await page.goto(base + "/ocpp/")
        await page.wait_for_selector('#live[data-state="open"]')
        await page.wait_for_timeout(800)
        await page.screenshot(path=str(OUT / "dashboard.png"), full_page=True)

        await page.goto(base + "/ocpp/chargers/MTY-CENTRO-01/view/")
        await page.wait_for_selector("#chart .uplot")
        await page.wait_for_timeout(300)
        await page.screenshot(path=str(OUT / "charger.png"), full_page=True)

        # The command forms: the smart-charging group open, a composite
        # schedule asked for and its answer shown.
        commands = page.locator("section.card", has=page.locator("h2", has_text="Commands"))
        group = commands.locator("details.cmd-group", has=page.locator("summary", has_text="Smart charging"))
        await group.locator("summary").click()
        schedule = group.locator('form[data-action="GetCompositeSchedule"]')
        await schedule.locator("button").click()
        await schedule.locator(".answer:not([hidden])").wait_for()
        await page.wait_for_timeout(300)
        await commands.screenshot(path=str(OUT / "commands.png"))

        await page.goto(base + "/ocpp/log/MTY-CENTRO-01/?action=MeterValues")
        await page.screenshot(path=str(OUT / "message-log.png"))

        await page.goto(base + "/ocpp/sessions/")
        await page.screenshot(path=str(OUT / "sessions.png"))

        charger_pk = await asyncio.to_thread(lambda: Charger.objects.get(charger_id="MTY-SANPEDRO-02").pk)
        await page.goto(f"{base}/admin/ocpp_app/charger/{charger_pk}/change/")
        await page.wait_for_selector('.latlng-map[data-ready="1"]')
        await page.locator(".latlng-map").scroll_into_view_if_needed()
        await page.screenshot(path=str(OUT / "admin-map.png"))

        phone = await browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
        await phone.route("**/*", only_local)
        mobile = await phone.new_page()
        await mobile.goto(base + "/ocpp/c/MTY-CENTRO-01/")
        await mobile.screenshot(path=str(OUT / "landing.png"), full_page=True)
        await browser.close()
    stop.set()
    await asyncio.gather(*chargers, return_exceptions=True)


def main() -> None:
    session = create_sample_data()
    port = free_port()
    server = start_server(port)
    try:
        asyncio.run(shoot(port, session))
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(TMP, ignore_errors=True)
    print("screenshots written to", OUT)


if __name__ == "__main__":
    main()
