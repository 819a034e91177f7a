"""Vonage SMS API backend: real HTTP to a local server speaking the SMS API's JSON, and its
webhooks signed by the official ``vonage`` package's signer (HMAC) or per Vonage's docs (md5hash)."""

import hashlib
import time
from urllib.parse import urlencode

import pytest
from vonage_http_client.auth import Auth

from sms.backends import BackendError, get_backend
from sms.backends.vonage import signature
from sms.dispatch import dispatch
from sms.fake_http import Reply
from sms.models import GatewayInboundPart, InboundMessage, State
from sms.testing import create_message

pytestmark = pytest.mark.django_db

SIG_SECRET = "vonage-signature-secret"


def accepted(*ids, balance="9.50"):
    return {
        "message-count": str(len(ids)),
        "messages": [
            {
                "to": "447911123001",
                "message-id": mid,
                "status": "0",
                "remaining-balance": balance,
                "message-price": "0.03",
            }
            for mid in ids
        ],
    }


@pytest.fixture
def vonage(settings, fake_gateway):
    settings.VONAGE_API_KEY, settings.VONAGE_API_SECRET = "abcd1234", "s3cr3t"
    settings.VONAGE_FROM_NUMBER = "447700900001"
    settings.VONAGE_API_BASE = fake_gateway.url
    settings.VONAGE_SIGNATURE_SECRET = SIG_SECRET
    settings.VONAGE_SIGNATURE_METHOD = "sha256"
    settings.SMS_GATEWAY_TIMEOUT_SECONDS = 0.5
    settings.SMS_DEFAULT_BACKEND = "vonage"
    settings.SMS_PUBLIC_URL = "https://texting.example.com"
    fake_gateway.default = Reply(200, accepted("0A0000000123ABCD1"))
    return fake_gateway


def signed(params, method="sha256", secret=SIG_SECRET):
    params = {**params, "timestamp": str(int(time.time())), "nonce": "n-1", "api-key": "abcd1234"}
    if method == "md5hash":
        params["sig"] = signature(params, secret, "md5hash")
    else:
        params["sig"] = Auth(api_key="abcd1234", signature_secret=secret, signature_method=method).sign_params(
            dict(params)
        )
    return params


# --- Sending ---------------------------------------------------------------------------------


def test_send_carries_client_ref_and_status_callback(vonage):
    message = create_message("+447911123001", "Doors open at 7")
    dispatch()
    (request,) = vonage.requests
    assert (request.method, request.path) == ("POST", "/sms/json")
    params = request.params
    assert params["api_key"] == "abcd1234" and params["api_secret"] == "s3cr3t"
    assert params["to"] == "447911123001" and params["from"] == "447700900001" and params["text"] == "Doors open at 7"
    assert params["client-ref"] == message.reference.hex and params["status-report-req"] == "1"
    assert params["callback"].startswith("https://texting.example.com/sms/status/vonage/?ref=")
    assert "type" not in params
    message.refresh_from_db()
    assert message.state == State.SENT and message.external_id == "0A0000000123ABCD1"


def test_unicode_text_is_sent_as_unicode_and_every_part_id_is_kept(vonage):
    vonage.script(Reply(200, accepted("P1", "P2")))
    message = create_message(content="Zażółć gęślą jaźń " * 6)
    dispatch()
    assert vonage.requests[0].params["type"] == "unicode"
    message.refresh_from_db()
    assert message.external_id == "P1" and message.extra_sender_data["part_ids"] == ["P1", "P2"]


@pytest.mark.parametrize(
    ("status", "permanent", "throttled"),
    [
        ("1", False, True),
        ("9", False, True),
        ("5", False, False),
        ("4", True, False),
        ("15", True, False),
        ("29", True, False),
    ],
)
def test_status_codes_are_mapped(vonage, status, permanent, throttled):
    vonage.script(Reply(200, {"message-count": "1", "messages": [{"status": status, "error-text": "nope"}]}))
    with pytest.raises(BackendError) as caught:
        get_backend("vonage").publish_message(create_message())
    assert (caught.value.permanent, caught.value.throttled, caught.value.code) == (permanent, throttled, status)


def test_throttling_keeps_the_text_waiting_without_spending_an_attempt(vonage):
    vonage.script(Reply(200, {"messages": [{"status": "1", "error-text": "Throughput Rate Exceeded"}]}))
    message = create_message()
    dispatch()
    message.refresh_from_db()
    assert message.state == State.ERROR_RETRY and message.number_of_send_attempts == 0


