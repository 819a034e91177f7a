"""Plivo backend: real HTTP to a local server speaking Plivo's Message API, and webhooks
signed with the official ``plivo`` package's V3 signature code."""

from urllib.parse import urlencode

import pytest
from plivo.utils.signature_v3 import construct_get_url, construct_post_url, get_signature_v3, validate_v3_signature

from sms.backends import BackendError, get_backend
from sms.backends.plivo import v3_signature
from sms.dispatch import dispatch
from sms.fake_http import Reply
from sms.models import InboundMessage, State
from sms.testing import create_message

pytestmark = pytest.mark.django_db

AUTH_ID, TOKEN = "MAXXXXXXXXXXXXXXXXXX", "plivo-token"


@pytest.fixture
def plivo(settings, fake_gateway):
    settings.PLIVO_AUTH_ID, settings.PLIVO_AUTH_TOKEN = AUTH_ID, TOKEN
    settings.PLIVO_FROM_NUMBER = "+14155550100"
    settings.PLIVO_API_BASE = fake_gateway.url
    settings.SMS_GATEWAY_TIMEOUT_SECONDS = 0.5
    settings.SMS_DEFAULT_BACKEND = "plivo"
    settings.SMS_PUBLIC_URL = "https://texting.example.com"
    fake_gateway.default = Reply(202, {"api_id": "a1", "message": "message(s) queued", "message_uuid": ["uuid-1"]})
    return fake_gateway


def plivo_signature(method, url, params, nonce="12345678901234567890", token=TOKEN):
    built = construct_post_url(url, dict(params)) if method == "POST" else construct_get_url(url, dict(params))
    return get_signature_v3(token.encode(), built.decode(), nonce.encode()).decode(), nonce


def post_signed(client, path, params, *, token=TOKEN, header="X-Plivo-Signature-V3"):
    signature, nonce = plivo_signature("POST", f"http://testserver{path}", params, token=token)
    return client.post(
        path,
        urlencode(params),
        content_type="application/x-www-form-urlencoded",
        headers={header: signature, "X-Plivo-Signature-V3-Nonce": nonce},
    )


# --- Sending ---------------------------------------------------------------------------------


def test_send_uses_basic_auth_json_and_a_status_url(plivo):
    message = create_message("+447911123001", "Doors open at 7")
    dispatch()
    (request,) = plivo.requests
    assert (request.method, request.path) == ("POST", f"/v1/Account/{AUTH_ID}/Message/")
    assert request.headers["Authorization"].startswith("Basic ")
    body = request.json()
    assert body["src"] == "14155550100" and body["dst"] == "447911123001" and body["text"] == "Doors open at 7"
    assert body["url"] == f"https://texting.example.com/sms/status/plivo/?ref={message.reference}"
    message.refresh_from_db()
    assert message.state == State.SENT and message.external_id == "uuid-1"


@pytest.mark.parametrize(
    ("reply", "permanent", "throttled"),
    [
        (Reply(400, {"error": "invalid dst number"}), True, False),
        (Reply(401, {"error": "authentication failed"}), True, False),
        (Reply(429, {"error": "too many requests"}, {"Retry-After": "3"}), False, True),
        (Reply(500, "oops"), False, False),
        (Reply(202, "<html>not json</html>"), False, False),
        (Reply(202, {"message_uuid": []}), False, False),
    ],
)
def test_errors_are_mapped(plivo, reply, permanent, throttled):
    plivo.script(reply)
    with pytest.raises(BackendError) as caught:
        get_backend("plivo").publish_message(create_message())
    assert (caught.value.permanent, caught.value.throttled) == (permanent, throttled)
    if throttled:
        assert caught.value.retry_after == 3


def test_a_time_out_is_retried(plivo):
    plivo.script(Reply(202, {"message_uuid": ["late"]}, delay=2))
    message = create_message()
    dispatch()
    message.refresh_from_db()
    assert message.state == State.ERROR_RETRY


