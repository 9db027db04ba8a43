"""A server error, or a refusal a page raises, answers a page in the site's
layout, or JSON for the REST API and for a client that asks for JSON. This
module is also the URL config of its tests: the project's routes, the
project's handlers, and views that fail on purpose."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import path
from rest_framework.views import APIView

from config import urls as project_urls

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1">'


def broken_page(request):
    raise RuntimeError("a bug")


def forbidden_page(request):
    raise PermissionDenied


class BrokenResource(APIView):
    permission_classes = []

    def get(self, request):
        raise RuntimeError("a bug")


urlpatterns = [
    path("ocpp/broken/", broken_page),
    path("ocpp/forbidden/", forbidden_page),
    path("ocpp/api/broken/", BrokenResource.as_view()),
    *project_urls.urlpatterns,
]
handler400 = project_urls.handler400
handler403 = project_urls.handler403
handler404 = project_urls.handler404
handler500 = project_urls.handler500


@pytest.fixture
def quiet_client(client):
    client.raise_request_exception = False
    return client


def test_a_server_error_on_a_page_is_a_styled_page(quiet_client):
    response = quiet_client.get("/ocpp/broken/")
    assert response.status_code == 500
    assert response["Content-Type"] == "text/html; charset=utf-8"
    html = response.content.decode()
    assert VIEWPORT in html and 'href="/static/ocpp/app.css"' in html
    assert "<h1>Server error</h1>" in html
    assert "a bug" not in html and "Traceback" not in html


def test_a_server_error_under_the_api_or_for_a_json_client_is_json(quiet_client):
    for response in (
        quiet_client.get("/ocpp/api/broken/"),
        quiet_client.get("/ocpp/broken/", HTTP_ACCEPT="application/json"),
    ):
        assert response.status_code == 500
        assert response["Content-Type"] == "application/json"
        assert response.json() == {"detail": "A server error occurred."}


def test_a_refusal_on_a_page_is_a_styled_page_and_json_for_a_json_client(staff_client):
    page = staff_client.get("/ocpp/forbidden/")
    assert page.status_code == 403
    assert "<h1>Forbidden</h1>" in page.content.decode() and VIEWPORT in page.content.decode()
    refused = staff_client.get("/ocpp/forbidden/", HTTP_ACCEPT="application/json")
    assert refused.status_code == 403 and refused["Content-Type"] == "application/json"
    assert refused.json() == {"detail": "You do not have permission to perform this action."}