@pytest.mark.parametrize(
    "reply",
    [
        Reply(500, "oops"),
        Reply(429, "slow down", {"Retry-After": "7"}),
        Reply(200, "<html>proxy</html>"),
        Reply(200, {}),
    ],
)
def test_http_failures_and_garbage_are_temporary(vonage, reply):
    vonage.script(reply)
    with pytest.raises(BackendError) as caught:
        get_backend("vonage").publish_message(create_message())
    assert not caught.value.permanent


def test_a_time_out_is_temporary(vonage):
    vonage.script(Reply(200, accepted("late"), delay=2))
    message = create_message()
    dispatch()
    message.refresh_from_db()
    assert message.state == State.ERROR_RETRY and "no answer" in message.error


def test_some_parts_taken_is_ambiguous_never_resent(vonage):
    vonage.script(Reply(200, {"messages": [{"status": "0", "message-id": "P1"}, {"status": "5"}]}))
    message = create_message(content="x" * 200)
    dispatch()
    message.refresh_from_db()
    assert message.state == State.UNKNOWN


def test_balance(vonage):
    vonage.script(Reply(200, {"value": 10.28, "autoReload": False}))
    assert get_backend("vonage").get_balance() == (10.28, "EUR")
    assert vonage.requests[0].path == "/account/get-balance" and vonage.requests[0].params["api_key"] == "abcd1234"
    vonage.script(Reply(401, {"error-code-label": "Unauthorized"}))
    with pytest.raises(BackendError, match="Unauthorized"):
        get_backend("vonage").get_balance()


# --- Webhooks --------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["md5hash", "md5", "sha1", "sha256", "sha512"])
def test_inbound_signed_with_each_method_is_stored(vonage, settings, client, method):
    settings.VONAGE_SIGNATURE_METHOD = method
    params = signed({"msisdn": "447911123456", "to": "447700900001", "messageId": "M1", "text": "Yes & no"}, method)
    response = client.get("/sms/inbound/vonage/", params)
    assert response.status_code == 200, response.content
    (inbound,) = InboundMessage.objects.all()
    assert (inbound.sender, inbound.content, inbound.external_id) == ("+447911123456", "Yes & no", "M1")


def test_md5hash_matches_vonage_documented_construction(vonage):
    # Vonage's signing page: "&" + sorted key=value pairs, the secret appended, MD5 in hex.
    params = {"a": "1", "b": "x=y&z", "timestamp": "1"}
    expected = hashlib.md5(b"&a=1&b=x_y_z&timestamp=1" + SIG_SECRET.encode()).hexdigest()
    assert signature(params, SIG_SECRET, "md5hash") == expected


def test_json_inbound_is_read(vonage, client):
    params = signed({"msisdn": "447911123456", "to": "447700900001", "messageId": "J1", "text": "json"})
    response = client.post("/sms/inbound/vonage/", params, content_type="application/json")
    assert response.status_code == 200 and InboundMessage.objects.get().content == "json"


@pytest.mark.parametrize(
    "forge",
    [
        lambda p: {k: v for k, v in p.items() if k != "sig"},
        lambda p: {**p, "text": "changed"},
        lambda p: {**p, "sig": "0" * 64},
        lambda p: signed({k: v for k, v in p.items() if k not in ("sig", "timestamp")}, secret="another"),
    ],
    ids=["unsigned", "tampered", "wrong-sig", "wrong-secret"],
)
def test_forged_calls_are_refused_and_store_nothing(vonage, client, forge):
    params = signed({"msisdn": "447911123456", "messageId": "F1", "text": "hi"})
    assert client.get("/sms/inbound/vonage/", forge(params)).status_code == 403
    assert not InboundMessage.objects.exists()


def test_an_old_signed_call_is_refused(vonage, client):
    params = {"msisdn": "447911123456", "messageId": "old", "text": "hi", "timestamp": str(int(time.time()) - 3600)}
    params["sig"] = Auth(api_key="k", signature_secret=SIG_SECRET, signature_method="sha256").sign_params(dict(params))
    assert client.get("/sms/inbound/vonage/", params).status_code == 403


def test_without_a_signature_secret_the_shared_secret_is_required(vonage, settings, client):
    settings.VONAGE_SIGNATURE_SECRET = ""
    settings.VONAGE_WEBHOOK_SECRET = "shared"
    params = {"msisdn": "447911123456", "messageId": "S1", "text": "hi"}
    assert client.get("/sms/inbound/vonage/", params).status_code == 403
    assert client.get("/sms/inbound/vonage/", {**params, "secret": "shared"}).status_code == 200


