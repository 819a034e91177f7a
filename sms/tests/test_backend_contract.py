"""One contract, every backend (like Django's shared mail backend tests).

Each harness knows how to set its backend up against the local fake gateway and how to speak
its gateway's webhook format; the tests below state what every backend must do.
"""

import itertools
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone
from twilio.request_validator import RequestValidator

from sms.backends import get_backend, locmem
from sms.backends.base import BackendError
from sms.delivery import check_delivery
from sms.dispatch import dispatch
from sms.fake_http import Reply
from sms.models import InboundMessage, OutboundMessage, State
from sms.testing import create_message

pytestmark = pytest.mark.django_db

_ids = itertools.count(1000)
NUMBERS = ["+447911123001", "+447911123002", "+447911123003"]


class Harness:
    slug = ""
    sends_for_real = True  # False: DEBUG backends (nothing leaves the building)
    can_fail = True  # we can make its gateway fail temporarily
    receives = True  # has inbound and status webhooks
    delivers_by_polling = False

    def configure(self, settings, gateway):
        settings.SMS_DEFAULT_BACKEND = self.slug
        settings.SMS_GATEWAY_TIMEOUT_SECONDS = 0.5

    def fail_next(self, gateway):
        gateway.script(Reply(503, "Service Unavailable"))

    def inbound(self, client, *, sender, text, gateway_id, authenticated=True):
        raise NotImplementedError

    def status(self, client, *, message, delivered: bool):
        raise NotImplementedError

    def raw(self, client, kind: str, body: bytes, content_type: str):
        """POST an arbitrary body to a webhook, with valid credentials."""
        raise NotImplementedError


class ConsoleHarness(Harness):
    slug = "console"
    sends_for_real = can_fail = receives = False


class SimulatedHarness(Harness):
    slug = "simulated"
    can_fail = receives = False
    delivers_by_polling = True

    def configure(self, settings, gateway):
        super().configure(settings, gateway)
        settings.SMS_SIMULATED_DELIVERY_SECONDS = 0


class LocmemHarness(Harness):
    slug = "locmem"

    def configure(self, settings, gateway):
        super().configure(settings, gateway)
        settings.LOCMEM_WEBHOOK_SECRET = "s3cret"

    def fail_next(self, gateway):
        locmem.fail_next.append(BackendError("gateway unavailable"))

    def inbound(self, client, *, sender, text, gateway_id, authenticated=True):
        secret = "s3cret" if authenticated else "nope"
        return client.post(f"/sms/inbound/locmem/?secret={secret}", {"from": sender, "text": text, "id": gateway_id})

    def status(self, client, *, message, delivered):
        state = "delivered" if delivered else "error_update"
        return client.post(f"/sms/status/locmem/?secret=s3cret&ref={message.reference}", {"state": state})

    def raw(self, client, kind, body, content_type):
        return client.post(f"/sms/{kind}/locmem/?secret=s3cret", body, content_type=content_type)


class TwilioHarness(Harness):
    slug = "twilio"
    account, token = "AC" + "d4" * 16, "contract-token"

    def configure(self, settings, gateway):
        super().configure(settings, gateway)
        settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = self.account, self.token
        settings.TWILIO_FROM_NUMBER = "+447700900001"
        settings.TWILIO_API_BASE = gateway.url

        def created(request):
            sid = f"SM{next(_ids):032d}"
            return Reply(
                201, {"sid": sid, "status": "queued", "to": request.params["To"], "from": request.params["From"]}
            )

        gateway.handler = created

    def _post(self, client, path, params, authenticated=True):
        token = self.token if authenticated else "another-token"
        signature = RequestValidator(token).compute_signature(f"http://testserver{path}", params)
        return client.post(
            path,
            urlencode(params),
            content_type="application/x-www-form-urlencoded",
            headers={"X-Twilio-Signature": signature},
        )

    def inbound(self, client, *, sender, text, gateway_id, authenticated=True):
        params = {
            "MessageSid": gateway_id,
            "AccountSid": self.account,
            "From": sender,
            "To": "+447700900001",
            "Body": text,
        }
        return self._post(client, "/sms/inbound/twilio/", params, authenticated)

    def status(self, client, *, message, delivered):
        params = {"MessageSid": message.external_id, "MessageStatus": "delivered" if delivered else "undelivered"}
        return self._post(client, f"/sms/status/twilio/?ref={message.reference}", params)

    def raw(self, client, kind, body, content_type):
        from django.http import QueryDict

        params = QueryDict(body, encoding="utf-8") if content_type.endswith("urlencoded") else {}
        signature = RequestValidator(self.token).compute_signature(f"http://testserver/sms/{kind}/twilio/", params)
        return client.post(
            f"/sms/{kind}/twilio/", body, content_type=content_type, headers={"X-Twilio-Signature": signature}
        )


