"""The roles on the REST API (api/permissions.py, services/roles.py): reading
for viewers, every other method for operators, nothing for a user without a
role (staff or not), 401 without credentials. Every route and method is read
from the URL resolver, so a new resource is checked without being listed
here; the writes of each resource family are also made with a valid body, to
show a viewer's changes nothing and an operator's goes through."""

import json
from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework.views import APIView

from ocpp_app.models import RFID, Charger, Circuit, Command, IssuedCertificate, Reservation
from ocpp_app.services import load
from ocpp_app.tests.helpers import (
    api_client_for,
    create_staff,
    create_viewer,
    create_without_role,
    database_rows,
    make_charger,
    make_session,
)

pytestmark = pytest.mark.django_db

PUBLIC = {"api-schema", "api-docs"}
SAFE = {"GET", "HEAD", "OPTIONS"}
UNKNOWN_PK = 999_999  # the role is checked before the object is looked up


def api_routes() -> list[tuple[str, dict, list[str]]]:
    """(name, converters, allowed methods) of every REST route of the ocpp
    namespace but the public schema and its docs."""
    found = []

    def walk(patterns, namespaces):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, [*namespaces, entry.namespace] if entry.namespace else namespaces)
            elif isinstance(entry, URLPattern) and "ocpp" in namespaces:
                view_class = getattr(entry.callback, "cls", None)
                if isinstance(view_class, type) and issubclass(view_class, APIView) and entry.name not in PUBLIC:
                    methods = view_class(**entry.callback.initkwargs).allowed_methods
                    found.append((entry.name, entry.pattern.converters, methods))

    walk(get_resolver().url_patterns, [])
    return found


@pytest.fixture
def network():
    """One of each resource, the pks of the routes that take one."""
    charger = make_charger("CP1")
    tx = make_session(charger)
    now = timezone.now()
    RFID.objects.create(id_tag="TAG1")
    issued = IssuedCertificate.objects.create(
        charger=charger, serial="01", subject="CN=CP1", not_before=now, not_after=now + timedelta(days=365), pem="-"
    )
    reservation = Reservation.objects.create(
        reservation_id=1, charger=charger, connector_id=1, id_tag="TAG1", expiry_date=now + timedelta(hours=1)
    )
    command = Command.objects.create(charger=charger, action="Reset", request={"type": "Soft"})
    circuit = load.circuit_write(circuit=None, fields={"name": "Main", "max_current": 32})
    return {
        "api-certificate": issued.pk,
        "api-certificate-revoke": issued.pk,
        "api-circuit": circuit.pk,
        "api-transaction": tx.pk,
        "api-reservation": reservation.pk,
        "api-command": command.pk,
    }


def url_of(name: str, converters: dict, pks: dict) -> str:
    values = {"cid": "CP1", "id_tag": "TAG1"}
    kwargs = {arg: values[arg] if arg in values else pks.get(name, UNKNOWN_PK) for arg in converters}
    return reverse(f"ocpp:{name}", kwargs=kwargs)


def every_request(pks: dict, *, safe: bool) -> list[tuple[str, str]]:
    """(method, url) of every route and method, the safe ones or the others."""
    return [
        (method, url_of(name, converters, pks))
        for name, converters, methods in api_routes()
        for method in methods
        if (method in SAFE) is safe
    ]


def call(client: APIClient, method: str, url: str, body=None):
    return client.generic(method, url, data=json.dumps({} if body is None else body), content_type="application/json")


def test_the_walk_finds_every_resource_family_and_its_writes():
    names = {name for name, _, _ in api_routes()}
    assert {"api-chargers", "api-charger", "api-charger-action", "api-rfids", "api-rfid", "api-circuits"} <= names
    assert {"api-certificate-revoke", "api-charger-certificate-install", "api-signed-firmware", "api-commands"} <= names
    writes = {(name, method) for name, _, methods in api_routes() for method in methods if method not in SAFE}
    assert {
        ("api-charger", "DELETE"),
        ("api-charger", "PATCH"),
        ("api-circuit", "PUT"),
        ("api-rfids", "POST"),
    } <= writes


def test_without_credentials_every_request_is_401(network):
    client = APIClient()
    for method, url in every_request(network, safe=True) + every_request(network, safe=False):
        response = call(client, method, url)
        assert response.status_code == 401, (method, url)
        assert response["WWW-Authenticate"].startswith("Token")


@pytest.mark.parametrize("staff", [False, True], ids=["not-staff", "staff"])
def test_a_user_without_a_role_is_refused_everything_naming_the_role(network, staff):
    client = api_client_for(create_without_role(staff=staff))
    before = database_rows()
    for safe, role in ((True, "viewer"), (False, "operator")):
        for method, url in every_request(network, safe=safe):
            response = call(client, method, url)
            assert response.status_code == 403, (method, url)
            if method != "HEAD":
                assert f"needs the {role} role" in response.json()["detail"], (method, url)
    assert database_rows() == before


def test_a_viewer_reads_every_resource(viewer_api_client, network):
    for method, url in every_request(network, safe=True):
        response = call(viewer_api_client, method, url)
        assert response.status_code not in (401, 403), (method, url, response.content)
        assert response.status_code < 500, (method, url)


