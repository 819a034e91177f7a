"""Clickatell backend: real HTTP requests to a local server speaking the HTTP API's format
(``ID: ...`` / ``ERR: nnn, ...``), and its legacy and Platform callbacks."""

import json
import time
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from sms.backends import BackendError, get_backend
from sms.backends.clickatell import decode_text
from sms.delivery import check_delivery
from sms.dispatch import dispatch
from sms.fake_http import Reply
from sms.models import Contact, InboundMessage, OutboundMessage, State
from sms.testing import create_message
from sms.tests.conftest import CLICKATELL_SECRET

pytestmark = pytest.mark.django_db

SECRET = CLICKATELL_SECRET


# --- Sending ---------------------------------------------------------------------------------


def test_sendmsg_carries_credentials_callback_and_our_reference(clickatell):
    clickatell.script(Reply(200, "ID: 9f3c1d2e4b5a69788796a5b4c3d2e1f0"))
    message = create_message("+447911123001", "Doors open at 7", sender="Texting")
    dispatch()
    (request,) = clickatell.requests
    assert (request.method, request.path) == ("POST", "/http/sendmsg")
    params = request.params
    assert params["api_id"] == "3456789" and params["user"] == "texting" and params["password"] == "pa55"
    assert params["to"] == "447911123001" and params["text"] == "Doors open at 7" and params["from"] == "Texting"
    assert params["callback"] == "3" and params["climsgid"] == message.reference.hex
    assert "unicode" not in params and "concat" not in params
    message.refresh_from_db()
    assert message.state == State.SENT and message.external_id == "9f3c1d2e4b5a69788796a5b4c3d2e1f0"


def test_unicode_text_goes_as_hex_ucs2_with_concat(clickatell):
    content = "Zażółć gęślą jaźń 👍 " * 5
    message = create_message(content=content)
    assert message.segments > 1
    dispatch()
    params = clickatell.requests[0].params
    assert params["unicode"] == "1" and params["concat"] == str(message.segments)
    assert bytes.fromhex(params["text"]).decode("utf-16-be") == content


def test_deliv_time_is_passed_in_minutes(clickatell):
    create_message(extra_sender_data={"deliv_time": 90})
    dispatch()
    assert clickatell.requests[0].params["deliv_time"] == "90"


def test_https_is_used_unless_switched_off(settings):
    settings.CLICKATELL_API_BASE = ""
    settings.CLICKATELL_HTTPS = True
    assert get_backend("clickatell").api_url == "https://api.clickatell.com/http"
    settings.CLICKATELL_HTTPS = False
    assert get_backend("clickatell").api_url == "http://api.clickatell.com/http"


@pytest.mark.parametrize(
    ("body", "permanent", "throttled", "opt_out", "code"),
    [
        ("ERR: 001, Authentication failed", True, False, False, "001"),
        ("ERR: 105, Invalid Destination Address", True, False, False, "105"),
        ("ERR: 121, Destination mobile number blocked", True, False, False, "121"),
        ("ERR: 122, Destination mobile opted out", True, False, True, "122"),
        ("ERR: 301, No Credit Left", False, True, False, "301"),
        ("ERR: 901, Internal error - please retry", False, False, False, "901"),
    ],
)
def test_err_answers_are_mapped(clickatell, body, permanent, throttled, opt_out, code):
    clickatell.script(Reply(200, body))
    with pytest.raises(BackendError) as caught:
        get_backend("clickatell").publish_message(create_message())
    error = caught.value
    assert (error.permanent, error.throttled, error.opt_out, error.code) == (permanent, throttled, opt_out, code)


def test_mt_limit_waits_until_the_time_clickatell_names(clickatell):
    until = int(time.time()) + 1800
    clickatell.script(Reply(200, f"ERR: 130, Maximum MT limit exceeded until {until}"))
    with pytest.raises(BackendError) as caught:
        get_backend("clickatell").publish_message(create_message())
    assert caught.value.throttled and 1790 <= caught.value.retry_after <= 1800


def test_out_of_credit_keeps_texts_waiting_instead_of_failing_them(clickatell):
    clickatell.script(Reply(200, "ERR: 301, No Credit Left"))
    message = create_message()
    dispatch()
    message.refresh_from_db()
    assert message.state == State.ERROR_RETRY and message.number_of_send_attempts == 0
    assert "[301]" in message.error


def test_opted_out_destination_opts_the_contact_out(clickatell):
    clickatell.script(Reply(200, "ERR: 122, Destination mobile opted out"))
    message = create_message()
    dispatch()
    message.refresh_from_db()
    assert message.state == State.REFUSED
    assert Contact.objects.get(number=message.recipient).is_opted_out


