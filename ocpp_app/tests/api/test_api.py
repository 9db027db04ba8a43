"""The REST API in process: auth, chargers, RFID cards, transactions, meter
readings, schema and docs."""

import csv
import io
import urllib.parse
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from ocpp_app.models import RFID, Charger, Connector, MessageLog, MeterReading, Transaction
from ocpp_app.services.chargers import BOOT_IDENTITY_FIELDS, BootIdentity, charger_boot
from ocpp_app.services.secrets import secret_verify
from ocpp_app.tests.helpers import STAFF_PASSWORD, api_client_for, create_without_role

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def client(api_client):
    """Every test here speaks to the API as the operator, with a token."""
    return api_client


def url_of(charger_id: str, suffix: str = "") -> str:
    return f"/ocpp/chargers/{urllib.parse.quote(charger_id, safe='')}/{suffix}"


# -- authentication -------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/ocpp/chargers/", "/ocpp/rfids/", "/ocpp/transactions/", "/ocpp/transactions/export.csv"]
)
def test_it_answers_401_without_credentials(path):
    response = APIClient().get(path)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")


def test_it_answers_403_to_a_user_who_is_not_staff():
    assert api_client_for(create_without_role()).get("/ocpp/chargers/").status_code == 403


def test_a_wrong_token_is_401():
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Token nope")
    assert api.get("/ocpp/chargers/").status_code == 401


