"""SMS Broadcast backend: batched requests to a local server answering in the Advanced HTTP
API's line format, and its GET webhooks."""

import itertools
import time

import pytest
from django.utils import timezone

from sms.backends import BackendError, get_backend
from sms.dispatch import dispatch
from sms.fake_http import Reply
from sms.models import InboundMessage, OutboundMessage, State
from sms.testing import create_message

pytestmark = pytest.mark.django_db

SECRET = "smsbroadcast-hook-secret"
_smsrefs = itertools.count(2942263)


def answer_each_number(request):
    """The gateway's answer: one line per number; numbers ending 999 are refused."""
    lines = []
    for number in request.params["to"].split(","):
        if number.endswith("999"):
            lines.append(f"BAD:{number}:Invalid Number")
        else:
            lines.append(f"OK:{number}:{next(_smsrefs)}")
    return Reply(200, "\n".join(lines) + "\n")


@pytest.fixture
def smsbroadcast(settings, fake_gateway):
    settings.SMSBROADCAST_USERNAME = "texting"
    settings.SMSBROADCAST_PASSWORD = "pa55"
    settings.SMSBROADCAST_API_URL = f"{fake_gateway.url}/api-adv.php"
    settings.SMSBROADCAST_WEBHOOK_SECRET = SECRET
    settings.SMS_GATEWAY_TIMEOUT_SECONDS = 0.5
    settings.SMS_DEFAULT_BACKEND = "smsbroadcast"
    settings.SMS_DEFAULT_SENDER = "Texting"
    fake_gateway.handler = answer_each_number
    return fake_gateway


# --- Sending ---------------------------------------------------------------------------------


def test_one_text_is_posted_in_the_documented_format(smsbroadcast):
    message = create_message("+61400111222", "Doors open at 7")
    dispatch()
    (request,) = smsbroadcast.requests
    assert (request.method, request.path) == ("POST", "/api-adv.php")
    params = request.params
    assert params == {
        "username": "texting",
        "password": "pa55",
        "to": "61400111222",
        "from": "Texting",
        "message": "Doors open at 7",
        "ref": message.reference.hex[:20],
        "maxsplit": "1",
    }
    message.refresh_from_db()
    assert message.state == State.SENT and message.external_id.isdigit()


def test_same_words_go_in_one_request_and_each_answer_line_finds_its_text(smsbroadcast):
    numbers = ["+61400111001", "+61400111002", "+61400111999", "+61400111004"]
    same = [create_message(number, "Campaign words") for number in numbers]
    other = create_message("+61400111005", "Something else")
    summary = dispatch()
    assert len(smsbroadcast.requests) == 2
    batch = next(r for r in smsbroadcast.requests if r.params["message"] == "Campaign words")
    assert batch.params["to"] == "61400111001,61400111002,61400111999,61400111004"
    assert (summary.sent, summary.failed) == (4, 1)
    states = dict(OutboundMessage.objects.values_list("recipient", "state"))
    assert states["+61400111999"] == State.ERROR
    assert all(states[m.recipient] == State.SENT for m in [*same[:2], same[3], other])
    ids = OutboundMessage.objects.filter(state=State.SENT).values_list("external_id", flat=True)
    assert len(set(ids)) == 4
    assert "Invalid Number" in OutboundMessage.objects.get(recipient="+61400111999").error


def test_answer_lines_in_national_format_still_match(smsbroadcast):
    smsbroadcast.script(Reply(200, "OK: 0400111001: 111\nOK: 0400111002: 222\n"))
    first, second = create_message("+61400111001", "Hi"), create_message("+61400111002", "Hi")
    dispatch()
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.external_id, second.external_id) == ("111", "222")


def test_error_answer_fails_the_whole_request(smsbroadcast):
    smsbroadcast.script(Reply(200, "ERROR: Username or password is incorrect\n"))
    messages = [create_message(f"+6140011100{i}", "Hi") for i in range(3)]
    dispatch()
    assert {m.state for m in OutboundMessage.objects.filter(pk__in=[m.pk for m in messages])} == {State.ERROR}


def test_a_number_missing_from_the_answer_is_not_retried(smsbroadcast):
    smsbroadcast.script(Reply(200, "OK:61400111001:555\n"))
    create_message("+61400111001", "Hi")
    missing = create_message("+61400111002", "Hi")
    dispatch()
    missing.refresh_from_db()
    assert missing.state == State.ERROR and "duplicate" in missing.error


@pytest.mark.parametrize(
    ("reply", "throttled"),
    [
        (Reply(500, "Internal Server Error"), False),
        (Reply(200, "<html>Down for maintenance</html>"), False),
        (Reply(429, "slow down", {"Retry-After": "60"}), True),
        (Reply(200, "ERROR: Not enough credit\n"), True),
    ],
)
def test_temporary_failures(smsbroadcast, reply, throttled):
    smsbroadcast.script(reply)
    with pytest.raises(BackendError) as caught:
        get_backend("smsbroadcast").publish_message(create_message("+61400111001"))
    assert not caught.value.permanent and caught.value.throttled == throttled