@pytest.mark.parametrize(
    ("reply", "throttled", "retry_after"),
    [
        (Reply(500, "Internal Server Error"), False, None),
        (Reply(502, "<html>Bad gateway</html>"), False, None),
        (Reply(429, "Too Many Requests", {"Retry-After": "45"}), True, 45.0),
        (Reply(200, "Service temporarily unavailable"), False, None),
    ],
)
def test_http_failures_are_temporary(clickatell, reply, throttled, retry_after):
    clickatell.script(reply)
    with pytest.raises(BackendError) as caught:
        get_backend("clickatell").publish_message(create_message())
    assert not caught.value.permanent
    assert (caught.value.throttled, caught.value.retry_after) == (throttled, retry_after)


def test_a_slow_clickatell_times_out_as_a_temporary_error(clickatell):
    clickatell.script(Reply(200, "ID: late", delay=3))
    message = create_message()
    started = time.monotonic()
    dispatch()
    assert time.monotonic() - started < 2
    message.refresh_from_db()
    assert message.state == State.ERROR_RETRY and "no answer" in message.error


def test_balance(clickatell):
    clickatell.script(Reply(200, "Credit: 12.5"))
    assert get_backend("clickatell").balance() == 12.5
    assert clickatell.requests[0].path == "/http/getbalance"
    clickatell.script(Reply(200, "ERR: 001, Authentication failed"))
    with pytest.raises(BackendError):
        get_backend("clickatell").balance()


def test_check_delivery_queries_each_message(clickatell):
    message = create_message(state=State.SENT)
    OutboundMessage.objects.filter(pk=message.pk).update(
        backend="clickatell", external_id="abc123", sent_at=message.created_at
    )
    clickatell.script(Reply(200, "ID: abc123 Status: 004"))
    summary = check_delivery()
    assert summary.delivered == 1
    request = clickatell.requests[0]
    assert request.path == "/http/querymsg" and request.params["apimsgid"] == "abc123"
    message.refresh_from_db()
    assert message.state == State.DELIVERED


# --- Webhooks --------------------------------------------------------------------------------

LEGACY_MO = {
    "api_id": "3456789",
    "moMsgId": "b2aee337abd962489b123fda9c3480fa",
    "from": "447911123456",
    "to": "447700900001",
    "timestamp": "2026-11-23 08:43:50",
    "charset": "ISO-8859-1",
    "udh": "",
    "text": "Yes please",
}


def test_legacy_mo_by_get_is_stored_once(client, clickatell):
    for _ in range(2):
        response = client.get("/sms/inbound/clickatell/", {**LEGACY_MO, "secret": SECRET})
        assert response.status_code == 200
    (inbound,) = InboundMessage.objects.all()
    assert (inbound.sender, inbound.recipient, inbound.content) == ("+447911123456", "+447700900001", "Yes please")
    assert inbound.received_at == datetime(2026, 11, 23, 6, 43, 50, tzinfo=UTC)  # sent in GMT+2


def test_legacy_mo_by_post_with_basic_auth(client, clickatell):
    import base64

    auth = "Basic " + base64.b64encode(f"clickatell:{SECRET}".encode()).decode()
    body = urlencode(LEGACY_MO)  # Clickatell posts a urlencoded form
    response = client.post(
        "/sms/inbound/clickatell/",
        body,
        content_type="application/x-www-form-urlencoded",
        headers={"Authorization": auth},
    )
    assert response.status_code == 200
    assert InboundMessage.objects.count() == 1


def test_utf16be_text_url_escaped_or_hex_is_decoded(client, clickatell):
    words = "Dziękuję 👍"
    escaped = "".join(f"%{b:02X}" for b in words.encode("utf-16-be"))
    query = f"moMsgId=m1&from=447911123456&to=447700900001&charset=UTF-16BE&text={escaped}&secret={SECRET}"
    assert client.get(f"/sms/inbound/clickatell/?{query}").status_code == 200
    hexed = words.encode("utf-16-be").hex()
    query = f"moMsgId=m2&from=447911123456&charset=UTF-16BE&text={hexed}&secret={SECRET}"
    assert client.get(f"/sms/inbound/clickatell/?{query}").status_code == 200
    assert list(InboundMessage.objects.order_by("pk").values_list("content", flat=True)) == [words, words]


def test_latin1_text_is_decoded(client, clickatell):
    query = f"moMsgId=m3&from=447911123456&charset=ISO-8859-1&text=Caf%E9&secret={SECRET}"
    assert client.get(f"/sms/inbound/clickatell/?{query}").status_code == 200
    assert InboundMessage.objects.get().content == "Café"


