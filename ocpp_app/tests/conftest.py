"""Users every part of the suite logs in as: an operator (staff), a superuser
for the admin, and the operator's REST client."""

import pytest

from ocpp_app.tests.helpers import api_client_for, create_staff
from ocpp_app.tests.private_postgres import private_postgres  # noqa: F401  (a fixture for every test)


@pytest.fixture
def staff(db):
    return create_staff()


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def superuser_client(client, db):
    client.force_login(create_staff("root", superuser=True))
    return client


@pytest.fixture
def api_client(staff):
    """The REST API as the operator, with a token."""
    return api_client_for(staff)
