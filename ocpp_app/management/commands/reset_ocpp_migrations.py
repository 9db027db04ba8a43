"""Clear and reapply the ocpp_app migrations when they became inconsistent.

This drops every ocpp_app table (their data is lost), forgets the app's
migration records, and migrates again.
"""

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from ocpp_app.apps import OcppAppConfig

APP = OcppAppConfig.name


class Command(BaseCommand):
    help = "Drop the ocpp_app tables, clear its migration history and migrate again (data is lost)."

    def add_arguments(self, parser):
        parser.add_argument("--noinput", "--no-input", action="store_false", dest="interactive")

    def handle(self, *args, interactive=True, **options):
        if interactive:
            answer = input(
                f"This deletes every table and row of '{APP}' in database "
                f"'{connection.settings_dict['NAME']}'. Type 'yes' to continue: "
            )
            if answer.strip().lower() != "yes":
                self.stdout.write("Cancelled.")
                return
        prefix = f"{APP}_"
        tables = [name for name in connection.introspection.table_names() if name.startswith(prefix)]
        with connection.schema_editor() as editor:
            for table in tables:
                editor.execute(
                    f"DROP TABLE IF EXISTS {editor.quote_name(table)} CASCADE"
                    if connection.vendor == "postgresql"
                    else f"DROP TABLE IF EXISTS {editor.quote_name(table)}"
                )
        MigrationRecorder(connection).migration_qs.filter(app=APP).delete()
        self.stdout.write(f"Dropped {len(tables)} table(s) and the migration history of {APP}.")
        call_command("migrate", APP, interactive=False, verbosity=options.get("verbosity", 1))
        self.stdout.write(self.style.SUCCESS("Migrations reapplied."))
