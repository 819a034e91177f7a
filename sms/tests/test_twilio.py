"""Twilio backend: real HTTP requests to a local stand-in for api.twilio.com, and webhooks
signed with Twilio's own RequestValidator (the real algorithm, not a mock)."""

import time
from urllib.parse import parse_qs, urlencode

import pytest
from django.http import QueryDict
from twilio.request_validator import RequestValidator

from sms.backends import BackendError, get_backend
from sms.backends.twilio import EMPTY_TWIML
from sms.delivery import check_delivery
from sms.dispatch import dispatch
from sms.fake_http import Reply
from sms.models import Contact, InboundMessage, OutboundMessage, State
from sms.testing import create_message

pytestmark = pytest.mark.django_db

ACCOUNT = "AC" + "a1" * 16
TOKEN = "twilio-auth-token-0123456789abcd"
MESSAGES_PATH = f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
FORM = "application/x-www-form-urlencoded"


def message_json(sid="SM" + "0" * 32, to="+447911123001", from_="+447700900001", status="queued", **extra):
    """A Message resource as Twilio returns it (only the fields that matter here, plus a few)."""
    return {
        "account_sid": ACCOUNT,
        "api_version": "2010-04-01",
        "body": "Hello",
        "date_created": "Mon, 23 Nov 2026 06:00:00 +0000",
        "date_updated": "Mon, 23 Nov 2026 06:00:05 +0000",
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": from_,
        "num_segments": "1",
        "sid": sid,
        "status": status,
        "to": to,
        "uri": f"/2010-04-01/Accounts/{ACCOUNT}/Messages/{sid}.json",
        **extra,
    }


def error_json(code, message, status=400):
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


@pytest.fixture
def twilio(settings, fake_gateway):
    settings.TWILIO_ACCOUNT_SID = ACCOUNT
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.TWILIO_FROM_NUMBER = "+447700900001"
    settings.TWILIO_MESSAGING_SERVICE_SID = ""
    settings.TWILIO_API_BASE = fake_gateway.url
    settings.SMS_GATEWAY_TIMEOUT_SECONDS = 0.5
    settings.SMS_DEFAULT_BACKEND = "twilio"
    fake_gateway.default = Reply(201, message_json())
    return fake_gateway


def sign(url, params, token=TOKEN):
    return RequestValidator(token).compute_signature(url, params)


def post_signed(client, path, params, *, signed_url=None, headers=None, **extra):
    url = signed_url or f"http://testserver{path}"
    headers = {"X-Twilio-Signature": sign(url, params), **(headers or {})}
    # Twilio posts application/x-www-form-urlencoded (the test client's default is multipart)
    return client.post(path, urlencode(params), content_type=FORM, headers=headers, **extra)


# --- Sending ---------------------------------------------------------------------------------


def test_send_posts_the_documented_form_with_a_status_callback_carrying_our_reference(twilio):
    twilio.script(Reply(201, message_json(sid="SMabc", status="queued")))
    message = create_message("+447911123001", "Your table is ready")
    dispatch()
    (request,) = twilio.requests
    assert (request.method, request.path) == ("POST", MESSAGES_PATH)
    form = request.params
    assert form["To"] == "+447911123001" and form["Body"] == "Your table is ready"
    assert form["From"] == "+447700900001"
    assert form["StatusCallback"] == f"https://texting.example.com/sms/status/twilio/?ref={message.reference}"
    assert request.headers["authorization"].startswith("Basic ")
    message.refresh_from_db()
    assert (message.state, message.external_id, message.backend) == (State.SENT, "SMabc", "twilio")


def test_messaging_service_sid_is_sent_when_configured(twilio, settings):
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG" + "b2" * 16
    settings.TWILIO_FROM_NUMBER = ""
    create_message()
    dispatch()
    form = twilio.requests[0].params
    assert form["MessagingServiceSid"] == settings.TWILIO_MESSAGING_SERVICE_SID and "From" not in form


def test_per_sim_credentials_override_the_settings(twilio):
    other = "AC" + "c3" * 16
    twilio.script(Reply(201, message_json(sid="SMsim")))
    backend = get_backend("twilio", account_sid=other, auth_token="sim-token", from_number="+447700900999")
    result = backend.publish_message(create_message())
    assert result.external_id == "SMsim"
    request = twilio.requests[0]
    assert request.path == f"/2010-04-01/Accounts/{other}/Messages.json"
    assert request.params["From"] == "+447700900999"


