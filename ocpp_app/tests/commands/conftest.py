"""The command tests' client of a real server process: the REST API with a
fresh staff token."""

import pytest
from asgiref.sync import sync_to_async

from ocpp_app.tests.helpers import Api, create_staff, token_of


@pytest.fixture
def api_for(server_factory):
    """api_for(server) -> Api with a fresh staff token for that server."""
    counter = iter(range(1000))

    def make_token() -> str:
        return token_of(create_staff(f"operator{next(counter)}"))

    async def make(server) -> Api:
        return Api(server.http_url, await sync_to_async(make_token)())

    return make
