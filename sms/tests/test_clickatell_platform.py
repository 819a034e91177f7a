"""Clickatell Platform backend: real HTTP to a local server speaking the Platform's REST API,
its JSON reply and status callbacks, and its balance. The legacy HTTP API keeps its own tests."""

import json

import pytest

from sms.backends import BackendError, get_backend
from sms.dispatch import dispatch
from sms.fake_http import Reply
from sms.models import InboundMessage, State
from sms.testing import create_message

pytestmark = pytest.mark.django_db

KEY, SECRET = "platform-api-key", "platform-hook-secret"


def accepted(api_id="abc123"):
    return {
        "messages": [{"apiMessageId": api_id, "accepted": True, "to": "447911123001", "errorCode": None}],
        "error": None,
    }


@pytest.fixture
def platform(settings, fake_gateway):
    settings.CLICKATELL_PLATFORM_API_KEY = KEY
    settings.CLICKATELL_PLATFORM_FROM_NUMBER = "447700900001"
    settings.CLICKATELL_PLATFORM_API_BASE = fake_gateway.url
    settings.CLICKATELL_PLATFORM_WEBHOOK_SECRET = SECRET
    settings.SMS_GATEWAY_TIMEOUT_SECONDS = 0.5
    settings.SMS_DEFAULT_BACKEND = "clickatell_platform"
    fake_gateway.default = Reply(202, accepted())
    return fake_gateway


def test_send_posts_json_with_the_api_key_and_our_reference(platform):
    message = create_message("+447911123001", "Zażółć 👍")
    dispatch()
    (request,) = platform.requests
    assert (request.method, request.path) == ("POST", "/messages")
    assert request.headers["Authorization"] == KEY
    body = request.json()
    assert body == {
        "content": "Zażółć 👍",
        "to": ["447911123001"],
        "from": "447700900001",
        "clientMessageId": message.reference.hex,
        "charset": "UTF-8",
    }
    message.refresh_from_db()
    assert message.state == State.SENT and message.external_id == "abc123"


@pytest.mark.parametrize(
    ("reply", "permanent", "throttled"),
    [
        (
            Reply(
                202, {"messages": [{"accepted": False, "errorCode": 105, "errorDescription": "Invalid destination"}]}
            ),
            True,
            False,
        ),
        (
            Reply(202, {"messages": [{"accepted": False, "errorCode": 301, "errorDescription": "No credit"}]}),
            False,
            True,
        ),
        (
            Reply(202, {"messages": [{"accepted": False, "errorCode": 901, "errorDescription": "Internal"}]}),
            False,
            False,
        ),
        (Reply(401, {"messages": [], "errorCode": 1, "error": "Invalid or missing Integration API Key"}), True, False),
        (Reply(429, "slow down"), False, True),
        (Reply(503, "down"), False, False),
        (Reply(202, "<html>proxy</html>"), False, False),
    ],
)
def test_errors_are_mapped(platform, reply, permanent, throttled):
    platform.script(reply)
    with pytest.raises(BackendError) as caught:
        get_backend("clickatell_platform").publish_message(create_message())
    assert (caught.value.permanent, caught.value.throttled) == (permanent, throttled)


def test_a_time_out_is_retried(platform):
    platform.script(Reply(202, accepted(), delay=2))
    message = create_message()
    dispatch()
    message.refresh_from_db()
    assert message.state == State.ERROR_RETRY and "no answer" in message.error


def test_balance(platform):
    platform.script(Reply(200, {"balance": 41.5, "currency": "ZAR"}))
    assert get_backend("clickatell_platform").get_balance() == (41.5, "ZAR")
    assert platform.requests[0].path == "/v1/balance" and platform.requests[0].headers["Authorization"] == KEY
    platform.script(Reply(401, {"errorCode": 1, "error": "Invalid or missing Integration API Key"}))
    with pytest.raises(BackendError, match="Integration API Key"):
        get_backend("clickatell_platform").get_balance()


def test_reply_callback_is_stored(platform, client):
    body = {
        "integrationName": "Texting",
        "messageId": "mo-1",
        "fromNumber": "447911123456",
        "toNumber": "447700900001",
        "timestamp": 1767225600000,
        "text": "Yes please",
        "charset": "UTF-8",
    }
    response = client.post(
        f"/sms/inbound/clickatell_platform/?secret={SECRET}", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 200
    inbound = InboundMessage.objects.get()
    assert (inbound.sender, inbound.content, inbound.backend) == ("+447911123456", "Yes please", "clickatell_platform")


def test_status_callback_settles_the_text(platform, client):
    message = create_message()
    dispatch()
    body = {
        "messageId": "abc123",
        "clientMessageId": message.reference.hex,
        "statusCode": 4,
        "status": "RECEIVED_BY_RECIPIENT",
    }
    response = client.post(
        f"/sms/status/clickatell_platform/?secret={SECRET}", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 200
    message.refresh_from_db()
    assert message.state == State.DELIVERED


@pytest.mark.parametrize("query", ["", "?secret=wrong"])
def test_callbacks_without_the_secret_are_refused(platform, client, query):
    body = {"messageId": "mo-2", "fromNumber": "447911123456", "text": "hi"}
    response = client.post(
        f"/sms/inbound/clickatell_platform/{query}", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 403 and not InboundMessage.objects.exists()


def test_the_legacy_api_stays_and_reports_its_balance_in_credits(settings, fake_gateway):
    settings.CLICKATELL_API_ID, settings.CLICKATELL_USER, settings.CLICKATELL_PASSWORD = "1", "u", "p"
    settings.CLICKATELL_API_BASE = fake_gateway.url
    fake_gateway.script(Reply(200, "Credit: 12.5"))
    assert get_backend("clickatell").get_balance() == (12.5, "credits")
    assert fake_gateway.requests[0].path == "/http/getbalance"