@pytest.mark.parametrize(
    ("reply", "permanent", "throttled", "opt_out", "retry_after", "code"),
    [
        (
            Reply(400, error_json(21211, "The 'To' number +44 is not a valid phone number.")),
            True,
            False,
            False,
            None,
            "21211",
        ),
        (Reply(400, error_json(21614, "'To' number is not a valid mobile number")), True, False, False, None, "21614"),
        (Reply(400, error_json(21610, "Attempt to send to unsubscribed recipient")), True, False, True, None, "21610"),
        (Reply(401, error_json(20003, "Authenticate", 401)), True, False, False, None, "20003"),
        (
            Reply(429, error_json(20429, "Too Many Requests", 429), {"Retry-After": "30"}),
            False,
            True,
            False,
            30.0,
            "20429",
        ),
        (Reply(400, error_json(63018, "Rate limit exceeded")), False, True, False, None, "63018"),
        (Reply(500, "<html>Internal Server Error</html>", content_type="text/html"), False, False, False, None, "500"),
        (Reply(503, error_json(20503, "Service unavailable", 503)), False, False, False, None, "20503"),
    ],
)
def test_twilio_errors_are_mapped(twilio, reply, permanent, throttled, opt_out, retry_after, code):
    twilio.script(reply)
    with pytest.raises(BackendError) as caught:
        get_backend("twilio").publish_message(create_message())
    error = caught.value
    assert (error.permanent, error.throttled, error.opt_out, error.retry_after, error.code) == (
        permanent,
        throttled,
        opt_out,
        retry_after,
        code,
    )


def test_a_slow_twilio_is_a_temporary_error_after_the_timeout(twilio):
    twilio.script(Reply(201, message_json(), delay=3))
    started = time.monotonic()
    with pytest.raises(BackendError) as caught:
        get_backend("twilio").publish_message(create_message())
    assert time.monotonic() - started < 2
    assert not caught.value.permanent and "no answer" in str(caught.value)


def test_an_unreachable_twilio_is_a_temporary_error(twilio, settings):
    settings.TWILIO_API_BASE = "http://127.0.0.1:9"  # discard port: connection refused
    with pytest.raises(BackendError) as caught:
        get_backend("twilio").publish_message(create_message())
    assert not caught.value.permanent and "network error" in str(caught.value)


def test_unsubscribed_recipient_is_refused_and_opted_out_by_the_dispatcher(twilio):
    twilio.script(Reply(400, error_json(21610, "Attempt to send to unsubscribed recipient")))
    message = create_message()
    dispatch()
    message.refresh_from_db()
    assert message.state == State.REFUSED and "21610" in message.error
    assert Contact.objects.get(number=message.recipient).is_opted_out


def test_throttled_send_waits_as_twilio_asks(twilio):
    twilio.script(Reply(429, error_json(20429, "Too Many Requests", 429), {"Retry-After": "600"}))
    message = create_message()
    dispatch()
    message.refresh_from_db()
    assert message.state == State.ERROR_RETRY and message.number_of_send_attempts == 0
    assert (message.next_attempt_at - message.changed_at).total_seconds() >= 599


def test_check_delivery_fetches_each_message_by_sid(twilio):
    # The two sends are in flight at once: answer by recipient, not by arrival order.
    sids = {"+447911123001": "SMone", "+447911123002": "SMtwo"}
    twilio.handler = lambda request: Reply(201, message_json(sid=sids[request.params["To"]]))
    first, second = create_message("+447911123001"), create_message("+447911123002")
    dispatch()

    def fetch(request):
        sid = request.path.rsplit("/", 1)[1].removesuffix(".json")
        if sid == "SMone":
            return Reply(200, message_json(sid=sid, status="delivered"))
        return Reply(200, message_json(sid=sid, status="undelivered", error_code=30003, error_message="Unreachable"))

    twilio.handler = fetch
    summary = check_delivery()
    assert (summary.checked, summary.delivered, summary.failed) == (2, 1, 1)
    assert [r.method for r in twilio.requests[2:]] == ["GET", "GET"]
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.state == State.DELIVERED and second.state == State.ERROR_UPDATE and "30003" in second.error


# --- Webhooks --------------------------------------------------------------------------------

INBOUND = {
    "MessageSid": "SM" + "f" * 32,
    "SmsMessageSid": "SM" + "f" * 32,
    "AccountSid": ACCOUNT,
    "From": "+447911123456",
    "To": "+447700900001",
    "Body": "Yes please",
    "NumMedia": "0",
    "NumSegments": "1",
    "FromCountry": "GB",
}


def test_signed_inbound_text_is_stored_and_answered_with_empty_twiml(client, twilio):
    response = post_signed(client, "/sms/inbound/twilio/", INBOUND)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/xml" and response.content.decode() == EMPTY_TWIML
    (inbound,) = InboundMessage.objects.all()
    assert (inbound.sender, inbound.recipient, inbound.content) == ("+447911123456", "+447700900001", "Yes please")
    assert inbound.external_id == INBOUND["MessageSid"] and inbound.raw["FromCountry"] == "GB"


