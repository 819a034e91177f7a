"""No path sends to an opted-out number, except the one confirmation of each opt-out."""

import pytest
from django.db import IntegrityError
from django.utils import timezone

from campaigns.models import Campaign, Template
from replies.models import ReplyType, Source
from replies.sorting import categorise, opt_out
from replies.testing import receive
from sms.api import send, send_opt_out_confirmation, send_template
from sms.dispatch import dispatch
from sms.models import ConsentEvent, Contact, OutboundMessage, State
from sms.queueing import build_message, queue_messages
from sms.testing import create_message

pytestmark = pytest.mark.django_db

NUMBER = "+447911123001"


@pytest.fixture
def opted_out(outbox):
    """A number that texted STOP; its confirmation has been dispatched."""
    receive("STOP", sender=NUMBER)
    dispatch()
    assert [m["to"] for m in outbox] == [NUMBER]
    outbox.clear()
    return Contact.objects.get(number=NUMBER)


def test_confirmation_is_delivered_once_and_carries_no_other_text(outbox, settings):
    settings.REPLIES_OPT_OUT_CONFIRMATION = "You are unsubscribed."
    receive("unsubscribe", sender=NUMBER)
    dispatch()
    assert [(m["to"], m["body"]) for m in outbox] == [(NUMBER, "You are unsubscribed.")]


def test_manual_send_is_refused(opted_out, outbox):
    message = send(NUMBER, "Are you sure?", send_immediately=True)
    assert message.state == State.REFUSED and "opted out" in message.error
    assert dispatch().claimed == 0 and outbox == []


def test_template_send_is_refused(opted_out, outbox):
    Template.objects.create(name="Promo", slug="promo", body="Hi {name}, 20% off!")
    assert send_template(NUMBER, "promo", {"name": "Jo"}).state == State.REFUSED


def test_campaign_fan_out_and_follow_up_are_refused(opted_out, outbox):
    campaign = Campaign.objects.create(name="Spring", state=Campaign.State.RUNNING)
    built = [build_message(n, "Spring sale", campaign=campaign) for n in (NUMBER, "+447911123002")]
    built.append(build_message(NUMBER, "Did you see our sale?", campaign=campaign, tag="follow-up"))
    stored = queue_messages(built)
    assert [m.state for m in stored] == [State.REFUSED, State.WAITING, State.REFUSED]
    dispatch()
    assert [m["to"] for m in outbox] == ["+447911123002"]


def test_auto_reply_and_help_are_refused(opted_out, outbox, settings):
    ReplyType.objects.filter(slug="thanks").update(auto_reply_text="You're welcome")
    message = receive("thx a lot", sender=NUMBER)
    categorise(reply=message.reply, reply_type=ReplyType.objects.get(slug="thanks"), source=Source.STAFF)
    receive("HELP", sender=NUMBER)
    dispatch()
    assert outbox == []
    assert set(OutboundMessage.objects.filter(tag="auto-reply").values_list("state", flat=True)) == {State.REFUSED}


def test_texts_queued_before_the_opt_out_are_refused_at_once(outbox):
    queued = create_message(NUMBER, "Queued promo")
    retrying = create_message(NUMBER, "Retrying promo", state=State.ERROR_RETRY)
    receive("stop", sender=NUMBER)
    for message in (queued, retrying):
        message.refresh_from_db()
        assert message.state == State.REFUSED
    dispatch()
    assert [m["body"] for m in outbox] == [OutboundMessage.objects.get(tag="opt-out-confirmation").content]


def test_dispatch_time_check_refuses_an_opt_out_that_slipped_past_queueing(outbox):
    message = create_message(NUMBER, "Promo")
    # The opt-out lands without the queue sweep (another process's race): dispatch still refuses.
    Contact.objects.filter(number=NUMBER).update(opted_out_at=timezone.now())
    dispatch()
    message.refresh_from_db()
    assert message.state == State.REFUSED and outbox == []


def test_a_second_confirmation_of_the_same_event_is_impossible(opted_out, outbox):
    event = opted_out.consent_events.get(kind="opt_out")
    assert send_opt_out_confirmation(event=event, content="Again") is None
    with pytest.raises(IntegrityError):
        send(NUMBER, "Marketing disguised as a confirmation", confirms_opt_out=event)


def test_a_confirmation_must_be_for_the_number_own_opt_out(opted_out, outbox):
    other = Contact.objects.create(number="+447911123002")
    opt_out(contact=other, reason="phone call", source="phone", evidence="call log 12", confirm=False)
    other_event = other.consent_events.get()
    forged = send(NUMBER, "Promo", confirms_opt_out=other_event)
    assert forged.state == State.REFUSED and "Not a valid opt-out confirmation" in forged.error
    dispatch()
    assert outbox == []


def test_a_confirmation_of_a_superseded_opt_out_is_refused(outbox):
    contact = Contact.objects.create(number=NUMBER)
    opt_out(contact=contact, reason="x", source="phone", evidence="call", confirm=False)
    old_event = contact.consent_events.get()
    contact.opt_in(source="staff", evidence="signed form")
    opt_out(contact=contact, reason="y", source="phone", evidence="call 2", confirm=False)
    assert send_opt_out_confirmation(event=old_event, content="Bye").state == State.REFUSED


def test_repeated_stop_does_not_swallow_the_pending_confirmation(outbox):
    receive("STOP", sender=NUMBER)
    receive("STOP", sender=NUMBER)
    dispatch()
    assert len(outbox) == 1 and outbox[0]["pk"] == OutboundMessage.objects.get(tag="opt-out-confirmation").pk


def test_only_start_or_fresh_consent_lifts_the_opt_out(opted_out, outbox):
    message = receive("thanks", sender=NUMBER)
    categorise(reply=message.reply, reply_type=ReplyType.objects.get(slug="thanks"), source=Source.STAFF)
    assert send(NUMBER, "Promo").state == State.REFUSED  # re-labelling is not consent
    receive("START", sender=NUMBER)
    assert send(NUMBER, "Promo").state == State.WAITING
    assert ConsentEvent.objects.filter(number=NUMBER).first().kind == "opt_in"


def test_staff_categorising_end_opts_out_with_staff_as_recorder(staff_user, outbox, settings):
    settings.REPLIES_OPT_OUT_GRACE_SECONDS = 0  # no grace period: at once (test_end_grace.py has the rest)
    message = receive("I'd rather you didn't message me any more", sender=NUMBER)
    categorise(reply=message.reply, reply_type=ReplyType.objects.get(slug="end"), source=Source.STAFF, by=staff_user)
    event = ConsentEvent.objects.get(number=NUMBER)
    assert event.source == "staff" and event.recorded_by == staff_user
    assert Contact.objects.get(number=NUMBER).is_opted_out
