"""Delete what is older than its retention (services/retention.py): the
message log, command records, status-notification history and DataTransfer
records after OCPP_MESSAGE_LOG_RETENTION_DAYS, meter readings after
OCPP_METER_READING_RETENTION_DAYS, dead nodes' leases after a week.
Transactions are never pruned. What `serve` runs every OCPP_PRUNE_INTERVAL
seconds; run it from cron instead when that is 0 (docs/retention.md)."""

from django.core.management.base import BaseCommand, CommandError

from ocpp_app.services.retention import prune, prune_count, retention_days

MAX_BATCH = 100_000


class Command(BaseCommand):
    help = (
        "Delete message-log rows, command records, status history and DataTransfer records older than "
        "OCPP_MESSAGE_LOG_RETENTION_DAYS, meter readings older than OCPP_METER_READING_RETENTION_DAYS "
        "and dead nodes' leases older than a week, in short batches; prints the rows per table."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="count what would be deleted, delete nothing")
        parser.add_argument(
            "--batch", type=int, help=f"rows per short transaction, 1 to {MAX_BATCH} (default: OCPP_PRUNE_BATCH)"
        )
        parser.add_argument(
            "--message-log-days",
            type=int,
            help="days the message log, commands, status history and DataTransfer records are kept; 0 keeps them "
            "(default: OCPP_MESSAGE_LOG_RETENTION_DAYS)",
        )
        parser.add_argument(
            "--meter-reading-days",
            type=int,
            help="days meter readings are kept; 0 keeps them (default: OCPP_METER_READING_RETENTION_DAYS)",
        )

    def handle(self, *args, **options) -> None:
        batch = options["batch"]
        if batch is not None and not 1 <= batch <= MAX_BATCH:
            raise CommandError(f"--batch {batch}: use a number of rows from 1 to {MAX_BATCH}")
        for option in ("message_log_days", "meter_reading_days"):
            if options[option] is not None and options[option] < 0:
                name = "--" + option.replace("_", "-")
                raise CommandError(f"{name} {options[option]}: use a number of days, or 0 to keep everything")
        days_given = {
            "message_log_days": options["message_log_days"],
            "meter_reading_days": options["meter_reading_days"],
        }
        days = retention_days(**days_given)
        if options["dry_run"]:
            counts, verb = prune_count(**days_given), "would be deleted"
        else:
            counts, verb = prune(batch=batch, **days_given), "deleted"
        for label, rows in counts.items():
            if days[label]:
                self.stdout.write(f"{label}: {rows} {verb} (older than {days[label]} days)")
            else:
                self.stdout.write(f"{label}: kept (retention 0 days)")
        self.stdout.write(f"total: {sum(counts.values())} {verb}")