def test_duplicate_inbound_callback_is_idempotent(client, twilio):
    for _ in range(3):
        assert post_signed(client, "/sms/inbound/twilio/", INBOUND).status_code == 200
    assert InboundMessage.objects.count() == 1


def test_mms_without_body_keeps_its_attachment_links(client, twilio):
    params = {
        **INBOUND,
        "Body": "",
        "NumMedia": "1",
        "MediaUrl0": "https://api.twilio.com/media/ME1",
        "MediaContentType0": "image/jpeg",
    }
    assert post_signed(client, "/sms/inbound/twilio/", params).status_code == 200
    assert InboundMessage.objects.get().content == "[attachment: https://api.twilio.com/media/ME1]"


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Twilio-Signature": "bm90IHRoZSByaWdodCBzaWduYXR1cmU="}],
    ids=["missing", "wrong"],
)
def test_missing_or_wrong_signature_is_forbidden(client, twilio, headers):
    response = client.post("/sms/inbound/twilio/", urlencode(INBOUND), content_type=FORM, headers=headers)
    assert response.status_code == 403
    assert not InboundMessage.objects.exists()


def test_signature_with_another_accounts_token_is_forbidden(client, twilio):
    url = "http://testserver/sms/inbound/twilio/"
    headers = {"X-Twilio-Signature": sign(url, INBOUND, token="someone-elses-token")}
    assert (
        client.post("/sms/inbound/twilio/", urlencode(INBOUND), content_type=FORM, headers=headers).status_code == 403
    )


def test_tampered_body_is_forbidden(client, twilio):
    url = "http://testserver/sms/inbound/twilio/"
    headers = {"X-Twilio-Signature": sign(url, INBOUND)}
    tampered = urlencode({**INBOUND, "Body": "changed"})
    assert client.post("/sms/inbound/twilio/", tampered, content_type=FORM, headers=headers).status_code == 403


def test_inbound_without_message_sid_is_a_bad_request_with_a_reason(client, twilio):
    params = {key: value for key, value in INBOUND.items() if "Sid" not in key}
    response = post_signed(client, "/sms/inbound/twilio/", params)
    assert response.status_code == 400 and b"MessageSid" in response.content


@pytest.mark.parametrize(
    "body",
    [b"", b"\xff\xfe\x00garbage", b"From=&&&=&MessageSid", b"NumMedia=lots&MessageSid=SM1&From=1", b"%%%%", b"=" * 500],
)
def test_signed_garbage_is_a_400_never_a_500(client, twilio, body):
    url = "http://testserver/sms/inbound/twilio/"
    params = QueryDict(body, encoding="utf-8")
    response = client.post(
        "/sms/inbound/twilio/",
        body,
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": sign(url, params)},
    )
    assert response.status_code == 400


def test_status_by_our_reference_before_the_sid_is_stored(client, twilio):
    message = create_message(state=State.SENDING)
    path = f"/sms/status/twilio/?ref={message.reference}"
    params = {"MessageSid": "SMearly", "MessageStatus": "delivered", "AccountSid": ACCOUNT, "To": message.recipient}
    response = post_signed(client, path, params)
    assert response.status_code == 200
    message.refresh_from_db()
    assert message.state == State.DELIVERED and message.external_id == "SMearly"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("sent", State.SENT),
        ("delivered", State.DELIVERED),
        ("undelivered", State.ERROR_UPDATE),
        ("failed", State.ERROR_UPDATE),
        ("queued", State.SENDING),
    ],
)
def test_status_values_map_to_states(client, twilio, status, expected):
    message = create_message(state=State.SENDING)
    OutboundMessage.objects.filter(pk=message.pk).update(backend="twilio", external_id="SMx")
    params = {"MessageSid": "SMx", "SmsSid": "SMx", "MessageStatus": status, "SmsStatus": status}
    assert post_signed(client, "/sms/status/twilio/", params).status_code == 200
    message.refresh_from_db()
    assert message.state == expected


def test_error_code_21610_in_a_status_callback_opts_the_recipient_out(client, twilio):
    message = create_message(state=State.SENT)
    queued = create_message(content="A second text, not yet sent")
    path = f"/sms/status/twilio/?ref={message.reference}"
    params = {"MessageSid": "SMstop", "MessageStatus": "failed", "ErrorCode": "21610"}
    assert post_signed(client, path, params).status_code == 200
    message.refresh_from_db()
    queued.refresh_from_db()
    assert message.state == State.ERROR_UPDATE and "21610" in message.error
    assert Contact.objects.get(number=message.recipient).is_opted_out
    assert queued.state == State.REFUSED


def test_status_without_message_status_is_a_bad_request(client, twilio):
    response = post_signed(client, "/sms/status/twilio/", {"MessageSid": "SMx"})
    assert response.status_code == 400 and b"MessageStatus" in response.content


