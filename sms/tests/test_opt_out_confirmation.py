"""sms-level rules of the single opt-out confirmation (``sms.api.send_opt_out_confirmation``)."""

import pytest
from django.db import IntegrityError

from sms.api import send, send_opt_out_confirmation
from sms.dispatch import dispatch
from sms.models import Contact, OutboundMessage, State

pytestmark = pytest.mark.django_db

NUMBER = "+447911123001"


@pytest.fixture
def event():
    contact = Contact.objects.create(number=NUMBER)
    contact.opt_out(reason="STOP", source="keyword", evidence="STOP")
    return contact.consent_events.get()


def test_the_confirmation_reaches_the_opted_out_number_once(event, outbox):
    message = send_opt_out_confirmation(event=event, content="You are unsubscribed.")
    assert message.state == State.WAITING and message.confirms_opt_out == event
    assert send_opt_out_confirmation(event=event, content="Again") is None
    dispatch()
    assert [(m["to"], m["body"]) for m in outbox] == [(NUMBER, "You are unsubscribed.")]


def test_everything_else_to_the_number_is_refused(event, outbox):
    send_opt_out_confirmation(event=event, content="You are unsubscribed.")
    assert send(NUMBER, "Promo").state == State.REFUSED
    with pytest.raises(IntegrityError):
        send(NUMBER, "Promo", confirms_opt_out=event)


def test_an_opt_in_event_cannot_be_confirmed_as_an_opt_out(event):
    contact = Contact.objects.get(number=NUMBER)
    contact.opt_in(source="keyword", evidence="START")
    assert send_opt_out_confirmation(event=contact.consent_events.first(), content="x") is None


def test_a_repeated_opt_out_keeps_the_queued_confirmation(event, outbox):
    message = send_opt_out_confirmation(event=event, content="You are unsubscribed.")
    Contact.objects.get(number=NUMBER).opt_out(reason="STOP again", source="keyword")
    message.refresh_from_db()
    assert message.state == State.WAITING


def test_dispatch_refuses_a_confirmation_whose_event_is_for_another_number(event, outbox):
    message = send_opt_out_confirmation(event=event, content="You are unsubscribed.")
    # Tamper with the row after queueing: the dispatcher checks the event's number again.
    OutboundMessage.objects.filter(pk=message.pk).update(recipient="+447911123002")
    Contact.objects.create(number="+447911123002").opt_out(reason="x", source="phone")
    dispatch()
    message.refresh_from_db()
    assert message.state == State.REFUSED and outbox == []


def test_recorded_by_is_kept_in_the_ledger(django_user_model):
    user = django_user_model.objects.create_user("op", is_staff=True)
    contact = Contact.objects.create(number=NUMBER)
    contact.opt_out(reason="phone call", source="phone", evidence="call 12", recorded_by=user)
    contact.opt_in(source="email", evidence="mail 3", recorded_by=user)
    assert [e.recorded_by for e in contact.consent_events.all()] == [user, user]


def test_a_confirmation_is_not_sent_after_the_number_opted_back_in(event, outbox):
    message = send_opt_out_confirmation(event=event, content="You are unsubscribed.")
    Contact.objects.get(number=NUMBER).opt_in(source="keyword", evidence="START")
    dispatch()
    message.refresh_from_db()
    assert message.state == State.REFUSED and outbox == []


def test_a_confirmation_to_an_invalid_number_keeps_the_real_reason():
    contact = Contact.objects.create(number="12")
    contact.opt_out(reason="STOP", source="keyword", evidence="STOP")
    message = send_opt_out_confirmation(event=contact.consent_events.get(), content="You are unsubscribed.")
    assert message.state == State.REFUSED
    assert message.error.startswith("Invalid number"), message.error
