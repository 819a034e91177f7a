"""Fixtures for the sms app's tests: a fake gateway HTTP server on 127.0.0.1."""

import pytest

from sms.fake_http import FakeHTTPServer, Reply


@pytest.fixture
def fake_gateway():
    """A real HTTP server standing in for an SMS gateway; script replies, read requests."""
    with FakeHTTPServer() as gateway:
        yield gateway


CLICKATELL_SECRET = "clickatell-hook-secret"


@pytest.fixture
def clickatell(settings, fake_gateway):
    """Clickatell's HTTP API played by the fake gateway (legacy ``ID: ...`` answers)."""
    settings.CLICKATELL_API_ID = "3456789"
    settings.CLICKATELL_USER = "texting"
    settings.CLICKATELL_PASSWORD = "pa55"
    settings.CLICKATELL_HTTPS = False
    settings.CLICKATELL_API_BASE = fake_gateway.address  # host:port, scheme from CLICKATELL_HTTPS
    settings.CLICKATELL_WEBHOOK_SECRET = CLICKATELL_SECRET
    settings.SMS_GATEWAY_TIMEOUT_SECONDS = 0.5
    settings.SMS_DEFAULT_BACKEND = "clickatell"
    fake_gateway.default = Reply(200, "ID: 0123456789abcdef0123456789abcdef")
    return fake_gateway
