"""Fixtures for the sms app's tests: a fake gateway HTTP server on 127.0.0.1."""

import pytest

from sms.fake_http import FakeHTTPServer


@pytest.fixture
def fake_gateway():
    """A real HTTP server standing in for an SMS gateway; script replies, read requests."""
    with FakeHTTPServer() as gateway:
        yield gateway