def test_decode_text_vectors():
    assert decode_text("%00H%00i", "UTF-16BE") == "Hi"
    assert decode_text("00480069", "utf-16be") == "Hi"
    assert decode_text("Caf%E9", "ISO-8859-1") == "Café"
    assert decode_text("plain", "") == "plain"


def test_platform_json_reply_callback(client, clickatell):
    payload = {
        "integrationId": "4f2c",
        "messageId": "a8f1c3e1e6b3474f9e0b5e3b6c0b9f11",
        "replyMessageId": "0f1d",
        "fromNumber": "447911123456",
        "toNumber": "447700900001",
        "timestamp": 1795415030000,
        "text": "Count me in",
        "charset": "UTF-8",
        "network": "Vodafone UK",
    }
    response = client.post(
        f"/sms/inbound/clickatell/?secret={SECRET}", json.dumps(payload), content_type="application/json"
    )
    assert response.status_code == 200
    inbound = InboundMessage.objects.get()
    assert inbound.content == "Count me in" and inbound.external_id == payload["messageId"]
    assert inbound.received_at == datetime.fromtimestamp(1795415030, UTC)


def test_legacy_status_finds_the_message_by_climsgid_before_the_id_is_stored(client, clickatell):
    message = create_message(state=State.SENDING)
    params = {
        "api_id": "3456789",
        "apiMsgId": "996411ad91fa211e7d17bc873aa4a41d",
        "cliMsgId": message.reference.hex,
        "timestamp": "1795415030",
        "to": "447911123001",
        "from": "447700900001",
        "status": "004",
        "charge": "1.000000",
    }
    assert client.get("/sms/status/clickatell/", {**params, "secret": SECRET}).status_code == 200
    message.refresh_from_db()
    assert message.state == State.DELIVERED and message.external_id == params["apiMsgId"]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("003", State.SENT),
        ("004", State.DELIVERED),
        ("007", State.ERROR_UPDATE),
        ("010", State.ERROR_UPDATE),
        ("002", State.SENDING),
    ],
)
def test_status_codes_map_to_states(client, clickatell, status, expected):
    message = create_message(state=State.SENDING)
    OutboundMessage.objects.filter(pk=message.pk).update(backend="clickatell", external_id="api1")
    assert (
        client.post(f"/sms/status/clickatell/?secret={SECRET}", {"apiMsgId": "api1", "status": status}).status_code
        == 200
    )
    message.refresh_from_db()
    assert message.state == expected


def test_platform_json_status_callback(client, clickatell):
    message = create_message(state=State.SENT)
    OutboundMessage.objects.filter(pk=message.pk).update(backend="clickatell", external_id="plat-1")
    payload = {
        "messageId": "plat-1",
        "clientMessageId": "",
        "status": "RECEIVED_BY_RECIPIENT",
        "statusCode": 4,
        "timestamp": 1795415030000,
    }
    response = client.post(
        f"/sms/status/clickatell/?secret={SECRET}", json.dumps(payload), content_type="application/json"
    )
    assert response.status_code == 200
    message.refresh_from_db()
    assert message.state == State.DELIVERED


@pytest.mark.parametrize("query", ["", "?secret=wrong"])
def test_missing_or_wrong_secret_is_forbidden(client, clickatell, query):
    assert client.get(f"/sms/inbound/clickatell/{query}", LEGACY_MO).status_code == 403
    assert not InboundMessage.objects.exists()


def test_inbound_without_an_id_is_a_bad_request_with_a_reason(client, clickatell):
    response = client.get("/sms/inbound/clickatell/", {"from": "447911123456", "text": "hi", "secret": SECRET})
    assert response.status_code == 400 and b"moMsgId" in response.content


@pytest.mark.parametrize(
    ("kind", "body", "content_type"),
    [
        ("inbound", b"{not json", "application/json"),
        ("inbound", b"[1, 2, 3]", "application/json"),
        ("inbound", b'"just a string"', "application/json"),
        ("inbound", b"\x00\xff\xfe garbage", "application/octet-stream"),
        ("inbound", b"moMsgId=1&from=44&charset=UTF-16BE&text=%00", "application/x-www-form-urlencoded"),
        ("inbound", b'{"messageId": "x", "fromNumber": "44", "timestamp": "99999999999999999999"}', "application/json"),
        ("status", b"apiMsgId=1&status=delivered", "application/x-www-form-urlencoded"),
        ("status", b'{"messageId": 1, "statusCode": null}', "application/json"),
        ("status", b"status=004", "application/x-www-form-urlencoded"),
    ],
)
def test_garbage_is_a_400_never_a_500(client, clickatell, kind, body, content_type):
    response = client.post(f"/sms/{kind}/clickatell/?secret={SECRET}", body, content_type=content_type)
    assert response.status_code == 400
