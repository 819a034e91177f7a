"""ATS SMS operator: real HTTP to a local server answering in ATS's XML (the format pymess
uses), batches, every documented request-level and per-text code, garbage, a time-out, and
delivery states by polling (check_delivery)."""

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.utils import timezone

from sms.backends import BackendError, get_backend
from sms.delivery import check_delivery
from sms.dispatch import dispatch
from sms.fake_http import Reply
from sms.models import OutboundMessage, State
from sms.testing import create_message

pytestmark = pytest.mark.django_db


def answer(codes: dict) -> Reply:
    body = "".join(
        f'<code uniq="{uniq}">{code}</code>' if uniq else f"<code>{code}</code>" for uniq, code in codes.items()
    )
    return Reply(200, f'<?xml version="1.0" encoding="UTF-8"?><status>{body}</status>', content_type="text/xml")


def ok_for_everything(request):
    root = ET.fromstring(request.body)
    if root.find("sms") is not None:
        return answer({sms.get("uniq"): 0 for sms in root.iter("sms")})
    return answer({dlr.get("uniq"): 23 for dlr in root.iter("dlr")})


@pytest.fixture
def ats(settings, fake_gateway):
    settings.ATS_USERNAME, settings.ATS_PASSWORD = "texting", "pa<ss>&"
    settings.ATS_URL = f"{fake_gateway.url}/gwfcgi/XMLServerWrapper.fcgi"
    settings.ATS_SENDER, settings.ATS_PROJECT_KEYWORD = "420777000111", "TEXTING"
    settings.SMS_UNIQ_PREFIX = "shop1"
    settings.SMS_GATEWAY_TIMEOUT_SECONDS = 0.5
    settings.SMS_DEFAULT_BACKEND = "ats"
    fake_gateway.handler = ok_for_everything
    return fake_gateway


def test_a_batch_goes_in_one_xml_document_with_prefixed_uniqs(ats):
    messages = [create_message(f"+42060312300{i}", f"Ahoj <{i}> & vítejte") for i in range(3)]
    results = get_backend("ats").publish_messages(messages)
    (request,) = ats.requests
    assert request.path == "/gwfcgi/XMLServerWrapper.fcgi" and request.headers["Content-Type"].startswith("text/xml")
    root = ET.fromstring(request.body)
    assert root.findtext("auth/name") == "texting" and root.findtext("auth/password") == "pa<ss>&"
    sent = root.findall("sms")
    assert [sms.get("uniq") for sms in sent] == [f"shop1-{m.pk}" for m in messages]
    assert sent[0].get("recipient") == "420603123000" and sent[0].get("sender") == "420777000111"
    assert (sent[0].get("dlr"), sent[0].get("validity"), sent[0].get("kw")) == ("1", "60", "TEXTING")
    assert sent[2].findtext("body") == "Ahoj <2> & vítejte"
    assert [r.external_id for r in results] == [f"shop1-{m.pk}" for m in messages]


def test_each_text_gets_its_own_outcome(ats):
    good, invalid, dup = (create_message(f"+42060312300{i}") for i in range(3))
    ats.script(answer({f"shop1-{good.pk}": 0, f"shop1-{invalid.pk}": 350, f"shop1-{dup.pk}": 310}))
    results = get_backend("ats").publish_messages([good, invalid, dup])
    assert results[0].ok and results[2].ok  # 310: ATS already has this uniq, so it was taken before
    assert results[1].error.permanent and results[1].error.code == "350"


@pytest.mark.parametrize(("code", "permanent"), [(100, True), (200, False), (702, True), (1, False)])
def test_request_level_codes_fail_every_text(ats, code, permanent):
    messages = [create_message(), create_message("+420603123009")]
    ats.script(answer({None: code}))
    results = get_backend("ats").publish_messages(messages)
    assert all(r.error and r.error.permanent == permanent and r.error.code == str(code) for r in results)


@pytest.mark.parametrize(
    "reply",
    [
        Reply(500, "oops"),
        Reply(200, "<html>proxy"),
        Reply(200, "<status/>"),
        Reply(429, "busy"),
        Reply(200, "<status><code>x</code></status>"),
    ],
)
def test_garbage_and_server_errors_are_temporary(ats, reply):
    ats.script(reply)
    with pytest.raises(BackendError) as caught:
        get_backend("ats").publish_message(create_message())
    assert not caught.value.permanent


def test_a_time_out_is_retried(ats):
    ats.script(Reply(200, "<status/>", delay=2))
    message = create_message()
    dispatch()
    message.refresh_from_db()
    assert message.state == State.ERROR_RETRY and "no answer" in message.error


def test_check_delivery_polls_states_with_dlr_requests(ats):
    messages = [create_message(f"+42060312300{i}") for i in range(3)]
    dispatch()
    OutboundMessage.objects.update(sent_at=timezone.now() - timedelta(minutes=5))
    ats.script(answer({f"shop1-{messages[0].pk}": 23, f"shop1-{messages[1].pk}": 24, f"shop1-{messages[2].pk}": 21}))
    summary = check_delivery()
    request = ats.requests[-1]
    assert sorted(d.text for d in ET.fromstring(request.body).iter("dlr")) == sorted(f"shop1-{m.pk}" for m in messages)
    states = [OutboundMessage.objects.get(pk=m.pk).state for m in messages]
    assert states == [State.DELIVERED, State.ERROR_UPDATE, State.SENT]
    assert (summary.delivered, summary.failed) == (1, 1)


def test_another_installations_ids_are_not_taken_for_ours(ats):
    message = create_message()
    dispatch()
    OutboundMessage.objects.update(sent_at=timezone.now() - timedelta(minutes=5))
    ats.script(answer({f"shop2-{message.pk}": 24, f"shop1-{message.pk}": 23}))
    check_delivery()
    assert OutboundMessage.objects.get(pk=message.pk).state == State.DELIVERED
