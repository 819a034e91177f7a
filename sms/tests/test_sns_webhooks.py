"""Amazon SNS webhooks: notifications signed in the tests with a throw-away certificate, served
by a local HTTP server (the certificate URL pattern is widened to 127.0.0.1 for the tests only)."""

import json

import pytest

from sms.backends import sns_signature
from sms.dispatch import dispatch
from sms.fake_http import FakeHTTPServer, Reply
from sms.models import InboundMessage, State
from sms.testing import create_message
from sms.tests.sns_signing import TOPIC, inbound_text, notification, post, serve_certificate, sign

pytestmark = pytest.mark.django_db


@pytest.fixture
def sns(settings, fake_gateway):
    settings.SNS_INBOUND_TOPIC_ARNS = [TOPIC]
    settings.SNS_CERT_URL_PATTERN = r"^http://127\.0\.0\.1:\d+/"
    settings.SMS_GATEWAY_TIMEOUT_SECONDS = 1
    fake_gateway.cert_url = serve_certificate(fake_gateway)
    return fake_gateway


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_signed_inbound_text_is_stored_once(sns, client, version):
    envelope = notification(inbound_text("+447911123456", "Yes please", "in-1"), sns.cert_url, version=version)
    for _ in range(2):
        assert post(client, "/sms/inbound/sns/", envelope).status_code == 200
    (inbound,) = InboundMessage.objects.all()
    assert (inbound.sender, inbound.recipient, inbound.content) == ("+447911123456", "+447700900001", "Yes please")
    assert inbound.external_id == "in-1" and inbound.backend == "sns"


def test_a_subject_is_part_of_the_signed_string(sns, client):
    envelope = notification(inbound_text("+447911123456", "hi", "in-s"), sns.cert_url, Subject="A subject")
    assert post(client, "/sms/inbound/sns/", envelope).status_code == 200
    tampered = {**envelope, "Subject": "Another subject"}
    assert post(client, "/sms/inbound/sns/", tampered).status_code == 403


def _forgeries(cert_url):
    good = notification(inbound_text("+447911123456", "hi", "forged"), cert_url)
    other_topic = notification(
        inbound_text("+447911123456", "hi", "forged"), cert_url, topic="arn:aws:sns:eu-west-1:999:evil"
    )
    return {
        "unsigned": {k: v for k, v in good.items() if k != "Signature"},
        "tampered-body": {**good, "Message": json.dumps(inbound_text("+447911123456", "changed", "forged"))},
        "wrong-key": sign({k: v for k, v in good.items() if k not in ("Signature",)}, key_name="someone-else"),
        "bad-version": {**good, "SignatureVersion": "3"},
        "not-base64": {**good, "Signature": "%%%"},
        "foreign-cert-host": {**good, "SigningCertURL": "https://evil.example.com/cert.pem"},
        "plain-http-sns-host": {**good, "SigningCertURL": "http://sns.eu-west-1.amazonaws.com.evil.com/x.pem"},
        "other-topic": other_topic,
    }


@pytest.mark.parametrize(
    "forgery",
    [
        "unsigned",
        "tampered-body",
        "wrong-key",
        "bad-version",
        "not-base64",
        "foreign-cert-host",
        "plain-http-sns-host",
        "other-topic",
    ],
)
def test_forged_or_foreign_messages_are_refused_and_store_nothing(sns, client, forgery):
    response = post(client, "/sms/inbound/sns/", _forgeries(sns.cert_url)[forgery])
    assert response.status_code == 403, response.content
    assert not InboundMessage.objects.exists()