def test_a_slow_gateway_times_out_and_is_retried_later(smsbroadcast):
    smsbroadcast.script(Reply(200, "OK:61400111001:1", delay=3))
    message = create_message("+61400111001")
    started = time.monotonic()
    dispatch()
    assert time.monotonic() - started < 2
    message.refresh_from_db()
    assert message.state == State.ERROR_RETRY


# --- Webhooks --------------------------------------------------------------------------------


def test_inbound_get_is_stored_once(client, smsbroadcast):
    sent = create_message("+61400111222", "Are you coming?", state=State.SENT)
    params = {
        "to": "61400999000",
        "from": "61400111222",
        "message": "Yes!",
        "ref": sent.reference.hex[:20],
        "secret": SECRET,
    }
    for _ in range(2):
        assert client.get("/sms/inbound/smsbroadcast/", params).status_code == 200
    (inbound,) = InboundMessage.objects.all()
    assert (inbound.sender, inbound.recipient, inbound.content) == ("+61400111222", "+61400999000", "Yes!")
    assert inbound.in_reply_to == sent


def test_status_by_ref_before_the_smsref_is_stored(client, smsbroadcast):
    message = create_message("+61400111222", state=State.SENDING)
    params = {
        "to": "61400111222",
        "ref": message.reference.hex[:20],
        "smsref": "2942263",
        "status": "Delivered",
        "secret": SECRET,
    }
    assert client.get("/sms/status/smsbroadcast/", params).status_code == 200
    message.refresh_from_db()
    assert message.state == State.DELIVERED and message.external_id == "2942263"


def test_status_for_a_batch_mate_is_traced_through_the_batch_ref(client, smsbroadcast):
    first = create_message("+61400111001", "Campaign words")
    mate = create_message("+61400111002", "Campaign words")
    now = timezone.now()
    # Claimed together and sent in one request whose ref is the first text's; the dispatcher
    # has not yet stored the gateway's ids.
    OutboundMessage.objects.filter(pk__in=[first.pk, mate.pk]).update(
        state=State.SENDING, claimed_at=now, backend="smsbroadcast"
    )
    params = {
        "to": "61400111002",
        "ref": first.reference.hex[:20],
        "smsref": "77",
        "status": "Expired",
        "secret": SECRET,
    }
    assert client.get("/sms/status/smsbroadcast/", params).status_code == 200
    mate.refresh_from_db()
    first.refresh_from_db()
    assert mate.state == State.ERROR_UPDATE and mate.external_id == "77"
    assert first.state == State.SENDING


def test_status_for_a_batch_mate_echoed_in_national_format(client, smsbroadcast):
    first = create_message("+61400111001", "Campaign words")
    mate = create_message("+61400111002", "Campaign words")
    OutboundMessage.objects.filter(pk__in=[first.pk, mate.pk]).update(
        state=State.SENT, claimed_at=timezone.now(), backend="smsbroadcast"
    )
    params = {
        "to": "0400111002",
        "ref": first.reference.hex[:20],
        "smsref": "78",
        "status": "Delivered",
        "secret": SECRET,
    }
    assert client.get("/sms/status/smsbroadcast/", params).status_code == 200
    mate.refresh_from_db()
    first.refresh_from_db()
    assert (mate.state, first.state) == (State.DELIVERED, State.SENT)


def test_status_by_smsref(client, smsbroadcast):
    message = create_message("+61400111222", state=State.SENT)
    OutboundMessage.objects.filter(pk=message.pk).update(backend="smsbroadcast", external_id="1234")
    params = {"to": "61400111222", "ref": "", "smsref": "1234", "status": "Failed", "secret": SECRET}
    assert client.get("/sms/status/smsbroadcast/", params).status_code == 200
    message.refresh_from_db()
    assert message.state == State.ERROR_UPDATE


@pytest.mark.parametrize("secret", [None, "wrong"])
def test_missing_or_wrong_secret_is_forbidden(client, smsbroadcast, secret):
    params = {"to": "61400999000", "from": "61400111222", "message": "Yes!"}
    if secret:
        params["secret"] = secret
    assert client.get("/sms/inbound/smsbroadcast/", params).status_code == 403


@pytest.mark.parametrize(
    ("kind", "query", "expected"),
    [
        ("inbound", "to=1", 400),
        ("inbound", "message=hello", 400),
        ("status", "smsref=1", 400),
        ("status", "status=Delivered", 400),
        ("status", "status=Delivered&ref=zz%00%ff", 200),  # a ref we never gave: logged, ignored
        ("inbound", "from=%ff%fe&message=%00", 200),  # odd but readable: kept for staff to see
    ],
)
def test_malformed_calls_are_a_400_with_a_reason_never_a_500(client, smsbroadcast, kind, query, expected):
    response = client.get(f"/sms/{kind}/smsbroadcast/?secret={SECRET}&{query}")
    assert response.status_code == expected
    if expected == 400:
        assert response.content.startswith(b"Bad request: ")


def test_an_account_modelled_as_a_sim_sends_with_its_own_credentials(smsbroadcast):
    backend = get_backend("smsbroadcast", username="branch-office", password="their-pass")
    backend.publish_message(create_message("+61400111001"))
    params = smsbroadcast.requests[0].params
    assert (params["username"], params["password"]) == ("branch-office", "their-pass")
