"""Property-based run of schemathesis against the API's own OpenAPI schema on a
real server process: whatever a client sends, no 500s, and every answer is
one the schema documents. Bounded: a few examples per operation, no
deadline."""

from datetime import UTC, datetime

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import checks

from ocpp_app.models import RFID, Charger, Transaction
from ocpp_app.tests.helpers import create_staff, token_of

pytestmark = pytest.mark.e2e

MAX_EXAMPLES = 12
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]
KNOWN_CHARGER = "SCHEMA CP#1"
KNOWN_TAG = "SCHEMA-TAG"


def _known_data_and_token() -> str:
    """A charger, a transaction and a card the examples can name, and a staff token."""
    charger = Charger.objects.create(charger_id=KNOWN_CHARGER)
    Transaction.objects.create(
        charger=charger, connector_id=1, id_tag=KNOWN_TAG, meter_start=0, start_time=datetime(2026, 1, 1, tzinfo=UTC)
    )
    RFID.objects.create(id_tag=KNOWN_TAG)
    return token_of(create_staff("schemathesis"))


@pytest.mark.filterwarnings("ignore")
def test_no_request_the_schema_allows_makes_the_server_fail(live_ocpp_server):
    token = _known_data_and_token()
    headers = {"Authorization": f"Token {token}"}
    schema = schemathesis.openapi.from_url(f"{live_ocpp_server.http_url}/ocpp/api/schema/?format=json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12  # every method of every endpoint
    failures: list[str] = []
    session = requests.Session()

    calls = []
    for operation in operations:

        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(), known=st.booleans())
        def run(case, known):
            # Half of the time aim at rows that exist, so the handlers behind
            # the 404s are exercised too.
            path_parameters = case.path_parameters or {}
            if known and "cid" in path_parameters:
                path_parameters["cid"] = KNOWN_CHARGER
            if known and "id_tag" in path_parameters:
                path_parameters["id_tag"] = KNOWN_TAG
            response = case.call(base_url=live_ocpp_server.http_url, headers=headers, session=session)
            calls.append(response.status_code)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}")
                return
            # And the answer is what the schema promises (status, content type, body).
            try:
                case.validate_response(response, checks=CHECKS)
            except BaseException as failure:  # schemathesis raises an exception group
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {failure}"[:800])

        run()

    assert len(calls) > 3 * len(operations)
    assert any(code == 200 for code in calls)
    assert not failures, "\n".join(failures[:10]) + "\n" + live_ocpp_server.log_text()[-3000:]