class ClickatellHarness(Harness):
    slug = "clickatell"

    def configure(self, settings, gateway):
        super().configure(settings, gateway)
        settings.CLICKATELL_API_ID, settings.CLICKATELL_USER, settings.CLICKATELL_PASSWORD = "1", "u", "p"
        settings.CLICKATELL_API_BASE = gateway.url
        settings.CLICKATELL_WEBHOOK_SECRET = "click-secret"
        gateway.handler = lambda request: Reply(200, f"ID: {next(_ids):032x}")

    def inbound(self, client, *, sender, text, gateway_id, authenticated=True):
        params = {"moMsgId": gateway_id, "from": sender.lstrip("+"), "to": "447700900001", "text": text}
        params["secret"] = "click-secret" if authenticated else "nope"
        return client.get("/sms/inbound/clickatell/", params)

    def status(self, client, *, message, delivered):
        params = {
            "apiMsgId": message.external_id,
            "cliMsgId": message.reference.hex,
            "status": "004" if delivered else "007",
        }
        return client.get("/sms/status/clickatell/", {**params, "secret": "click-secret"})

    def raw(self, client, kind, body, content_type):
        return client.post(f"/sms/{kind}/clickatell/?secret=click-secret", body, content_type=content_type)


class SMSBroadcastHarness(Harness):
    slug = "smsbroadcast"

    def configure(self, settings, gateway):
        super().configure(settings, gateway)
        settings.SMSBROADCAST_USERNAME, settings.SMSBROADCAST_PASSWORD = "u", "p"
        settings.SMSBROADCAST_API_URL = f"{gateway.url}/api-adv.php"
        settings.SMSBROADCAST_WEBHOOK_SECRET = "bc-secret"
        gateway.handler = lambda request: Reply(
            200, "\n".join(f"OK:{number}:{next(_ids)}" for number in request.params["to"].split(","))
        )

    def inbound(self, client, *, sender, text, gateway_id, authenticated=True):
        params = {"from": sender.lstrip("+"), "to": "61400999000", "message": text, "smsref": gateway_id}
        params["secret"] = "bc-secret" if authenticated else "nope"
        return client.get("/sms/inbound/smsbroadcast/", params)

    def status(self, client, *, message, delivered):
        params = {
            "to": message.recipient.lstrip("+"),
            "ref": message.reference.hex[:20],
            "smsref": message.external_id,
            "status": "Delivered" if delivered else "Failed",
        }
        return client.get("/sms/status/smsbroadcast/", {**params, "secret": "bc-secret"})

    def raw(self, client, kind, body, content_type):
        return client.post(f"/sms/{kind}/smsbroadcast/?secret=bc-secret", body, content_type=content_type)


HARNESSES = [ConsoleHarness, LocmemHarness, SimulatedHarness, TwilioHarness, ClickatellHarness, SMSBroadcastHarness]


def _provider_harnesses():
    from sms.tests.contract_providers import PROVIDER_HARNESSES

    return PROVIDER_HARNESSES


HARNESSES += _provider_harnesses()


@pytest.fixture(params=HARNESSES, ids=lambda cls: cls.slug)
def harness(request, settings, fake_gateway):
    harness = request.param()
    harness.configure(settings, fake_gateway)
    harness.gateway = fake_gateway
    return harness


def test_backend_is_registered_under_its_slug(harness, settings):
    assert get_backend(harness.slug).slug == harness.slug
    assert settings.SMS_BACKENDS[harness.slug].endswith(type(get_backend(harness.slug)).__name__)


def test_dispatch_sends_each_text_once_and_records_the_gateway_id(harness, capsys):
    messages = [create_message(number, f"Hello {i}") for i, number in enumerate(NUMBERS)]
    summary = dispatch()
    rows = list(OutboundMessage.objects.filter(pk__in=[m.pk for m in messages]))
    expected = State.SENT if harness.sends_for_real else State.DEBUG
    assert {row.state for row in rows} == {expected}
    assert summary.claimed == 3 and summary.errors == []
    ids = [row.external_id for row in rows]
    assert all(ids) and len(set(ids)) == 3
    assert all(row.backend == harness.slug and row.sent_at for row in rows)


