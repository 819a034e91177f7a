import pytest

from campaigns.models import Template
from sms import api, signals
from sms.models import ConsentEvent, Contact, OutboundMessage, State

pytestmark = pytest.mark.django_db


def test_send_queues_one_waiting_text_in_e164():
    message = api.send("07911 123456", "Hello there", tag="welcome")
    assert message.pk and message.state == State.WAITING
    assert message.recipient == "+447911123456"
    assert (message.encoding, message.segments, message.tag) == ("gsm7", 1, "welcome")
    assert list(message.status_changes.values_list("state", flat=True)) == [State.WAITING]
    assert message.contact.number == "+447911123456"


def test_invalid_number_is_stored_refused_with_reason():
    message = api.send("12345", "Hello")
    assert message.state == State.REFUSED
    assert "Invalid number" in message.error


def test_opted_out_number_is_never_queued(outbox):
    contact = Contact.objects.create(number="+447911123456")
    contact.opt_out(reason="STOP", source="keyword")
    message = api.send("+44 7911 123456", "Hello", send_immediately=True)
    assert message.state == State.REFUSED
    assert "opted out" in message.error
    assert outbox == []


def test_send_immediately_sends_before_returning(outbox):
    sent = []
    signals.message_sent.connect(lambda message, **kw: sent.append(message.pk), weak=False, dispatch_uid="t1")
    try:
        message = api.send("07911123456", "Now please", send_immediately=True)
    finally:
        signals.message_sent.disconnect(dispatch_uid="t1")
    assert message.state == State.SENT
    assert message.external_id.startswith("locmem-")
    assert [m["to"] for m in outbox] == ["+447911123456"]
    assert sent == [message.pk]
    assert list(message.status_changes.values_list("state", flat=True)) == ["waiting", "sending", "sent"]


def test_extra_fields_and_related_objects_are_kept():
    template = Template.objects.create(name="Group A", slug="group-a", body="Hi")
    message = api.send("07911123456", "Hi", related_objects=[template], sender="Shop", extra_data={"order": 7})
    message.refresh_from_db()
    assert message.sender == "Shop" and message.extra_data == {"order": 7}
    assert [r.content_object for r in message.related_objects.all()] == [template]


def test_send_template_renders_context_and_links_the_template():
    Template.objects.create(name="Collect", slug="collect", body="Hi {name}, order {order} is ready")
    message = api.send_template("07911123456", "collect", {"name": "Zoë", "order": 12})
    assert message.content == "Hi Zoë, order 12 is ready"
    assert message.template.slug == "collect" and message.template_slug == "collect"


def test_send_template_refuses_inactive_and_unknown_templates():
    Template.objects.create(name="Old", slug="old", body="x", is_active=False)
    with pytest.raises(api.TemplateInactive):
        api.send_template("07911123456", "old", {})
    with pytest.raises(api.TemplateNotFound):
        api.send_template("07911123456", "nope", {})
    assert not OutboundMessage.objects.exists()


def test_transliteration_when_accents_are_not_wanted(settings):
    settings.SMS_USE_ACCENT = False
    message = api.send("07911123456", "Zażółć – “ok”")
    assert message.content == 'Zazolc - "ok"' and message.encoding == "gsm7"


def test_opt_out_refuses_queued_texts_and_keeps_a_ledger():
    message = api.send("07911123456", "Hello")
    contact = message.contact
    assert contact.opt_out(reason="Replied STOP", source="keyword")
    message.refresh_from_db()
    assert message.state == State.REFUSED
    assert not contact.opt_out(reason="again", source="keyword")  # already out
    contact.erase()
    assert ConsentEvent.objects.filter(number="+447911123456", kind="opt_out").count() == 2
    event = ConsentEvent.objects.first()
    with pytest.raises(ValueError):
        event.delete()
    with pytest.raises(ValueError):
        event.save()


def test_fresh_consent_lifts_the_opt_out():
    contact = Contact.objects.create(number="+447911123456")
    contact.opt_out(reason="STOP", source="keyword")
    contact.opt_in(source="keyword", evidence="Texted START")
    assert api.send("07911123456", "Welcome back").state == State.WAITING


@pytest.mark.parametrize("state", [State.REFUSED, State.WAITING, State.ERROR, State.ERROR_RETRY, State.DEBUG])
def test_a_text_that_never_reached_a_gateway_cannot_be_reported_delivered(state):
    from sms.testing import create_message

    message = create_message(state=state)
    assert not message.mark_delivered()
    assert not message.mark_failed_after_send(error="undelivered")
    message.refresh_from_db()
    assert message.state == state and message.delivered_at is None


def test_delivery_report_moves_a_sent_text_on_once():
    from sms.testing import create_message

    message = create_message(state=State.SENT)
    assert message.mark_delivered()
    assert not message.mark_delivered()
    assert list(message.status_changes.values_list("state", flat=True))[-1] == State.DELIVERED
