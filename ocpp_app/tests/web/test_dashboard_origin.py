"""The dashboard socket accepts pages of this site only, whatever ALLOWED_HOSTS
says (its default "*" lets AllowedHostsOriginValidator pass every origin).
The legitimate path is covered end to end by the Chromium tests."""

import pytest

from ocpp_app.routing import SameOriginValidator


async def run_validator(headers):
    reached, sent = [], []

    async def app(scope, receive, send):
        reached.append(scope["path"])

    messages = iter([{"type": "websocket.connect"}, {"type": "websocket.disconnect", "code": 1000}])

    async def receive():
        return next(messages)

    async def send(message):
        sent.append(message["type"])

    scope = {"type": "websocket", "path": "/ws/dashboard/", "headers": headers}
    await SameOriginValidator(app)(scope, receive, send)
    return reached, sent


@pytest.mark.parametrize(
    "headers",
    [
        [(b"host", b"csms.example.com"), (b"origin", b"https://evil.example.net")],
        [(b"host", b"csms.example.com")],  # no Origin: not a page of ours
        [(b"host", b"csms.example.com"), (b"origin", b"https://csms.example.com.evil.net")],
        [(b"host", b"csms.example.com:8000"), (b"origin", b"https://csms.example.com:9000")],
    ],
)
async def test_it_refuses_a_socket_from_another_site(headers):
    reached, sent = await run_validator(headers)
    assert reached == [] and sent == ["websocket.close"]


async def test_it_lets_a_page_of_this_site_through():
    reached, sent = await run_validator(
        [(b"host", b"CSMS.example.com:8000"), (b"origin", b"https://csms.example.com:8000")]
    )
    assert reached == ["/ws/dashboard/"] and sent == []
