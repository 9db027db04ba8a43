"""The benchmark's only way into the database (`make bench`, bench/targets.py).

The load client speaks OCPP over the network and never touches the database
itself; what it needs from the database before and after a run goes through
this command, so that the bench holds no ORM code or SQL of its own:

  prepare  create the known chargers of a storm, as after a server restart,
           each with a Basic-auth password if one is given
  backlog  report how a replayed transaction's readings were stored
  version  the database's vendor and version, for the report
  load     the load manager's plan on a made-up tree (circuits, sessions),
           timed per pass, inside a transaction that is rolled back
"""

import json
import statistics
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ocpp_app.models import Charger, Circuit, MeterReading, Transaction
from ocpp_app.services import load
from ocpp_app.services.qr import landing_url, qr_render
from ocpp_app.services.secrets import InvalidPassword, password_validate, secret_hash


def known_chargers_create(prefix: str, count: int, password: str = "") -> int:
    """Chargers `<prefix>00000` ... as a restarted server finds them: rows made
    in bulk (no per-row signal), each with an up-to-date landing-page QR code.
    One code is rendered and shared: rendering 10 000 would take minutes, and
    the server only checks that a stored code is there for the current URL.

    With a `password`, every one of them (existing ones too, which keep the
    rest of their row) requires it in Basic auth; each is stored as the
    server stores an AuthorizationKey, with a salt of its own."""
    if password:
        password_validate(password)
    png, svg = qr_render(landing_url(prefix))
    ids = [f"{prefix}{i:05d}" for i in range(count)]
    existing = set(Charger.objects.filter(charger_id__in=ids).values_list("charger_id", flat=True))

    def hashed() -> str:
        return secret_hash(password) if password else ""

    Charger.objects.bulk_create(
        [
            Charger(charger_id=i, qr_url=landing_url(i), qr_png=png, qr_svg=svg, password_hash=hashed())
            for i in ids
            if i not in existing
        ],
        batch_size=500,
        ignore_conflicts=True,
    )
    if password and existing:
        kept = list(Charger.objects.filter(charger_id__in=existing).only("pk"))
        for charger in kept:
            charger.password_hash = hashed()
        Charger.objects.bulk_update(kept, ["password_hash"], batch_size=500)
    return Charger.objects.filter(charger_id__in=ids).count()


def backlog_report(transaction_id: int) -> dict[str, Any]:
    """How many energy readings of the transaction were stored, whether they
    were stored in the order of their timestamps, and whether it was stopped."""
    stamps = list(
        MeterReading.objects.filter(transaction_id=transaction_id, measurand="Energy.Active.Import.Register")
        .order_by("id")
        .values_list("timestamp", flat=True)
    )
    stopped = Transaction.objects.filter(pk=transaction_id, stop_time__isnull=False).exists()
    return {"stored": len(stamps), "in_order": stamps == sorted(stamps), "stopped": stopped}


class _RollBack(Exception):
    pass


def load_plan_timing(circuits: int, sessions: int, passes: int) -> dict[str, Any]:
    """Time `load_plan` on a main supply with `circuits` feeders and
    `sessions` active sessions spread over them, each with a Current.Import
    per phase; the first pass writes every allocation, the later ones find
    nothing changed. Nothing is left in the database."""
    result: dict[str, Any] = {}
    try:
        with transaction.atomic():
            main = Circuit.objects.create(name="bench-main", max_current=Decimal("9999"))
            feeders = [
                Circuit.objects.create(name=f"bench-feeder-{i}", max_current=Decimal("400"), parent=main)
                for i in range(circuits)
            ]
            now = timezone.now()
            chargers = Charger.objects.bulk_create(
                Charger(charger_id=f"bench-load-{i:05d}", circuit=feeders[i % circuits], connected=True)
                for i in range(sessions)
            )
            txs = Transaction.objects.bulk_create(
                Transaction(
                    charger=c, connector_id=1, id_tag="BENCH", meter_start=0, start_time=now - timedelta(minutes=5)
                )
                for c in chargers
            )
            MeterReading.objects.bulk_create(
                MeterReading(
                    charger=tx.charger,
                    connector_id=1,
                    transaction=tx,
                    timestamp=now,
                    measurand="Current.Import",
                    phase=phase,
                    unit="A",
                    value="10",
                    value_numeric=10.0,
                )
                for tx in txs
                for phase in ("L1", "L2", "L3")
            )
            times, queries = [], []
            for _ in range(passes):
                with CaptureQueriesContext(connection) as captured:
                    started = time.perf_counter()
                    plan = load.load_plan()
                    times.append((time.perf_counter() - started) * 1000)
                queries.append(len(captured.captured_queries))
                for order in plan.orders:  # as if every charger accepted
                    load.load_applied(order=order, status="accepted")
            result = {
                "circuits": circuits + 1,
                "sessions": sessions,
                "first_pass_ms": round(times[0], 1),
                "first_pass_queries": queries[0],
                "steady_pass_ms_median": round(statistics.median(times[1:]), 1) if passes > 1 else None,
                "steady_pass_queries": queries[-1],
            }
            raise _RollBack
    except _RollBack:
        pass
    return result


def database_version() -> dict[str, str]:
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        number = connection.pg_version  # e.g. 150020 for 15.20
        version = f"{number // 10000}.{number % 10000}"
    elif connection.vendor == "sqlite":
        version = connection.Database.sqlite_version
    else:
        version = "?"
    return {"vendor": connection.vendor, "version": version}


class Command(BaseCommand):
    help = "Benchmark fixtures and checks: prepare known chargers, report a backlog, print the database version."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        prepare = sub.add_parser("prepare", help="create known chargers <prefix>00000...")
        prepare.add_argument("--prefix", required=True)
        prepare.add_argument("--count", type=int, required=True)
        prepare.add_argument("--password", default="", help="Basic-auth password every one of them requires")
        backlog = sub.add_parser("backlog", help="JSON report of a replayed transaction's readings")
        backlog.add_argument("transaction_id", type=int)
        sub.add_parser("version", help="JSON vendor and version of the database")
        plan = sub.add_parser("load", help="JSON timing of the load manager's plan (rolled back)")
        plan.add_argument("--circuits", type=int, default=20, help="feeders under one main supply")
        plan.add_argument("--sessions", type=int, default=500)
        plan.add_argument("--passes", type=int, default=5)

    def handle(self, *args, action: str, **options) -> None:
        if action == "prepare":
            if options["count"] < 0:
                raise CommandError("--count must be 0 or more")
            try:
                count = known_chargers_create(options["prefix"], options["count"], options["password"])
            except InvalidPassword as error:
                raise CommandError(f"--password: {error}") from error
            result: dict[str, Any] = {"chargers": count}
        elif action == "backlog":
            result = backlog_report(options["transaction_id"])
        elif action == "load":
            if options["circuits"] < 1 or options["sessions"] < 0 or options["passes"] < 1:
                raise CommandError("--circuits and --passes must be 1 or more, --sessions 0 or more")
            result = load_plan_timing(options["circuits"], options["sessions"], options["passes"])
        else:
            result = database_version()
        self.stdout.write(json.dumps(result))
