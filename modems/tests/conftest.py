import pytest

from modems.simulator import ModemSimulator


@pytest.fixture(autouse=True)
def _quick_modems(settings):
    # A simulated modem answers in milliseconds: keep the tests' time-outs short.
    settings.MODEMS_COMMAND_TIMEOUT = 1.0
    settings.MODEMS_SEND_TIMEOUT = 1.0


@pytest.fixture
def modem_sim():
    with ModemSimulator() as sim:
        yield sim


@pytest.fixture
def fake_gateway():
    """A real HTTP server on 127.0.0.1 standing in for a gateway account's provider."""
    from sms.fake_http import FakeHTTPServer

    with FakeHTTPServer() as gateway:
        yield gateway
