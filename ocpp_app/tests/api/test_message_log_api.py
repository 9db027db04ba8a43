"""GET /ocpp/chargers/<id>/messages/: the message log over the API, with the
page's filters, payload search and cursors; a bad parameter is a 400 naming it."""

import pytest
from django.utils import timezone

from ocpp_app.models import MessageLog
from ocpp_app.tests.helpers import api_client_for, create_without_role, make_charger

pytestmark = pytest.mark.django_db
URL = "/ocpp/chargers/CP1/messages/"


def log(payload, action="Authorize", cid="CP1", direction="in"):
    return MessageLog.objects.create(
        charger_id=cid,
        direction=direction,
        message_type=2,
        action=action,
        message_id="m",
        payload=payload,
        timestamp=timezone.now(),
    )


def test_it_searches_payloads_and_pages_with_cursors(api_client):
    make_charger("CP1")
    tags = [log({"idTag": f"TAG-{i}"}).id for i in range(5)]
    log({"transactionId": 77}, action="StopTransaction")
    log({"idTag": "TAG-0"}, cid="CP2")
    first = api_client.get(URL + "?q=tag-&limit=2")
    assert first.status_code == 200
    body = first.json()
    assert [m["id"] for m in body["results"]] == [tags[4], tags[3]]
    assert body["results"][0] == {
        "id": tags[4],
        "message_type": 2,
        "direction": "in",
        "action": "Authorize",
        "message_id": "m",
        "payload": {"idTag": "TAG-4"},
        "timestamp": body["results"][0]["timestamp"],
    }
    assert body["newer_cursor"] is None and body["window_full"] is False
    older = api_client.get(URL + f"?q=tag-&limit=2&before={body['older_cursor']}").json()
    assert [m["id"] for m in older["results"]] == [tags[2], tags[1]]
    assert [m["payload"] for m in api_client.get(URL + "?q=77").json()["results"]] == [{"transactionId": 77}]
    assert len(api_client.get(URL + "?action=authorize&direction=in").json()["results"]) == 5


def test_a_searched_secret_is_never_found_nor_shown(api_client):
    make_charger("CP1")
    log({"key": "AuthorizationKey", "value": "hidden-key-0123456789"}, action="ChangeConfiguration", direction="out")
    assert api_client.get(URL + "?q=hidden-key").json()["results"] == []
    shown = api_client.get(URL + "?q=AuthorizationKey").json()["results"]
    assert len(shown) == 1 and "hidden-key" not in str(shown)


@pytest.mark.parametrize(
    "query, parameter",
    [
        ("before=abc", "before"),
        ("after=1.5", "after"),
        ("action=Nope", "action"),
        ("direction=both", "direction"),
        ("since=soon", "since"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("page=3", "page"),
        ("q=%00", "q"),
    ],
)
def test_a_bad_parameter_is_a_400_json_naming_it(api_client, query, parameter):
    make_charger("CP1")
    response = api_client.get(URL + "?" + query)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert list(response.json()) == [parameter] and response.json()[parameter][0]


def test_an_id_with_neither_charger_nor_messages_is_a_404(api_client):
    assert api_client.get("/ocpp/chargers/NOPE/messages/").status_code == 404
    assert api_client.get("/ocpp/chargers/NOPE/messages/?before=abc").status_code == 404
    log({"idTag": "X"}, cid="GONE")  # a deleted charger's log stays readable
    assert api_client.get("/ocpp/chargers/GONE/messages/").status_code == 200


def test_it_is_for_staff_only(db):
    make_charger("CP1")
    assert api_client_for(create_without_role()).get(URL).status_code == 403
