"""Fixtures for the sms app's tests: a fake gateway HTTP server on 127.0.0.1."""

import pytest

from sms.tests.gateway_server import FakeGateway


@pytest.fixture
def fake_gateway():
    """A real HTTP server standing in for an SMS gateway; script replies, read requests."""
    with FakeGateway() as gateway:
        yield gateway
