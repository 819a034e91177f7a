"""The whole keyword workflow through each gateway's real webhook format, and the answer each
gateway needs to deliver a text again (README, "Keywords": which answer makes it retry).

1. a customer texts ABC.UNICORN to 567 -> the gateway posts it to our webhook;
2. keyword ABC listening on 567 calls the handler with the argument UNICORN;
3. the handler answers handled or retry-later, and the webhook answers the gateway accordingly;
4. the keyword's reply texts back a personal link (the links app fills in ``{link}``).
"""

import re
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from keywords import testing
from keywords.models import Dispatch
from keywords.testing import create_keyword, create_number
from sms.backends.twilio import EMPTY_TWIML
from sms.models import InboundMessage, OutboundMessage

pytestmark = pytest.mark.django_db

TOKEN = "twilio-auth-token-for-tests"
SECRET = "hook-secret-for-tests"
FORM = "application/x-www-form-urlencoded"


class Twilio:
    name = "twilio"

    def __init__(self, client, settings):
        settings.TWILIO_ACCOUNT_SID = "AC" + "1" * 32
        settings.TWILIO_AUTH_TOKEN = TOKEN
        self.client = client

    def post(self, text, sid):
        params = {"MessageSid": sid, "AccountSid": "AC" + "1" * 32, "From": "+447911123001", "To": "567", "Body": text}
        signature = RequestValidator(TOKEN).compute_signature("http://testserver/sms/inbound/twilio/", params)
        return self.client.post(
            "/sms/inbound/twilio/", urlencode(params), content_type=FORM, headers={"X-Twilio-Signature": signature}
        )

    def assert_ok(self, response):
        assert response.status_code == 200 and response.content.decode() == EMPTY_TWIML

    def assert_retry(self, response):
        # A 5xx is a failed webhook to Twilio: retried with a #rc=..&rp=5xx override, else the
        # fallback URL; the text stays pending for recover_inbound either way.
        assert response.status_code == 503 and response["Content-Type"].startswith("text/xml")


class Clickatell:
    name = "clickatell"

    def __init__(self, client, settings):
        settings.CLICKATELL_API_ID = "3456789"
        settings.CLICKATELL_USER = "texting"
        settings.CLICKATELL_PASSWORD = "pa55"
        settings.CLICKATELL_WEBHOOK_SECRET = SECRET
        self.client = client

    def post(self, text, sid):
        params = {"api_id": "3456789", "moMsgId": sid, "from": "447911123001", "to": "567", "text": text}
        params.update(timestamp="2026-11-23 08:43:50", charset="ISO-8859-1", secret=SECRET)
        return self.client.get("/sms/inbound/clickatell/", params)

    def assert_ok(self, response):
        assert response.status_code == 200

    def assert_retry(self, response):
        assert response.status_code == 503  # a callback not answered 2xx is posted again


class SMSBroadcast:
    name = "smsbroadcast"

    def __init__(self, client, settings):
        settings.SMSBROADCAST_USERNAME = "texting"
        settings.SMSBROADCAST_PASSWORD = "pa55"
        settings.SMSBROADCAST_WEBHOOK_SECRET = SECRET
        self.client = client

    def post(self, text, sid):  # SMS Broadcast sends no id: its retry is the same call again
        return self.client.get(
            "/sms/inbound/smsbroadcast/",
            {"to": "567", "from": "61400111222", "message": text, "ref": "", "secret": SECRET},
        )

    def assert_ok(self, response):
        assert response.status_code == 200

    def assert_retry(self, response):
        assert response.status_code == 503


class Broker:
    name = "broker"

    def __init__(self, client, settings):
        from keywords.models import BrokerProvider

        provider = BrokerProvider(name="Aggregator", slug="agg")
        provider.set_secret(SECRET)
        provider.save()
        self.client = client

    def post(self, text, sid):
        return self.client.get(
            "/sms/notification/agg/", {"origin": "447911123001", "text": text, "destination": "567", "secret": SECRET}
        )

    def assert_ok(self, response):
        assert (response.status_code, response.content) == (200, b"OK")

    def assert_retry(self, response):
        assert (response.status_code, response.content) == (503, b"ERR")


GATEWAYS = [Twilio, Clickatell, SMSBroadcast, Broker]


@pytest.fixture(params=GATEWAYS, ids=lambda g: g.name)
def gateway(request, client, settings):
    return request.param(client, settings)


@pytest.fixture
def abc():
    create_number("567")
    return create_keyword(
        "ABC",
        numbers=[],
        handler="keywords.testing.scripted",
        reply_template="Finish your purchase: {link}",
        link_view="keywords.handlers_demo.purchase",
    )


def test_the_keyword_workflow_end_to_end(gateway, abc):
    response = gateway.post("ABC.UNICORN", "id-1")
    gateway.assert_ok(response)
    (message,) = InboundMessage.objects.all()
    assert (message.recipient, message.routed_by) == ("567", "keyword:ABC")
    assert [argument for _, argument in testing.calls] == ["UNICORN"]
    reply = Dispatch.objects.get(message=message).reply
    assert reply.recipient == message.sender and reply.extra_data["link"]["view"] == "keywords.handlers_demo.purchase"
    # Step 4: the reply carries the recipient's personal link (filled in by the links app).
    assert re.fullmatch(r"Finish your purchase: https://texting\.example\.com/l/[\w-]{11,}", reply.content)
    assert reply.link.recipient == message.sender


def test_a_handler_asking_for_a_retry_once_runs_its_side_effect_once_on_the_gateway_s_retry(gateway, abc):
    testing.script[:] = ["retry"]
    gateway.assert_retry(gateway.post("ABC.UNICORN", "id-2"))
    assert testing.calls == [] and not OutboundMessage.objects.exists()
    gateway.assert_ok(gateway.post("ABC.UNICORN", "id-2"))  # the gateway delivers it again
    gateway.assert_ok(gateway.post("ABC.UNICORN", "id-2"))  # and once more: nothing runs
    assert InboundMessage.objects.count() == 1
    assert len(testing.calls) == 1
    assert OutboundMessage.objects.filter(tag="reward").count() == 1
    assert OutboundMessage.objects.filter(tag="keyword-reply").count() == 1