def test_balance(plivo):
    plivo.script(Reply(200, {"account_type": "standard", "cash_credits": "23.45000"}))
    assert get_backend("plivo").get_balance() == (23.45, "USD")
    assert plivo.requests[0].path == f"/v1/Account/{AUTH_ID}/"
    plivo.script(Reply(401, {"error": "authentication failed"}))
    with pytest.raises(BackendError, match="authentication failed"):
        get_backend("plivo").get_balance()


# --- Signatures ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "params"),
    [
        ("POST", "https://texting.example.com/sms/inbound/plivo/", {"From": ["1"], "Text": ["a b"]}),
        ("POST", "https://texting.example.com/sms/status/plivo/?ref=abc&z=1", {"Status": ["sent"]}),
        ("GET", "https://texting.example.com/sms/inbound/plivo/?b=2&a=1", {}),
        ("POST", "https://texting.example.com/x/", {}),
    ],
)
def test_our_v3_signature_matches_the_plivo_package(method, url, params):
    ours = v3_signature(TOKEN, method, url, params, "nonce-1")
    assert validate_v3_signature(method, url, "nonce-1", TOKEN, ours, {k: v[0] for k, v in params.items()})


# --- Webhooks --------------------------------------------------------------------------------


def test_signed_inbound_is_stored(plivo, client):
    params = {"From": "447911123456", "To": "14155550100", "Text": "Yes please", "Type": "sms", "MessageUUID": "in-1"}
    assert post_signed(client, "/sms/inbound/plivo/", params).status_code == 200
    (inbound,) = InboundMessage.objects.all()
    assert (inbound.sender, inbound.content, inbound.external_id) == ("+447911123456", "Yes please", "in-1")


def test_the_main_account_signature_header_is_accepted(plivo, client):
    params = {"From": "447911123456", "Text": "hi", "MessageUUID": "in-ma"}
    assert post_signed(client, "/sms/inbound/plivo/", params, header="X-Plivo-Signature-Ma-V3").status_code == 200


@pytest.mark.parametrize("forgery", ["unsigned", "wrong-token", "tampered"])
def test_forged_calls_are_refused_and_store_nothing(plivo, client, forgery):
    params = {"From": "447911123456", "Text": "hi", "MessageUUID": "forged"}
    if forgery == "unsigned":
        response = client.post("/sms/inbound/plivo/", params)
    elif forgery == "wrong-token":
        response = post_signed(client, "/sms/inbound/plivo/", params, token="another")
    else:
        signature, nonce = plivo_signature("POST", "http://testserver/sms/inbound/plivo/", params)
        response = client.post(
            "/sms/inbound/plivo/",
            {**params, "Text": "changed"},
            headers={"X-Plivo-Signature-V3": signature, "X-Plivo-Signature-V3-Nonce": nonce},
        )
    assert response.status_code == 403 and not InboundMessage.objects.exists()


def test_delivery_reports_per_part_settle_one_text(plivo, client):
    plivo.script(Reply(202, {"message_uuid": ["parent-1"]}))
    message = create_message(content="x" * 200)
    dispatch()
    path = f"/sms/status/plivo/?ref={message.reference}"
    for part, uuid in ((1, "parent-1"), (2, "part-2")):
        params = {
            "Status": "delivered",
            "MessageUUID": uuid,
            "ParentMessageUUID": "parent-1",
            "PartInfo": f"{part} of 2",
        }
        assert post_signed(client, path, params).status_code == 200
        message.refresh_from_db()
        assert message.state == (State.SENT if part == 1 else State.DELIVERED)


def test_a_failed_report_fails_the_text_with_its_error_code(plivo, client):
    message = create_message()
    dispatch()
    params = {"Status": "undelivered", "MessageUUID": "uuid-1", "ErrorCode": "200", "PartInfo": "1 of 1"}
    assert post_signed(client, f"/sms/status/plivo/?ref={message.reference}", params).status_code == 200
    message.refresh_from_db()
    assert message.state == State.ERROR_UPDATE and "ErrorCode 200" in message.error
