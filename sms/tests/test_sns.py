"""Amazon SNS sending: against moto's server mode (started here, on 127.0.0.1) for the real
Publish round trip, and against a local server answering in SNS's Query/XML format for the
message attributes on the wire, each documented error, throttling, garbage and a time-out."""

from urllib.parse import parse_qs

import pytest

from sms.backends import BackendError, get_backend
from sms.dispatch import dispatch
from sms.fake_http import Reply
from sms.models import State
from sms.testing import create_message

pytestmark = pytest.mark.django_db

PUBLISHED = (
    '<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult>'
    "<MessageId>{id}</MessageId></PublishResult><ResponseMetadata><RequestId>r1</RequestId>"
    "</ResponseMetadata></PublishResponse>"
)


def sns_error(code, message, kind="Sender"):
    return (
        f'<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>{kind}</Type>'
        f"<Code>{code}</Code><Message>{message}</Message></Error><RequestId>r2</RequestId></ErrorResponse>"
    )


@pytest.fixture(scope="module")
def moto_server():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def sns_settings(settings):
    settings.SNS_ACCESS_KEY_ID, settings.SNS_SECRET_ACCESS_KEY = "testing", "testing"
    settings.SNS_REGION = "eu-west-1"
    settings.SMS_GATEWAY_TIMEOUT_SECONDS = 1
    settings.SMS_DEFAULT_BACKEND = "sns"
    return settings


@pytest.fixture
def sns_xml(sns_settings, fake_gateway):
    sns_settings.SNS_ENDPOINT_URL = fake_gateway.url
    fake_gateway.default = Reply(200, PUBLISHED.format(id="m-1"), content_type="text/xml")
    return fake_gateway


def form(request):
    return {key: values[-1] for key, values in parse_qs(request.body.decode()).items()}


def test_moto_server_publishes_the_text_to_the_phone_number(sns_settings, moto_server):
    from moto.sns.models import sns_backends

    sns_settings.SNS_ENDPOINT_URL = moto_server
    message = create_message("+447911123001", "Doors open at 7")
    dispatch()
    message.refresh_from_db()
    assert message.state == State.SENT and message.external_id
    recorded = sns_backends["123456789012"]["eu-west-1"].sms_messages[message.external_id]
    assert recorded == ("+447911123001", "Doors open at 7")


def test_moto_refuses_an_invalid_number_and_the_text_fails_at_once(sns_settings, moto_server):
    sns_settings.SNS_ENDPOINT_URL = moto_server
    with pytest.raises(BackendError) as caught:
        get_backend("sns").publish_message(create_message("+44abc", "x"))
    assert caught.value.permanent and caught.value.code == "InvalidParameter"


def test_attributes_transactional_sender_id_and_max_price(sns_xml, settings):
    settings.SNS_SENDER_ID, settings.SNS_MAX_PRICE = "Texting", "0.50"
    create_message("+447911123001", "Your code is 1234")
    dispatch()
    params = form(sns_xml.requests[0])
    assert params["Action"] == "Publish" and params["PhoneNumber"] == "+447911123001"
    attributes = {
        params[f"MessageAttributes.entry.{i}.Name"]: params[f"MessageAttributes.entry.{i}.Value.StringValue"]
        for i in range(1, 10)
        if f"MessageAttributes.entry.{i}.Name" in params
    }
    assert attributes == {
        "AWS.SNS.SMS.SMSType": "Transactional",
        "AWS.SNS.SMS.SenderID": "Texting",
        "AWS.SNS.SMS.MaxPrice": "0.50",
    }


def test_campaign_tagged_texts_are_promotional_and_a_number_sender_is_the_origination_number(sns_xml):
    create_message("+447911123001", "Sale today", tag="campaign", sender="+447700900123")
    dispatch()
    body = sns_xml.requests[0].body.decode()
    assert "Promotional" in body and "AWS.MM.SMS.OriginationNumber" in body and "%2B447700900123" in body


@pytest.mark.parametrize(
    ("reply", "permanent", "throttled", "code"),
    [
        (Reply(400, sns_error("Throttling", "Rate exceeded"), content_type="text/xml"), False, True, "Throttling"),
        (
            Reply(400, sns_error("InvalidParameter", "Invalid phone number"), content_type="text/xml"),
            True,
            False,
            "InvalidParameter",
        ),
        (
            Reply(403, sns_error("AuthorizationError", "not authorised"), content_type="text/xml"),
            True,
            False,
            "AuthorizationError",
        ),
        (
            Reply(403, sns_error("InvalidClientTokenId", "bad key"), content_type="text/xml"),
            True,
            False,
            "InvalidClientTokenId",
        ),
        (
            Reply(500, sns_error("InternalError", "oops", "Receiver"), content_type="text/xml"),
            False,
            False,
            "InternalError",
        ),
        (Reply(200, "<html>a proxy page</html>", content_type="text/html"), False, False, ""),
    ],
    ids=["throttling", "invalid-parameter", "authorization", "bad-key", "internal", "garbage"],
)
def test_errors_are_mapped(sns_xml, reply, permanent, throttled, code):
    sns_xml.script(reply)
    with pytest.raises(BackendError) as caught:
        get_backend("sns").publish_message(create_message())
    assert (caught.value.permanent, caught.value.throttled) == (permanent, throttled)
    assert caught.value.code == code or not code


def test_throttling_waits_with_backoff_without_spending_an_attempt(sns_xml):
    sns_xml.script(Reply(400, sns_error("Throttling", "Rate exceeded"), content_type="text/xml"))
    message = create_message()
    dispatch()
    message.refresh_from_db()
    assert message.state == State.ERROR_RETRY and message.number_of_send_attempts == 0 and message.next_attempt_at


def test_a_time_out_is_temporary_and_publish_is_not_retried_by_the_sdk(sns_xml):
    sns_xml.script(Reply(200, PUBLISHED.format(id="late"), delay=2.5, content_type="text/xml"))
    message = create_message()
    dispatch()
    message.refresh_from_db()
    assert message.state == State.ERROR_RETRY and "no answer" in message.error
    assert len(sns_xml.requests) == 1  # a retried Publish could be a second text


def test_one_client_serves_many_threads(sns_xml):
    from concurrent.futures import ThreadPoolExecutor

    backend = get_backend("sns")
    messages = [create_message(f"+4479111230{i:02d}", f"n{i}") for i in range(12)]
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(backend.publish_message, messages))
    assert all(result.external_id == "m-1" for result in results) and len(sns_xml.requests) == 12
