"""SMS Operator: real HTTP to a local server answering in its XML web-service format (the one
pymess uses), errors, garbage, a time-out, and delivery states by polling."""

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


def answer(statuses: dict) -> Reply:
    items = "".join(
        f"<DataItem><SmsId>{sms_id}</SmsId><Status>{status}</Status></DataItem>" for sms_id, status in statuses.items()
    )
    return Reply(
        200, f'<?xml version="1.0"?><SmsServices><DataArray>{items}</DataArray></SmsServices>', content_type="text/xml"
    )


def ok_for_everything(request):
    root = ET.fromstring(request.body)
    ids = [node.text for node in root.iter("SmsId")]
    return answer({sms_id: 0 for sms_id in ids})


@pytest.fixture
def smsoperator(settings, fake_gateway):
    settings.SMSOPERATOR_USERNAME, settings.SMSOPERATOR_PASSWORD = "texting", "heslo"
    settings.SMSOPERATOR_URL = f"{fake_gateway.url}/webservices/webservice.aspx"
    settings.SMS_UNIQ_PREFIX = "shop1"
    settings.SMS_GATEWAY_TIMEOUT_SECONDS = 0.5
    settings.SMS_DEFAULT_BACKEND = "smsoperator"
    fake_gateway.handler = ok_for_everything
    return fake_gateway


def test_send_document(smsoperator):
    messages = [create_message("+420603123001", "Dobrý den & <vítejte>"), create_message("+420603123002", "B")]
    results = get_backend("smsoperator").publish_messages(messages)
    root = ET.fromstring(smsoperator.requests[0].body)
    assert root.findtext("DataHeader/DataType") == "SMS"
    assert (root.findtext("DataHeader/UserName"), root.findtext("DataHeader/Password")) == ("texting", "heslo")
    items = root.findall("DataArray/DataTemplate/DataItem")
    assert [(i.findtext("MobileTerminate"), i.findtext("Text"), i.findtext("SmsId")) for i in items] == [
        ("420603123001", "Dobrý den & <vítejte>", f"shop1-{messages[0].pk}"),
        ("420603123002", "B", f"shop1-{messages[1].pk}"),
    ]
    assert all(r.ok for r in results) and results[0].external_id == f"shop1-{messages[0].pk}"


@pytest.mark.parametrize(("status", "permanent"), [(2, True), (4, True), (7, True), (3, False), (5, False)])
def test_send_statuses_are_mapped(smsoperator, status, permanent):
    message = create_message()
    smsoperator.script(answer({f"shop1-{message.pk}": status}))
    with pytest.raises(BackendError) as caught:
        get_backend("smsoperator").publish_message(message)
    assert caught.value.permanent == permanent and caught.value.code == str(status)


def test_a_text_the_answer_does_not_mention_is_ambiguous_never_resent(smsoperator):
    first, second = create_message(), create_message("+420603123002")
    smsoperator.script(answer({f"shop1-{first.pk}": 0}))
    dispatch()
    assert OutboundMessage.objects.get(pk=first.pk).state == State.SENT
    assert OutboundMessage.objects.get(pk=second.pk).state == State.UNKNOWN


@pytest.mark.parametrize(
    "reply", [Reply(500, "oops"), Reply(200, "<html>"), Reply(200, "<SmsServices/>"), Reply(429, "")]
)
def test_garbage_and_server_errors_are_temporary(smsoperator, reply):
    smsoperator.script(reply)
    with pytest.raises(BackendError) as caught:
        get_backend("smsoperator").publish_message(create_message())
    assert not caught.value.permanent and not caught.value.ambiguous


def test_a_time_out_is_retried(smsoperator):
    smsoperator.script(Reply(200, "<SmsServices/>", delay=2))
    message = create_message()
    dispatch()
    message.refresh_from_db()
    assert message.state == State.ERROR_RETRY


def test_check_delivery_asks_sms_status(smsoperator):
    messages = [create_message(f"+42060312300{i}") for i in range(3)]
    dispatch()
    OutboundMessage.objects.update(sent_at=timezone.now() - timedelta(minutes=5))
    smsoperator.script(
        answer({f"shop1-{messages[0].pk}": 0, f"shop1-{messages[1].pk}": 2, f"shop1-{messages[2].pk}": 11})
    )
    check_delivery()
    root = ET.fromstring(smsoperator.requests[-1].body)
    assert root.findtext("DataHeader/DataType") == "SMS-Status"
    assert sorted(n.text for n in root.findall("DataArray/SmsId")) == sorted(f"shop1-{m.pk}" for m in messages)
    assert [OutboundMessage.objects.get(pk=m.pk).state for m in messages] == [
        State.DELIVERED,
        State.ERROR_UPDATE,
        State.SENT,
    ]
