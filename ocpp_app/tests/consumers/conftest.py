import pytest

from ocpp_app import consumers
from ocpp_app.runtime import throttle


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path, monkeypatch):
    settings.LOG_DIR = tmp_path
    # Failed logins of one test must not throttle the next one's.
    monkeypatch.setattr(throttle, "_memory", throttle.MemoryStore())
    settings.OCPP_UNKNOWN_CHARGERS = "accept"
    settings.OCPP_REQUIRE_AUTH = False
    # The registry is per process: a test must not inherit another's sockets.
    consumers.LIVE.clear()
    yield
    consumers.LIVE.clear()


@pytest.fixture
def fast_hasher(settings):
    # PBKDF2's deliberate slowness buys nothing in a test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
