"""Under the REST API every error is JSON, as DRF answers its own: an address
no route matches, a method or Accept header the schema views refuse, a request
Django refuses before any view. The pages beside the API, under the same
/ocpp/ prefix, keep their HTML."""

import pytest
from django.urls import reverse

from ocpp_app.tests.helpers import api_client_for, make_charger

pytestmark = pytest.mark.django_db

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
UNKNOWN_API_ROUTES = [
    "/ocpp/api/nope/",
    "/ocpp/api/schema/nope/",
    "/ocpp/api",
    "/ocpp/chargers/NOPE/nope/",
    "/ocpp/chargers/CP1/nope/",
    "/ocpp/chargers/CP1/certificates/nope/",
    "/ocpp/rfids/TAG1/nope/",
    "/ocpp/transactions/nope/",
    "/ocpp/certificates/nope/",
    "/ocpp/certificates/1/nope/",
]


def assert_json(response, status: int, detail: str | None = None) -> None:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    if detail is not None:
        assert response.json() == {"detail": detail}


@pytest.mark.parametrize("url", UNKNOWN_API_ROUTES)
def test_an_unknown_api_route_is_a_json_404(client, staff, url):
    make_charger("CP1")
    assert_json(api_client_for(staff).get(reverse("ocpp:api-charger", args=["CP1"])), 200)
    assert_json(client.get(url), 404, "Not found.")
    assert_json(client.get(url, HTTP_ACCEPT=BROWSER_ACCEPT), 404, "Not found.")
    assert_json(client.post(url, {}, content_type="application/json"), 404, "Not found.")
    assert_json(api_client_for(staff).delete(url), 404, "Not found.")


def test_a_page_under_an_api_prefix_keeps_its_html_404(staff_client):
    response = staff_client.get("/ocpp/chargers/NOPE/view/")
    assert response.status_code == 404
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert "<h1>Not found</h1>" in response.content.decode()


def test_the_charger_chart_data_of_an_unknown_charger_is_a_json_404(staff_client):
    make_charger("CP1")
    assert_json(staff_client.get(reverse("ocpp:charger-chart", args=["CP1"])), 200)
    assert_json(
        staff_client.get(reverse("ocpp:charger-chart", args=["NOPE"])), 404, "There is no charger with the id “NOPE”."
    )
    assert_json(
        staff_client.get(reverse("ocpp:charger-chart", args=["CP1"]) + "?tx=999999"),
        404,
        "Charger “CP1” has no transaction 999999.",
    )


def test_a_client_asking_for_json_gets_a_json_404_for_a_page_address(staff_client):
    assert_json(staff_client.get("/ocpp/nope/", HTTP_ACCEPT="application/json"), 404, "Not found.")
    assert_json(
        staff_client.get("/ocpp/chargers/NOPE/view/", HTTP_ACCEPT="application/json"),
        404,
        "There is no charger with the id “NOPE”.",
    )


def test_the_schema_views_refuse_a_method_or_a_media_type_in_json(client):
    schema, docs = reverse("ocpp:api-schema"), reverse("ocpp:api-docs")
    assert client.get(schema).status_code == 200
    assert_json(client.post(schema), 405, 'Method "POST" not allowed.')
    assert_json(client.get(schema, HTTP_ACCEPT="text/html"), 406, "Could not satisfy the request Accept header.")
    assert_json(client.get(schema + "?format=nope"), 404, "Not found.")
    assert_json(client.post(docs), 405, 'Method "POST" not allowed.')
    assert_json(client.get(docs, HTTP_ACCEPT="application/json"), 406, "Could not satisfy the request Accept header.")


def test_a_request_refused_before_any_view_is_json_under_the_api_and_a_page_elsewhere(client, settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    assert_json(client.get(reverse("ocpp:api-chargers"), HTTP_HOST="evil.example"), 400, "Malformed request.")
    page = client.get(reverse("ocpp:landing", args=["CP1"]), HTTP_HOST="evil.example")
    assert page.status_code == 400
    assert page["Content-Type"] == "text/html; charset=utf-8"
    assert "<h1>Bad request</h1>" in page.content.decode()