def test_concatenated_parts_wait_and_are_assembled_once(vonage, client):
    base = {"msisdn": "447911123456", "to": "447700900001", "concat": "true", "concat-ref": "42", "concat-total": "3"}
    parts = [("C3", "3", "world!"), ("C1", "1", "Hello "), ("C2", "2", "big ")]
    for message_id, seq, text in parts[:2]:
        params = signed({**base, "messageId": message_id, "concat-part": seq, "text": text})
        assert (
            client.post(
                "/sms/inbound/vonage/", urlencode(params), content_type="application/x-www-form-urlencoded"
            ).status_code
            == 200
        )
    assert not InboundMessage.objects.exists() and GatewayInboundPart.objects.count() == 2
    for _ in range(2):  # the last part, delivered twice
        params = signed({**base, "messageId": "C2", "concat-part": "2", "text": "big "})
        assert client.get("/sms/inbound/vonage/", params).status_code == 200
    (inbound,) = InboundMessage.objects.all()
    assert inbound.content == "Hello big world!" and inbound.sender == "+447911123456"
    # A part delivered again after assembly starts nothing new.
    assert (
        client.get(
            "/sms/inbound/vonage/", signed({**base, "messageId": "C1", "concat-part": "1", "text": "Hello "})
        ).status_code
        == 200
    )
    assert InboundMessage.objects.count() == 1


def test_parts_that_never_complete_are_stored_with_a_marker(vonage, client):
    from datetime import timedelta

    from django.utils import timezone

    from sms.backends.parts import flush_stale_parts

    base = {"msisdn": "447911123456", "concat": "true", "concat-ref": "7", "concat-total": "2"}
    client.get("/sms/inbound/vonage/", signed({**base, "messageId": "L1", "concat-part": "1", "text": "Half"}))
    assert flush_stale_parts() == 0
    assert flush_stale_parts(now=timezone.now() + timedelta(hours=25)) == 1
    assert InboundMessage.objects.get().content == "Half[part 2 of 2 missing]"


def test_delivery_receipts_per_part_settle_the_text_once_all_parts_are_delivered(vonage, client):
    vonage.script(Reply(200, accepted("P1", "P2")))
    message = create_message(content="x" * 200)
    dispatch()
    base = {"msisdn": "447911123001", "to": "447700900001", "client-ref": message.reference.hex}
    response = client.get("/sms/status/vonage/", signed({**base, "messageId": "P1", "status": "delivered"}))
    assert response.status_code == 200
    message.refresh_from_db()
    assert message.state == State.SENT
    client.get("/sms/status/vonage/", signed({**base, "messageId": "P2", "status": "delivered"}))
    message.refresh_from_db()
    assert message.state == State.DELIVERED


def test_a_failed_part_fails_the_text(vonage, client):
    message = create_message()
    dispatch()
    params = signed(
        {"client-ref": message.reference.hex, "messageId": "0A0000000123ABCD1", "status": "rejected", "err-code": "6"}
    )
    assert client.get("/sms/status/vonage/", params).status_code == 200
    message.refresh_from_db()
    assert message.state == State.ERROR_UPDATE and "err-code 6" in message.error


ASKED_AGAIN: list[int] = []


def closed_once(message):
    """An inline pipeline step that asks for the text again the first time it sees it."""
    from sms.receiving import RetryLater

    if message.pk not in ASKED_AGAIN:
        ASKED_AGAIN.append(message.pk)
        raise RetryLater("the shop is closed")
    message.routed_by = "keyword:SHOP"
    message.save(update_fields=["routed_by"])


def test_a_concatenated_text_a_step_asks_for_again_is_retried_by_vonage(vonage, settings, client):
    ASKED_AGAIN.clear()
    settings.SMS_INBOUND_PIPELINE = ["sms.tests.test_vonage.closed_once"]
    settings.SMS_INBOUND_DEFERRED_PIPELINE = []
    base = {"msisdn": "447911123456", "concat": "true", "concat-ref": "9", "concat-total": "2"}
    first = signed({**base, "messageId": "R1", "concat-part": "1", "text": "Open "})
    assert client.get("/sms/inbound/vonage/", first).status_code == 200
    last = {**base, "messageId": "R2", "concat-part": "2", "text": "please"}
    assert client.get("/sms/inbound/vonage/", signed(last)).status_code == 503  # Vonage retries non-2xx
    (text,) = InboundMessage.objects.all()
    assert text.content == "Open please" and text.pipeline_state == "pending"
    assert client.get("/sms/inbound/vonage/", signed(last)).status_code == 200  # Vonage's retry
    text.refresh_from_db()
    assert InboundMessage.objects.count() == 1 and text.routed_by == "keyword:SHOP"
