"""Users every part of the suite logs in as: an operator (staff in the
Operators group), a viewer (in the Viewers group, not staff), a superuser for
the admin, and their REST clients."""

import pytest
from django.test import Client

from ocpp_app.tests.helpers import api_client_for, create_staff, create_viewer
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


@pytest.fixture
def viewer(db):
    return create_viewer()


@pytest.fixture
def viewer_client(viewer):
    """A browser of its own, so a test may use it beside staff_client."""
    client = Client()
    client.force_login(viewer)
    return client


@pytest.fixture
def viewer_api_client(viewer):
    """The REST API as the viewer, with a token."""
    return api_client_for(viewer)
