from ocpp_app.tests.commands.conftest import api_for  # noqa: F401  (the fixture, shared)