def test_status_for_an_unknown_sid_is_accepted_and_ignored(client, twilio):
    assert (
        post_signed(client, "/sms/status/twilio/", {"MessageSid": "SMnever", "MessageStatus": "delivered"}).status_code
        == 200
    )


def test_webhooks_are_not_live_without_credentials(client, settings):
    settings.TWILIO_ACCOUNT_SID = settings.TWILIO_AUTH_TOKEN = ""
    assert client.post("/sms/inbound/twilio/", INBOUND).status_code == 404


def test_get_webhook_signature_covers_the_query_string(client, twilio):
    query = "&".join(f"{k}={v}" for k, v in INBOUND.items()).replace("+", "%2B").replace(" ", "%20")
    url = f"http://testserver/sms/inbound/twilio/?{query}"
    response = client.get(f"/sms/inbound/twilio/?{query}", headers={"X-Twilio-Signature": sign(url, {})})
    assert response.status_code == 200
    assert InboundMessage.objects.get().content == "Yes please"
    assert parse_qs(query)["From"] == ["+447911123456"]


# --- Behind a reverse proxy -------------------------------------------------------------------

PROXY_HEADERS = {"X-Forwarded-Host": "sms.example.org", "X-Forwarded-Proto": "https"}


@pytest.fixture
def trusted_proxy(settings):
    settings.SMS_TRUST_PROXY = True
    settings.USE_X_FORWARDED_HOST = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.ALLOWED_HOSTS = ["testserver", "sms.example.org"]
    settings.SMS_PUBLIC_URL = ""


def test_behind_a_trusted_proxy_the_public_url_is_rebuilt_from_forwarded_headers(client, twilio, trusted_proxy):
    response = post_signed(
        client,
        "/sms/inbound/twilio/",
        INBOUND,
        signed_url="https://sms.example.org/sms/inbound/twilio/",
        headers=PROXY_HEADERS,
    )
    assert response.status_code == 200


def test_forwarded_headers_from_an_untrusted_proxy_are_ignored(client, twilio, settings):
    settings.SMS_PUBLIC_URL = ""
    assert settings.SMS_TRUST_PROXY is False
    response = post_signed(
        client,
        "/sms/inbound/twilio/",
        INBOUND,
        signed_url="https://sms.example.org/sms/inbound/twilio/",
        headers=PROXY_HEADERS,
    )
    assert response.status_code == 403
    # ... the URL the request really reached still validates
    assert post_signed(client, "/sms/inbound/twilio/", INBOUND, headers=PROXY_HEADERS).status_code == 200


def test_the_configured_public_url_validates_behind_any_proxy(client, twilio, settings):
    settings.SMS_PUBLIC_URL = "https://texting.example.com"
    response = post_signed(
        client, "/sms/inbound/twilio/", INBOUND, signed_url="https://texting.example.com/sms/inbound/twilio/"
    )
    assert response.status_code == 200


def _load_settings(monkeypatch, trust: str):
    """texting/settings.py evaluated afresh (as a separate module) with SMS_TRUST_PROXY=trust."""
    import importlib.util
    from pathlib import Path

    import texting

    monkeypatch.setenv("SMS_TRUST_PROXY", trust)
    path = Path(texting.__file__).with_name("settings.py")
    spec = importlib.util.spec_from_file_location("texting_settings_probe", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_trusting_the_proxy_is_one_setting_that_switches_django_s_forwarded_headers(monkeypatch):
    trusted = _load_settings(monkeypatch, "true")
    assert trusted.USE_X_FORWARDED_HOST and trusted.USE_X_FORWARDED_PORT
    assert trusted.SECURE_PROXY_SSL_HEADER == ("HTTP_X_FORWARDED_PROTO", "https")
    untrusted = _load_settings(monkeypatch, "false")
    assert not untrusted.USE_X_FORWARDED_HOST and not untrusted.USE_X_FORWARDED_PORT
    assert not hasattr(untrusted, "SECURE_PROXY_SSL_HEADER")


def test_json_body_is_validated_through_its_body_sha256(client, twilio):
    import hashlib
    import json

    body = json.dumps({"MessageSid": "SMjson", "From": "+447911123456"})
    digest = hashlib.sha256(body.encode()).hexdigest()
    path = f"/sms/status/twilio/?bodySHA256={digest}"
    signature = sign(f"http://testserver{path}", {})
    response = client.post(path, body, content_type="application/json", headers={"X-Twilio-Signature": signature})
    assert response.status_code == 400  # authenticated; Messaging sends no JSON status, so unreadable
    tampered = body.replace("SMjson", "SMevil")
    response = client.post(path, tampered, content_type="application/json", headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403
    # JSON without bodySHA256 is signed over the URL alone, never a crash
    response = client.post(
        "/sms/status/twilio/", body, content_type="application/json", headers={"X-Twilio-Signature": "x"}
    )
    assert response.status_code == 403
