"""reset_ocpp_migrations: drops the app's tables and migrates them again."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from ocpp_app.models import RFID, Charger

pytestmark = pytest.mark.django_db(transaction=True)


def app_tables() -> set[str]:
    return {name for name in connection.introspection.table_names() if name.startswith("ocpp_app_")}


def test_it_drops_the_data_and_recreates_the_tables_with_noinput(capsys):
    tables = app_tables()
    Charger.objects.create(charger_id="CP1")
    call_command("reset_ocpp_migrations", "--noinput")
    assert app_tables() == tables
    assert (Charger.objects.count(), RFID.objects.count()) == (0, 0)
    assert "Migrations reapplied." in capsys.readouterr().out


def test_it_leaves_usable_tables_behind():
    call_command("reset_ocpp_migrations", "--noinput")
    Charger.objects.create(charger_id="CP2")
    assert Charger.objects.get().charger_id == "CP2"


def test_it_records_the_app_migrations_again():
    call_command("reset_ocpp_migrations", "--noinput")
    applied = MigrationRecorder(connection).applied_migrations()
    assert ("ocpp_app", "0001_initial") in applied


def test_it_repairs_a_lost_migration_history():
    # Tables present but the history says nothing was applied.
    MigrationRecorder(connection).migration_qs.filter(app="ocpp_app").delete()
    call_command("reset_ocpp_migrations", "--noinput")
    assert ("ocpp_app", "0001_initial") in MigrationRecorder(connection).applied_migrations()


def test_it_repairs_a_lost_table():
    with connection.schema_editor() as editor:
        editor.delete_model(RFID)
    call_command("reset_ocpp_migrations", "--noinput")
    RFID.objects.create(id_tag="TAG1")
    assert RFID.objects.count() == 1


def test_it_cancels_when_the_operator_does_not_confirm(monkeypatch, capsys):
    Charger.objects.create(charger_id="CP1")
    monkeypatch.setattr("builtins.input", lambda prompt="": "no")
    call_command("reset_ocpp_migrations")
    assert Charger.objects.count() == 1
    assert "Cancelled." in capsys.readouterr().out


def test_it_resets_when_the_operator_types_yes(monkeypatch):
    Charger.objects.create(charger_id="CP1")
    monkeypatch.setattr("builtins.input", lambda prompt="": " YES ")
    call_command("reset_ocpp_migrations")
    assert Charger.objects.count() == 0


def test_it_names_the_database_in_the_prompt(monkeypatch):
    prompts = []
    monkeypatch.setattr("builtins.input", lambda prompt="": prompts.append(prompt) or "no")
    call_command("reset_ocpp_migrations")
    assert str(connection.settings_dict["NAME"]) in prompts[0]


def test_it_leaves_other_apps_tables_alone():
    from django.contrib.auth.models import User

    User.objects.create(username="operator")
    call_command("reset_ocpp_migrations", "--noinput")
    assert User.objects.filter(username="operator").exists()