def test_the_default_pattern_accepts_only_https_sns_hosts(settings):
    from django.conf import settings as live

    pattern = live.SNS_CERT_URL_PATTERN
    settings.SNS_CERT_URL_PATTERN = pattern
    assert sns_signature.allowed_url("https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem")
    assert sns_signature.allowed_url("https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem")
    for url in (
        "http://sns.eu-west-1.amazonaws.com/x.pem",
        "https://sns.eu-west-1.amazonaws.com.evil.com/x.pem",
        "https://evil.com/sns.eu-west-1.amazonaws.com/x.pem",
        "https://s3.amazonaws.com/x.pem",
    ):
        assert not sns_signature.allowed_url(url), url


def test_a_subscription_confirmation_is_confirmed_by_fetching_subscribe_url(sns, client):
    with FakeHTTPServer(default=Reply(200, "<ConfirmSubscriptionResponse/>")) as aws:
        envelope = sign(
            {
                "Type": "SubscriptionConfirmation",
                "MessageId": "c-1",
                "Token": "tok",
                "TopicArn": TOPIC,
                "Message": "You have chosen to subscribe to the topic...",
                "SubscribeURL": f"{aws.url}/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=tok",
                "Timestamp": "2026-12-01T12:00:00.000Z",
                "SigningCertURL": sns.cert_url,
            }
        )
        assert post(client, "/sms/inbound/sns/", envelope).status_code == 200
        (confirmation,) = aws.requests
        assert confirmation.query["Action"] == ["ConfirmSubscription"] and confirmation.query["Token"] == ["tok"]
    assert not InboundMessage.objects.exists()


def test_an_unsigned_subscription_confirmation_is_not_followed(sns, client):
    with FakeHTTPServer() as aws:
        envelope = {
            "Type": "SubscriptionConfirmation",
            "MessageId": "c-2",
            "Token": "tok",
            "TopicArn": TOPIC,
            "Message": "subscribe",
            "SubscribeURL": f"{aws.url}/?Action=ConfirmSubscription",
            "Timestamp": "2026-12-01T12:00:00.000Z",
            "SigningCertURL": sns.cert_url,
            "SignatureVersion": "1",
            "Signature": "AAAA",
        }
        assert post(client, "/sms/inbound/sns/", envelope).status_code == 403
        assert aws.requests == []


def test_an_unreachable_certificate_is_a_refusal_not_a_500(settings, client):
    settings.SNS_INBOUND_TOPIC_ARNS = [TOPIC]
    settings.SNS_CERT_URL_PATTERN = r"^http://127\.0\.0\.1:\d+/"
    settings.SMS_GATEWAY_TIMEOUT_SECONDS = 0.5
    with FakeHTTPServer(default=Reply(404, "no")) as nowhere:
        envelope = notification(inbound_text("+447911123456", "hi", "x"), nowhere.url + "/missing.pem")
        assert post(client, "/sms/inbound/sns/", envelope).status_code == 403


def test_a_delivery_status_record_settles_the_text(sns, client, settings):
    settings.SNS_ACCESS_KEY_ID, settings.SNS_SECRET_ACCESS_KEY = "testing", "testing"
    settings.SNS_ENDPOINT_URL = sns.url
    sns.default = Reply(
        200,
        "<PublishResponse><PublishResult><MessageId>m-9</MessageId></PublishResult></PublishResponse>",
        content_type="text/xml",
    )
    settings.SMS_DEFAULT_BACKEND = "sns"
    message = create_message()
    dispatch()
    record = {
        "notification": {"messageId": "m-9", "timestamp": "2026-12-01 12:00:00.000"},
        "delivery": {"destination": message.recipient, "providerResponse": "Unknown error attempting to reach phone"},
        "status": "FAILURE",
    }
    assert post(client, "/sms/status/sns/", notification(record, sns.cert_url)).status_code == 200
    message.refresh_from_db()
    assert message.state == State.ERROR_UPDATE and "Unknown error attempting" in message.error


def test_webhooks_are_off_until_a_topic_is_configured(settings, client):
    settings.SNS_INBOUND_TOPIC_ARNS = []
    assert client.post("/sms/inbound/sns/", "{}", content_type="text/plain").status_code == 404
