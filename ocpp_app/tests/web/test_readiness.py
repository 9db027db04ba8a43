"""/ocpp/health/ready: 200 while the database and the channel layer answer,
503 naming the part that does not, within its time limit. (The database
stopped under a real server: test_database_down.py.)"""

import socket
import time

import pytest

from conftest import free_port

pytestmark = pytest.mark.django_db


def redis_layer(url: str) -> dict:
    return {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [url]}}}


async def test_it_answers_200_with_each_part_ok_and_the_node(async_client, settings):
    response = await async_client.get("/ocpp/health/ready")
    assert response.status_code == 200
    assert response.json() == {"ready": True, "database": "ok", "channel_layer": "ok", "node": settings.OCPP_NODE_ID}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.redis
async def test_on_redis_it_answers_200_when_a_message_goes_through(async_client, settings, require_redis):
    settings.CHANNEL_LAYERS = redis_layer(require_redis)
    response = await async_client.get("/ocpp/health/ready")
    assert (response.status_code, response.json()["channel_layer"]) == (200, "ok")


async def test_it_answers_503_naming_a_channel_layer_nobody_serves(async_client, settings):
    settings.CHANNEL_LAYERS = redis_layer(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    response = await async_client.get("/ocpp/health/ready")
    assert response.status_code == 503
    assert response.json() == {
        "ready": False,
        "database": "ok",
        "channel_layer": "unavailable",
        "node": settings.OCPP_NODE_ID,
    }


async def test_a_channel_layer_that_never_answers_is_unavailable_within_its_time_limit(async_client, settings):
    # A port that takes connections (the kernel's backlog) and never answers.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        settings.CHANNEL_LAYERS = redis_layer(f"redis://127.0.0.1:{silent.getsockname()[1]}/0")
        started = time.monotonic()
        response = await async_client.get("/ocpp/health/ready")
        seconds = time.monotonic() - started
    assert (response.status_code, response.json()["channel_layer"]) == (503, "unavailable")
    assert 1.5 < seconds < 4


def test_it_is_exempt_from_the_https_redirect_like_liveness(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/ocpp/health/ready").status_code == 200
    assert client.get("/ocpp/health/").status_code == 200
    assert client.get("/ocpp/metrics").status_code == 301  # a bearer token never travels in clear
