"""Webhook plumbing shared by every backend (gateway formats are tested per backend)."""

import pytest

from sms.models import InboundMessage, State
from sms.testing import create_message

pytestmark = pytest.mark.django_db


@pytest.fixture
def locmem_hooks(settings):
    settings.LOCMEM_WEBHOOK_SECRET = "s3cret"


def test_webhooks_of_unconfigured_backend_are_not_found(client):
    assert client.post("/sms/inbound/locmem/", {"from": "+447911123456", "text": "hi", "id": "1"}).status_code == 404
    assert client.post("/sms/inbound/nonsense/", {}).status_code == 404


def test_wrong_or_missing_secret_is_forbidden(client, locmem_hooks):
    assert client.post("/sms/inbound/locmem/", {"id": "1"}).status_code == 403
    response = client.post("/sms/inbound/locmem/?secret=wrong", {"id": "1"})
    assert response.status_code == 403 and b"wrong webhook secret" in response.content
    assert not InboundMessage.objects.exists()


def test_secret_in_header_or_basic_auth_is_accepted(client, locmem_hooks):
    import base64

    data = {"from": "07911123456", "text": "hello", "id": "a1"}
    assert client.post("/sms/inbound/locmem/", data, headers={"X-Texting-Secret": "s3cret"}).status_code == 200
    auth = "Basic " + base64.b64encode(b"gateway:s3cret").decode()
    data["id"] = "a2"
    assert client.post("/sms/inbound/locmem/", data, headers={"Authorization": auth}).status_code == 200
    assert InboundMessage.objects.count() == 2


def test_duplicate_inbound_callback_stores_one_row_linked_to_the_conversation(client, locmem_hooks):
    sent = create_message("+447911123456", "Your order is ready", state=State.SENT)
    data = {"from": "07911 123456", "to": "+447911000000", "text": "Thanks!", "id": "gw-1"}
    for _ in range(2):
        assert client.post("/sms/inbound/locmem/?secret=s3cret", data).status_code == 200
    (inbound,) = InboundMessage.objects.all()
    assert inbound.sender == "+447911123456"
    assert inbound.in_reply_to == sent and inbound.contact == sent.contact


def test_status_report_by_our_reference_before_gateway_id_is_stored(client, locmem_hooks):
    message = create_message(state=State.SENT)
    url = f"/sms/status/locmem/?secret=s3cret&ref={message.reference}"
    assert client.post(url, {"id": "gw-77", "state": "delivered"}).status_code == 200
    message.refresh_from_db()
    assert message.state == State.DELIVERED and message.external_id == "gw-77"
    assert message.delivered_at is not None
    # a late "sent" never moves it back
    client.post(url, {"id": "gw-77", "state": "sent"})
    message.refresh_from_db()
    assert message.state == State.DELIVERED


def test_status_report_for_unknown_message_is_ignored_not_an_error(client, locmem_hooks):
    response = client.post("/sms/status/locmem/?secret=s3cret", {"id": "never-seen", "state": "delivered"})
    assert response.status_code == 200


def test_wrong_method_is_refused_with_allow_header(client, locmem_hooks):
    response = client.get("/sms/inbound/locmem/?secret=s3cret")
    assert response.status_code == 405 and response["Allow"] == "POST"


def broken_step(message):
    raise RuntimeError("classifier exploded")


def test_a_failing_pipeline_step_loses_nothing(client, locmem_hooks, settings):
    settings.SMS_INBOUND_PIPELINE = [f"{__name__}.broken_step", "sms.pipeline.link_conversation"]
    response = client.post("/sms/inbound/locmem/?secret=s3cret", {"from": "07911123456", "text": "hi", "id": "x"})
    assert response.status_code == 200
    (inbound,) = InboundMessage.objects.all()
    assert inbound.contact is not None  # the later step still ran


def test_broken_multipart_body_is_a_plain_400(client, locmem_hooks):
    response = client.generic(
        "POST", "/sms/inbound/locmem/?secret=s3cret", b"--zzz\r\nnot multipart", content_type="multipart/form-data"
    )
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")


def test_inbound_without_a_sender_is_refused_and_nothing_stored(client, locmem_hooks):
    response = client.post("/sms/inbound/locmem/?secret=s3cret", {"text": "who am I", "id": "z"})
    assert response.status_code == 400 and b"sender" in response.content
    assert not InboundMessage.objects.exists()