def test_a_staff_session_with_csrf_can_send_commands(staff):
    Charger.objects.create(charger_id="SESS1")
    api = APIClient(enforce_csrf_checks=True)
    assert api.login(username=staff.username, password=STAFF_PASSWORD)
    without_csrf = api.post(url_of("SESS1", "action/"), {"action": "reset"}, format="json")
    assert without_csrf.status_code == 403
    # What a page rendered by Django gives the browser: the CSRF cookie, sent
    # back in the X-CSRFToken header.
    token = "a" * 32
    api.cookies["csrftoken"] = token
    response = api.post(url_of("SESS1", "action/"), {"action": "reset"}, format="json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 409  # reached the command path: the charger is offline
    assert api.get("/ocpp/chargers/").status_code == 200


# -- chargers ---------------------------------------------------------------------


def test_the_list_shows_live_state(client):
    now = datetime.now(UTC)
    online = Charger.objects.create(
        charger_id="LIVE1", connected=True, connected_since=now, last_seen=now, last_heartbeat=now, vendor="Acme"
    )
    Charger.objects.create(charger_id="OLD1")
    Connector.objects.create(charger=online, connector_id=1, status="Charging", error_code="NoError", timestamp=T0)
    Transaction.objects.create(charger=online, connector_id=1, id_tag="T1", meter_start=10, start_time=T0)
    Transaction.objects.create(
        charger=online, connector_id=1, id_tag="T0", meter_start=0, start_time=T0 - timedelta(days=1), stop_time=T0
    )
    response = client.get("/ocpp/chargers/")
    assert response.status_code == 200
    rows = {row["charger_id"]: row for row in response.json()["results"]}
    live = rows["LIVE1"]
    assert live["connected"] is True and live["state"] == "online" and live["vendor"] == "Acme"
    assert live["connectors"] == [
        {
            "connector_id": 1,
            "status": "Charging",
            "error_code": "NoError",
            "info": "",
            "timestamp": "2026-03-01T12:00:00Z",
        }
    ]
    assert [t["id_tag"] for t in live["active_transactions"]] == ["T1"]
    assert rows["OLD1"]["state"] == "offline" and rows["OLD1"]["connected"] is False
    assert "password" not in live and "password_hash" not in live
    for name in ["last_path", "registration_status", "last_heartbeat", "serial_number", "firmware_version", "iccid"]:
        assert name in live


def test_the_charger_resource_shows_everything_a_boot_reported_read_only(client):
    identity = BootIdentity(
        vendor="Acme",
        model="X1",
        serial_number="SN1",
        charge_box_serial_number="BOX1",
        firmware_version="1.2",
        iccid="8931",
        imsi="2620",
        meter_type="MT",
        meter_serial_number="MSN1",
    )
    charger_boot(charger_id="BOOTED", identity=identity)
    expected = {name: getattr(identity, name) for name in BOOT_IDENTITY_FIELDS}
    body = client.get(url_of("BOOTED")).json()
    assert {name: body[name] for name in expected} == expected
    assert body["last_boot_at"]
    listed = next(row for row in client.get("/ocpp/chargers/").json()["results"] if row["charger_id"] == "BOOTED")
    assert {name: listed[name] for name in expected} == expected
    client.patch(url_of("BOOTED"), {"meter_serial_number": "FORGED", "charge_box_serial_number": "X"}, format="json")
    stored = Charger.objects.get(charger_id="BOOTED")
    assert (stored.meter_serial_number, stored.charge_box_serial_number) == ("MSN1", "BOX1")


def test_a_connected_charger_that_went_silent_is_stale(client):
    long_ago = datetime.now(UTC) - timedelta(hours=2)
    Charger.objects.create(charger_id="STALE1", connected=True, connected_since=long_ago, last_seen=long_ago)
    assert client.get(url_of("STALE1")).json()["state"] == "stale"


def test_it_preregisters_a_charger_with_a_password(client):
    response = client.post(
        "/ocpp/chargers/",
        {"charger_id": "NEW 1", "require_rfid": True, "password": "0123456789abcdef", "registration_status": "Pending"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["charger_id"] == "NEW 1" and body["require_rfid"] is True and body["has_password"] is True
    assert "password" not in body
    charger = Charger.objects.get(charger_id="NEW 1")
    assert charger.registration_status == "Pending"
    assert secret_verify(password="0123456789abcdef", password_hash=charger.password_hash)


@pytest.mark.parametrize("bad", ["a/b", "..", "x" * 49, "tab\there", ""])
def test_it_refuses_charger_ids_a_charger_could_not_use(client, bad):
    assert client.post("/ocpp/chargers/", {"charger_id": bad}, format="json").status_code == 400


def test_a_duplicate_charger_is_400(client):
    Charger.objects.create(charger_id="DUP")
    assert client.post("/ocpp/chargers/", {"charger_id": "DUP"}, format="json").status_code == 400


def test_a_bad_password_is_400_and_creates_nothing(client):
    response = client.post("/ocpp/chargers/", {"charger_id": "PW", "password": "short"}, format="json")
    assert response.status_code == 400
    assert "password" in response.json()
    assert not Charger.objects.filter(charger_id="PW").exists()


@pytest.mark.parametrize("charger_id", ["CP #1", "a:b:c", "Zürich-Ladesäule", "充电桩 7", "50%off?x=1"])
def test_detail_accepts_any_charger_id_without_a_slash(client, charger_id):
    Charger.objects.create(charger_id=charger_id)
    MessageLog.objects.create(charger_id=charger_id, direction="in", action="Heartbeat", message_id="m1", payload={})
    response = client.get(url_of(charger_id))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["charger_id"] == charger_id
    assert body["messages"][0]["action"] == "Heartbeat" and body["messages"][0]["direction"] == "in"
    assert set(body["messages"][0]) == {"direction", "action", "message_id", "payload", "timestamp"}
    assert client.get(url_of(charger_id, "meter-readings/")).status_code == 200
    assert client.post(url_of(charger_id, "action/"), {"action": "reset"}, format="json").status_code == 409


def test_detail_of_an_unknown_charger_is_404(client):
    assert client.get(url_of("nope")).status_code == 404
    assert client.post(url_of("nope", "action/"), {"action": "reset"}, format="json").status_code == 404


def test_detail_keeps_only_recent_messages(client):
    Charger.objects.create(charger_id="MSG")
    MessageLog.objects.bulk_create(
        MessageLog(charger_id="MSG", direction="in", action="Heartbeat", message_id=str(i)) for i in range(60)
    )
    assert len(client.get(url_of("MSG")).json()["messages"]) == 50
    messages = client.get(url_of("MSG") + "?messages=5").json()["messages"]
    assert [m["message_id"] for m in messages] == ["59", "58", "57", "56", "55"]


def test_patch_edits_the_operator_fields(client):
    Charger.objects.create(charger_id="P1", vendor="Acme")
    response = client.patch(
        url_of("P1"),
        {
            "require_rfid": True,
            "registration_status": "Rejected",
            "latitude": "25.686600",
            "longitude": "-100.316100",
            "config": {"note": "north wall"},
            "vendor": "Forged",
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    charger = Charger.objects.get(charger_id="P1")
    assert charger.require_rfid and charger.registration_status == "Rejected"
    assert str(charger.latitude) == "25.686600" and str(charger.longitude) == "-100.316100"
    assert charger.config == {"note": "north wall"}
    assert charger.vendor == "Acme"  # reported by the charger, read-only here


def test_patch_cannot_rename_a_charger(client):
    Charger.objects.create(charger_id="P2")
    client.patch(url_of("P2"), {"charger_id": "P3"}, format="json")
    assert Charger.objects.filter(charger_id="P2").exists()


def test_patch_sets_and_clears_the_password(client):
    Charger.objects.create(charger_id="P4")
    response = client.patch(url_of("P4"), {"password": "A-valid-key-0123456"}, format="json")
    assert response.status_code == 200 and response.json()["has_password"] is True
    assert "A-valid-key" not in response.content.decode()
    assert secret_verify(
        password="A-valid-key-0123456", password_hash=Charger.objects.get(charger_id="P4").password_hash
    )
    assert client.patch(url_of("P4"), {"password": "with space in it 123"}, format="json").status_code == 400
    assert client.patch(url_of("P4"), {"password": ""}, format="json").json()["has_password"] is False
    assert Charger.objects.get(charger_id="P4").password_hash == ""


def test_an_api_edit_never_writes_back_stale_live_state():
    from ocpp_app.api.serializers import ChargerUpdateSerializer

    Charger.objects.create(charger_id="P1")
    stale = Charger.objects.get(charger_id="P1")
    # The charger connects while the operator's PATCH is being handled.
    Charger.objects.filter(charger_id="P1").update(connected=True, channel_name="chan-live", connection_id="c9")
    serializer = ChargerUpdateSerializer(stale, data={"require_rfid": True}, partial=True)
    assert serializer.is_valid(), serializer.errors
    serializer.save()
    charger = Charger.objects.get(charger_id="P1")
    assert (charger.require_rfid, charger.connected, charger.channel_name) == (True, True, "chan-live")


def test_put_of_a_charger_is_not_allowed_and_delete_is(client):
    """PUT would replace what the charger reports; DELETE is its own rule (test_charger_delete.py)."""
    Charger.objects.create(charger_id="P5")
    assert client.put(url_of("P5"), {"charger_id": "P5"}, format="json").status_code == 405
    assert client.delete(url_of("P5")).status_code == 200
    assert not Charger.objects.filter(charger_id="P5").exists()


def test_nul_characters_and_lone_surrogates_are_400(client):
    Charger.objects.create(charger_id="P6")
    body = b'{"config": {"a": "x\\u0000y"}}'
    assert client.patch(url_of("P6"), body, content_type="application/json").status_code == 400
    body = b'{"config": {"a": "\\ud800"}}'
    assert client.patch(url_of("P6"), body, content_type="application/json").status_code == 400
    body = b'{"config": {"a": 1e400}}'
    assert client.patch(url_of("P6"), body, content_type="application/json").status_code == 400
    assert client.get("/ocpp/transactions/?id_tag=a%00b").status_code == 400
    assert client.get("/ocpp/chargers/a%00b/").status_code == 404


# -- RFID cards ---------------------------------------------------------------------


def test_rfid_crud(client):
    created = client.post(
        "/ocpp/rfids/",
        {"id_tag": "CARD1", "status": "Accepted", "label": "Ana", "expiry_date": "2030-01-01T00:00:00Z"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json() == {
        "id_tag": "CARD1",
        "status": "Accepted",
        "expiry_date": "2030-01-01T00:00:00Z",
        "parent_id_tag": "",
        "label": "Ana",
    }
    assert client.get("/ocpp/rfids/").json()["results"][0]["id_tag"] == "CARD1"
    assert client.get("/ocpp/rfids/CARD1/").json()["label"] == "Ana"
    patched = client.patch("/ocpp/rfids/CARD1/", {"status": "Blocked", "id_tag": "OTHER"}, format="json")
    assert patched.status_code == 200 and patched.json()["status"] == "Blocked"
    assert RFID.objects.get(id_tag="CARD1").status == "Blocked"
    assert client.post("/ocpp/rfids/", {"id_tag": "CARD1"}, format="json").status_code == 400
    assert client.post("/ocpp/rfids/", {"id_tag": "X" * 21}, format="json").status_code == 400
    assert client.post("/ocpp/rfids/", {"id_tag": "C2", "status": "Maybe"}, format="json").status_code == 400
    assert client.delete("/ocpp/rfids/CARD1/").status_code == 204
    assert client.get("/ocpp/rfids/CARD1/").status_code == 404


# -- transactions and meter readings ----------------------------------------------


@pytest.fixture
def sessions():
    a = Charger.objects.create(charger_id="TA")
    b = Charger.objects.create(charger_id="TB")
    t1 = Transaction.objects.create(
        charger=a,
        connector_id=1,
        id_tag="ANA",
        meter_start=1000,
        meter_stop=8500,
        energy_wh=7500,
        start_time=T0,
        stop_time=T0 + timedelta(hours=1),
        stop_reason="Local",
    )
    t2 = Transaction.objects.create(
        charger=a, connector_id=2, id_tag="=HYPERLINK()", meter_start=0, start_time=T0 + timedelta(days=1)
    )
    t3 = Transaction.objects.create(
        charger=b, connector_id=1, id_tag="ANA", meter_start=0, start_time=T0 + timedelta(days=2)
    )
    return a, b, t1, t2, t3


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["transaction_id"] for row in response.json()["results"]]


def test_transactions_list_and_filters(client, sessions):
    a, b, t1, t2, t3 = sessions
    assert ids(client.get("/ocpp/transactions/")) == [t3.pk, t2.pk, t1.pk]
    assert ids(client.get("/ocpp/transactions/?charger=TA")) == [t2.pk, t1.pk]
    assert ids(client.get("/ocpp/transactions/?id_tag=ANA")) == [t3.pk, t1.pk]
    assert ids(client.get("/ocpp/transactions/?since=2026-03-02T00:00:00Z")) == [t3.pk, t2.pk]
    assert ids(client.get("/ocpp/transactions/?until=2026-03-02T12:00:01Z&charger=TA")) == [t2.pk, t1.pk]
    assert ids(client.get("/ocpp/transactions/?since=2026-03-01T12:00:00Z&until=2026-03-01T12:00:01Z")) == [t1.pk]
    row = client.get("/ocpp/transactions/?charger=TA").json()["results"][1]
    assert row == {
        "transaction_id": t1.pk,
        "charger_id": "TA",
        "connector_id": 1,
        "id_tag": "ANA",
        "meter_start": 1000,
        "meter_stop": 8500,
        "start_time": "2026-03-01T12:00:00Z",
        "stop_time": "2026-03-01T13:00:00Z",
        "stop_reason": "Local",
        "energy_wh": 7500,
    }
    assert ids(client.get("/ocpp/transactions/?limit=100000000000000000000")) == [t3.pk, t2.pk, t1.pk]
    assert client.get("/ocpp/transactions/?since=yesterday").status_code == 400
    assert client.get("/ocpp/transactions/?since=0001-01-01T00:00:00%2B01:00").status_code == 400
    assert client.get("/ocpp/transactions/?until=2026-02-30T00:00:00Z").status_code == 400


def test_transactions_export_csv(client, sessions):
    a, b, t1, t2, t3 = sessions
    response = client.get("/ocpp/transactions/export.csv?charger=TA")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [int(r["transaction_id"]) for r in rows] == [t2.pk, t1.pk]
    assert rows[1]["energy_wh"] == "7500" and rows[1]["charger_id"] == "TA"
    assert rows[0]["meter_stop"] == ""
    assert rows[0]["id_tag"] == "'=HYPERLINK()"  # never a formula in a spreadsheet
    assert client.get("/ocpp/transactions/export.csv?until=13/13/13").status_code == 400


def test_meter_readings_and_filters(client, sessions):
    a, b, t1, t2, t3 = sessions
    for minute, measurand, value in [(0, "Energy.Active.Import.Register", "1000"), (0, "Power.Active.Import", "7.4")]:
        MeterReading.objects.create(
            charger=a,
            connector_id=1,
            transaction=t1,
            timestamp=T0 + timedelta(minutes=minute),
            measurand=measurand,
            unit="Wh" if measurand.startswith("Energy") else "kW",
            context="Sample.Periodic",
            value=value,
        )
    MeterReading.objects.create(charger=a, connector_id=2, transaction=t2, timestamp=T0 + timedelta(days=1), value="5")
    MeterReading.objects.create(charger=b, connector_id=1, transaction=t3, timestamp=T0, value="9")
    url = url_of("TA", "meter-readings/")
    rows = client.get(url).json()["results"]
    assert len(rows) == 3
    assert rows[0] == {
        "transaction_id": t1.pk,
        "connector_id": 1,
        "timestamp": "2026-03-01T12:00:00Z",
        "measurand": "Energy.Active.Import.Register",
        "phase": "",
        "unit": "Wh",
        "context": "Sample.Periodic",
        "location": "",
        "format": "",
        "value": "1000",
    }
    assert [r["value"] for r in client.get(f"{url}?transaction={t2.pk}").json()["results"]] == ["5"]
    assert [r["value"] for r in client.get(f"{url}?measurand=Power.Active.Import").json()["results"]] == ["7.4"]
    assert len(client.get(f"{url}?since=2026-03-02T00:00:00Z").json()["results"]) == 1
    assert len(client.get(f"{url}?until=2026-03-02T00:00:00Z").json()["results"]) == 2
    assert client.get(f"{url}?transaction=abc").status_code == 400
    assert client.get(url_of("nope", "meter-readings/")).status_code == 404


# -- schema and docs -----------------------------------------------------------------


def test_the_openapi_schema_is_valid_and_lists_every_endpoint():
    from drf_spectacular.validation import validate_schema

    response = APIClient().get("/ocpp/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")
    for path in [
        "/ocpp/chargers/",
        "/ocpp/chargers/{cid}/",
        "/ocpp/chargers/{cid}/action/",
        "/ocpp/chargers/{cid}/meter-readings/",
        "/ocpp/rfids/",
        "/ocpp/rfids/{id_tag}/",
        "/ocpp/transactions/",
        "/ocpp/transactions/export.csv",
    ]:
        assert path in schema["paths"], path


def test_swagger_ui_is_served_from_local_static_files():
    response = APIClient().get("/ocpp/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    asset = APIClient().get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert asset.status_code == 200


def test_transactions_can_be_listed_active_only_or_stopped_only(client):
    charger = Charger.objects.create(charger_id="ACT1")
    now = timezone.now()
    running = Transaction.objects.create(charger=charger, connector_id=1, id_tag="A", meter_start=0, start_time=now)
    Transaction.objects.create(
        charger=charger, connector_id=2, id_tag="B", meter_start=0, start_time=now, stop_time=now, meter_stop=5
    )
    active = client.get("/ocpp/transactions/?active=true").json()["results"]
    assert [t["transaction_id"] for t in active] == [running.pk]
    stopped = client.get("/ocpp/transactions/?active=0").json()["results"]
    assert [t["id_tag"] for t in stopped] == ["B"]
    bad = client.get("/ocpp/transactions/?active=maybe")
    assert bad.status_code == 400 and "active" in bad.json()