def test_a_viewer_is_refused_every_write_and_nothing_changes(viewer_api_client, network):
    before = database_rows()
    for method, url in every_request(network, safe=False):
        response = call(viewer_api_client, method, url)
        assert response.status_code == 403, (method, url)
        assert "needs the operator role" in response.json()["detail"], (method, url)
    assert database_rows() == before


def test_an_operator_reads_every_resource_and_passes_the_role_check_on_every_write(api_client, network):
    for method, url in every_request(network, safe=True):
        assert call(api_client, method, url).status_code not in (401, 403), (method, url)
    for method, url in every_request(network, safe=False):
        # An empty body: a 400 (or 404, 409) from the view, never a refusal.
        assert call(api_client, method, url).status_code not in (401, 403), (method, url)


# -- each family's writes with a valid body ---------------------------------------------------


def valid_writes(pks: dict) -> list[tuple[str, str, object, int]]:
    """(method, url, body, the operator's status) of a real change of each
    family."""
    return [
        ("POST", "/ocpp/chargers/", {"charger_id": "NEW1"}, 201),
        ("PATCH", "/ocpp/chargers/CP1/", {"name": "Renamed"}, 200),
        ("POST", "/ocpp/rfids/", {"id_tag": "TAG2"}, 201),
        ("PATCH", "/ocpp/rfids/TAG1/", {"label": "Fleet"}, 200),
        ("POST", "/ocpp/circuits/", {"name": "Garage", "max_current": "16"}, 201),
        ("PATCH", f"/ocpp/circuits/{pks['api-circuit']}/", {"max_current": "40"}, 200),
        ("POST", f"/ocpp/certificates/{pks['api-certificate']}/revoke/", None, 200),
        ("DELETE", "/ocpp/rfids/TAG1/", None, 204),
        ("DELETE", f"/ocpp/circuits/{pks['api-circuit']}/", None, 204),
        ("DELETE", "/ocpp/chargers/CP1/?data=remove&force=true", None, 200),
    ]


def test_a_viewers_valid_writes_are_refused_and_change_nothing(viewer_api_client, network):
    before = database_rows()
    for method, url, body, _ in valid_writes(network):
        response = viewer_api_client.generic(method, url, **json_body(body))
        assert response.status_code == 403, (method, url)
    assert database_rows() == before


def test_an_operators_valid_writes_go_through(api_client, network):
    for method, url, body, status in valid_writes(network):
        response = api_client.generic(method, url, **json_body(body))
        assert response.status_code == status, (method, url, response.content)
    assert Charger.objects.filter(charger_id="NEW1").exists() and not Charger.objects.filter(charger_id="CP1").exists()
    assert list(RFID.objects.values_list("id_tag", flat=True)) == ["TAG2"]
    assert list(Circuit.objects.values_list("name", flat=True)) == ["Garage"]


def json_body(body) -> dict:
    if body is None:
        return {}
    return {"data": json.dumps(body), "content_type": "application/json"}


@pytest.mark.parametrize(
    "url, body",
    [
        ("/ocpp/chargers/CP1/action/", {"action": "Reset", "payload": {"type": "Soft"}}),
        ("/ocpp/chargers/CP1/certificates/renew/", {}),
        ("/ocpp/chargers/CP1/certificates/install/", {"certificate_type": "CentralSystemRootCertificate"}),
    ],
)
def test_commands_are_for_operators(viewer_api_client, api_client, network, url, body):
    before = database_rows()
    refused = viewer_api_client.post(url, body, format="json")
    assert refused.status_code == 403 and "needs the operator role" in refused.json()["detail"]
    assert database_rows() == before  # no command row: nothing was sent
    # The charger is not connected: the operator's command is answered, not refused.
    assert api_client.post(url, body, format="json").status_code not in (401, 403)


def test_a_session_of_a_viewer_reads_but_cannot_write(viewer_client, network):
    # The pages call the API with the browser's session.
    assert viewer_client.get("/ocpp/chargers/").status_code == 200
    refused = viewer_client.patch("/ocpp/chargers/CP1/", {"name": "x"}, content_type="application/json")
    assert refused.status_code == 403
    assert Charger.objects.get(charger_id="CP1").name != "x"


def test_a_superuser_and_a_staff_viewer_get_their_roles_not_their_staff_flag(network):
    superuser = api_client_for(create_staff("root", superuser=True))
    assert call(superuser, "PATCH", "/ocpp/chargers/CP1/", {"name": "Root"}).status_code == 200
    staff_viewer = api_client_for(create_viewer("sv", staff=True))
    assert staff_viewer.get("/ocpp/chargers/").status_code == 200
    assert call(staff_viewer, "PATCH", "/ocpp/chargers/CP1/", {"name": "Viewer"}).status_code == 403
    assert Charger.objects.get(charger_id="CP1").name == "Root"


def test_the_schema_and_its_docs_stay_public():
    assert APIClient().get(reverse("ocpp:api-schema")).status_code == 200
    assert APIClient().get(reverse("ocpp:api-docs")).status_code == 200