def test_publish_messages_returns_one_result_per_text_in_order(harness, capsys):
    messages = [create_message(number, "Same words for everyone") for number in NUMBERS]
    results = get_backend(harness.slug).publish_messages(messages)
    assert [result.message for result in results] == messages
    assert all(result.ok and result.external_id for result in results)


def test_a_temporary_gateway_failure_is_retried_later(harness):
    if not harness.can_fail:
        pytest.skip(f"{harness.slug} never fails")
    harness.fail_next(harness.gateway)
    message = create_message()
    dispatch()
    message.refresh_from_db()
    assert message.state == State.ERROR_RETRY and message.next_attempt_at > timezone.now()
    assert message.error


def test_an_inbound_text_is_stored_once_with_an_e164_sender(harness, client):
    if not harness.receives:
        pytest.skip(f"{harness.slug} receives no texts by webhook")
    for _ in range(2):
        response = harness.inbound(client, sender="+447911123456", text="Yes please", gateway_id="in-1")
        assert response.status_code == 200
    (inbound,) = InboundMessage.objects.all()
    assert (inbound.sender, inbound.content, inbound.backend) == ("+447911123456", "Yes please", harness.slug)


def test_webhooks_without_the_right_credentials_are_forbidden(harness, client):
    if not harness.receives:
        pytest.skip(f"{harness.slug} receives no texts by webhook")
    response = harness.inbound(client, sender="+447911123456", text="hi", gateway_id="x", authenticated=False)
    assert response.status_code == 403 and not InboundMessage.objects.exists()


@pytest.mark.parametrize("delivered", [True, False], ids=["delivered", "failed"])
def test_a_delivery_report_settles_the_text(harness, client, delivered):
    if not harness.sends_for_real:
        pytest.skip(f"{harness.slug} sends nothing, so nothing is delivered")
    message = create_message()
    dispatch()
    message.refresh_from_db()
    if harness.delivers_by_polling:
        OutboundMessage.objects.filter(pk=message.pk).update(sent_at=timezone.now() - timedelta(minutes=1))
        check_delivery()
    else:
        assert harness.status(client, message=message, delivered=delivered).status_code == 200
    message.refresh_from_db()
    if harness.delivers_by_polling:
        assert message.state in (State.DELIVERED, State.ERROR_UPDATE)
    else:
        assert message.state == (State.DELIVERED if delivered else State.ERROR_UPDATE)


def test_a_report_about_an_unknown_text_is_accepted_and_ignored(harness, client):
    if not harness.receives:
        pytest.skip(f"{harness.slug} receives no reports by webhook")
    stranger = OutboundMessage(recipient="+447911123999", content="never stored", external_id="never-seen")
    assert harness.status(client, message=stranger, delivered=True).status_code == 200


def _garbage_bodies(seed: int, count: int = 25):
    """Random bytes, broken encodings and plausible-but-wrong shapes (deterministic)."""
    import random

    rng = random.Random(seed)
    fixed = [
        (b"", "application/x-www-form-urlencoded"),
        (b"{", "application/json"),
        (b"null", "application/json"),
        (b'{"text": ["a"], "from": {"x": 1}, "messageId": [], "status": {}}', "application/json"),
        (b"%zz%%=&=&&from=%00%ff", "application/x-www-form-urlencoded"),
        (b"status=004&apiMsgId=" + b"9" * 5000, "application/x-www-form-urlencoded"),
        (b"MessageSid=SM1&From=%2B447911123456&NumMedia=-3&MessageStatus=%00", "application/x-www-form-urlencoded"),
        (b"--x\r\nContent-Disposition: form-data\r\n\r\n", "multipart/form-data; boundary=x"),
    ]
    for _ in range(count):
        size = rng.randint(1, 300)
        body = bytes(rng.getrandbits(8) for _ in range(size))
        fixed.append((body, rng.choice(["application/x-www-form-urlencoded", "application/json", "text/plain"])))
    return fixed


@pytest.mark.parametrize("kind", ["inbound", "status"])
def test_garbage_from_an_authenticated_caller_is_never_a_500(harness, client, kind):
    if not harness.receives:
        pytest.skip(f"{harness.slug} receives nothing by webhook")
    for body, content_type in _garbage_bodies(seed={"inbound": 1, "status": 2}[kind]):
        # The test client re-raises any exception a view lets escape: a 500 fails here.
        response = harness.raw(client, kind, body, content_type)
        assert response.status_code in (200, 400), (body[:60], response.status_code, response.content[:200])
